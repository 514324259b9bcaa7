/*
 * test_vec.c — unit tests for the growable array (libtrace/vec.h): reserving keeps the
 * elements, grows by doubling to at least what was asked, does nothing when there is room,
 * and refuses a size that would overflow without touching the array; the binary search
 * over a sorted array agrees with a linear count.
 */
#include "libtrace/vec.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/unit/ct_check.h"

START_TEST(reserve_grows_and_keeps_elements)
{
	uint64_t *a = NULL;
	size_t cap = 0, n = 0;
	for (uint64_t i = 0; i < 100000; i++) {
		ck_assert_int_eq(CT_VEC_RESERVE(a, cap, n + 1), 0);
		ck_assert_uint_ge(cap, n + 1);
		a[n++] = i * 3;
	}
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(a[i], i * 3);
	/* Capacities are powers of two from 16: 100000 elements need 131072. */
	ck_assert_uint_eq(cap, 131072);
	uint64_t *before = a;
	ck_assert_int_eq(CT_VEC_RESERVE(a, cap, 1000), 0); /* room already: untouched */
	ck_assert_ptr_eq(a, before);
	ck_assert_int_eq(CT_VEC_RESERVE(a, cap, 300000), 0); /* a jump: doubled enough */
	ck_assert_uint_eq(cap, 524288);
	ck_assert_uint_eq(a[n - 1], (n - 1) * 3);
	free(a);
}
END_TEST

START_TEST(overflow_is_refused_and_harmless)
{
	struct big {
		char b[1024];
	} *a = NULL;
	size_t cap = 0;
	ck_assert_int_eq(CT_VEC_RESERVE(a, cap, 4), 0);
	a[3].b[0] = 'k';
	struct big *keep = a;
	ck_assert_int_eq(CT_VEC_RESERVE(a, cap, SIZE_MAX / 512), -ENOMEM);
	ck_assert_ptr_eq(a, keep);
	ck_assert_uint_eq(cap, 16);
	ck_assert_int_eq(a[3].b[0], 'k');
	free(a);
}
END_TEST

/* Keys not at offset 0, with repeats and gaps: every probe from below the first key to past
 * the last counts exactly the elements whose key is <= the probe. */
START_TEST(upper_bound_matches_linear_count)
{
	struct elem {
		uint32_t pad;
		uint64_t key;
	} a[64];
	size_t n = 0;
	for (uint64_t k = 10; n < 64; k += 7)
		for (int rep = 0; rep < 1 + (int)(k % 3) && n < 64; rep++)
			a[n++] = (struct elem){.pad = 0xffffffff, .key = k};
	for (size_t len = 0; len <= n; len++) {
		for (uint64_t probe = 0; probe <= a[n - 1].key + 2; probe++) {
			size_t want = 0;
			while (want < len && a[want].key <= probe)
				want++;
			ck_assert_uint_eq(CT_VEC_UPPER_BOUND(a, len, key, probe), want);
		}
	}
	struct elem *none = NULL;
	ck_assert_uint_eq(CT_VEC_UPPER_BOUND(none, 0, key, UINT64_MAX), 0);
	ck_assert_uint_eq(CT_VEC_UPPER_BOUND(a, n, key, UINT64_MAX), n);
}
END_TEST

static Suite *vec_suite(void)
{
	return CT_CHECK_SUITE("vec", reserve_grows_and_keeps_elements,
			      overflow_is_refused_and_harmless, upper_bound_matches_linear_count);
}

CT_CHECK_MAIN(vec_suite)
