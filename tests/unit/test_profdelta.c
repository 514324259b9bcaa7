/*
 * test_profdelta.c — unit tests for the difference of two profiles (libtrace/profdelta.h),
 * what /debug/pprof/...?seconds=N serves: samples match by stack addresses and labels even
 * when the two profiles number their locations differently; unchanged samples disappear,
 * grown ones keep the growth, new ones stay whole; address-less frames match by name.
 */
#include "libtrace/profdelta.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/proffix.h"

#include <check.h>
#include <errno.h>

/* Adds a sample on the given addresses (leaf first) with a thread label and 2 values. */
static void add(ct_profile *p, const uint64_t *addrs, int n, const char *thread, int64_t a,
		int64_t b)
{
	uint32_t locs[8];
	for (int i = 0; i < n; i++)
		locs[i] = ct_profile_add_location(p, 0, addrs[i], NULL, 0);
	ct_label l = {.key = "thread", .str = thread};
	int64_t v[2] = {a, b};
	ck_assert_int_eq(ct_profile_add_sample(p, locs, (uint32_t)n, v, &l, 1), 0);
}

static void add_named(ct_profile *p, const char *fn, int64_t a)
{
	uint32_t f = ct_profile_add_function(p, fn, "", "", 0);
	ct_line line = {.function = f};
	uint32_t loc = ct_profile_add_location(p, 0, 0, &line, 1);
	int64_t v[2] = {a, a * 10};
	ck_assert_int_eq(ct_profile_add_sample(p, &loc, 1, v, NULL, 0), 0);
}

/* Every test subtracts base from cur: two CPU profiles, made before and freed after it. */
static ct_profile *base, *cur;

static void setup(void)
{
	base = pfix_new(1);
	cur = pfix_new(1);
}

static void teardown(void)
{
	ct_profile_free(base);
	ct_profile_free(cur);
}

static const uint64_t A[] = {0x10, 0x20}, B[] = {0x30, 0x20}, C[] = {0x40};

START_TEST(later_minus_earlier)
{
	add(base, A, 2, "main", 3, 30);
	add(base, B, 2, "main", 1, 10);
	add(base, A, 2, "worker", 4, 40);
	add_named(base, "[lost]", 2);
	/* cur interns its locations in another order */
	add(cur, C, 1, "main", 2, 20);
	add(cur, B, 2, "main", 1, 10);
	add(cur, A, 2, "main", 5, 50);
	add(cur, A, 2, "worker", 4, 40);
	add_named(cur, "[lost]", 3);
	ck_assert_int_eq(ct_profile_subtract(cur, base), 0);
	ck_assert_uint_eq(cur->nsamples, 3);
	ck_assert_uint_eq(cur->locations[cur->samples[0].locs[0]].address, 0x40);
	ck_assert_int_eq(cur->samples[0].values[0], 2);
	ck_assert_uint_eq(cur->locations[cur->samples[1].locs[0]].address, 0x10);
	ck_assert_str_eq(cur->samples[1].labels[0].str, "main");
	ck_assert_int_eq(cur->samples[1].values[0], 2);
	ck_assert_int_eq(cur->samples[1].values[1], 20);
	ck_assert_int_eq(cur->samples[2].values[0], 1); /* the named frame: 3 - 2 */
}
END_TEST

START_TEST(duplicate_keys_in_base_are_summed)
{
	add(base, A, 2, "main", 1, 10);
	add(base, A, 2, "main", 2, 20);
	add(cur, A, 2, "main", 7, 70);
	ck_assert_int_eq(ct_profile_subtract(cur, base), 0);
	ck_assert_uint_eq(cur->nsamples, 1);
	ck_assert_int_eq(cur->samples[0].values[0], 4);
}
END_TEST

START_TEST(sample_types_must_match)
{
	ct_profile_free(base);
	base = pfix_new(0); /* samples only, where cur has cpu too */
	ck_assert_int_eq(ct_profile_subtract(cur, base), -EINVAL);
}
END_TEST

START_TEST(empty_base_keeps_everything)
{
	add(cur, A, 2, "main", 1, 10);
	add(cur, B, 2, "main", 1, 10);
	ck_assert_int_eq(ct_profile_subtract(cur, base), 0);
	ck_assert_uint_eq(cur->nsamples, 2);
}
END_TEST

static Suite *profdelta_suite(void)
{
	Suite *s = suite_create("profdelta");
	TCase *tc = CT_CHECK_TCASE(s, "profdelta", 0, later_minus_earlier,
				   duplicate_keys_in_base_are_summed, sample_types_must_match,
				   empty_base_keeps_everything);
	tcase_add_checked_fixture(tc, setup, teardown);
	return s;
}

CT_CHECK_MAIN(profdelta_suite)
