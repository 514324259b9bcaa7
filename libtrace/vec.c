/*
 * vec.c — growth of libtrace's growable arrays, and the binary search over sorted ones
 * (see vec.h).
 */
#include "libtrace/vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int ct_vec_grow(void *arrp, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (elem && ncap > SIZE_MAX / elem)
		return -ENOMEM;
	/* The array pointer is read and written through memcpy: arrp points at a T *, not
	 * at a void *, and the two need not be accessed as each other. */
	void *arr;
	memcpy(&arr, arrp, sizeof(arr));
	void *na = realloc(arr, ncap * elem);
	if (!na)
		return -ENOMEM;
	memcpy(arrp, &na, sizeof(na));
	*cap = ncap;
	return 0;
}

size_t ct_vec_upper_bound(const void *a, size_t n, size_t elem, size_t key_off, uint64_t key)
{
	const unsigned char *base = a;
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k;
		memcpy(&k, base + mid * elem + key_off, sizeof(k));
		if (k <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
