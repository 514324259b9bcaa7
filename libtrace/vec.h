/*
 * vec.h — the one growable array of libtrace: a plain C array plus its capacity, grown by
 * doubling.
 *
 * An array is any `T *a` with a `size_t cap` beside it (and a count the caller keeps):
 *
 *	if (CT_VEC_RESERVE(a, cap, n + 1))
 *		return -ENOMEM;
 *	a[n++] = x;
 *
 * CT_VEC_RESERVE makes room for `need` elements; on failure the array and cap are left
 * as they were (still valid, still owned by the caller, freed with free()). The check
 * that needs no growth is inline, so it is cheap enough for a decoder's inner loop.
 *
 * CT_VEC_UPPER_BOUND finds where a key falls in an array sorted by a uint64_t field (the
 * one binary search of the lookups: symbols, perf maps, trace intervals).
 *
 * Thread-safety: none (the array is the caller's). Not async-signal-safe (realloc).
 */
#ifndef CT_VEC_H
#define CT_VEC_H

#include <stddef.h>
#include <stdint.h>

/* Out-of-line growth behind CT_VEC_RESERVE: *(void **)arrp grows to hold at least need
 * elements of elem bytes. 0 or -ENOMEM (also when the size would overflow). */
int ct_vec_grow(void *arrp, size_t *cap, size_t need, size_t elem);

static inline int ct_vec_reserve(void *arrp, size_t *cap, size_t need, size_t elem)
{
	return need <= *cap ? 0 : ct_vec_grow(arrp, cap, need, elem);
}

/* Room for need elements in array arr (an lvalue of pointer type) of capacity cap (an
 * lvalue of type size_t). 0 or -ENOMEM. */
#define CT_VEC_RESERVE(arr, cap, need) ct_vec_reserve(&(arr), &(cap), (need), sizeof(*(arr)))

/* Of the n elements of elem bytes at a, sorted by the uint64_t at byte key_off of each, the
 * number whose key is <= key (so a[result - 1] is the last one at or before key, when
 * result > 0). O(log n); a may be NULL when n is 0. */
size_t ct_vec_upper_bound(const void *a, size_t n, size_t elem, size_t key_off, uint64_t key);

/* ct_vec_upper_bound over array arr of n elements sorted by their uint64_t member field; the
 * sizeof in the last term refuses (at compile time) a field that is not 8 bytes. */
#define CT_VEC_UPPER_BOUND(arr, n, field, key)                                                     \
	(ct_vec_upper_bound((arr), (n), sizeof(*(arr)), offsetof(__typeof__(*(arr)), field),       \
			    (key)) +                                                               \
	 0 * sizeof(char[sizeof((arr)->field) == sizeof(uint64_t) ? 1 : -1]))

#endif
