/*
 * test_cpuagg.c — the CPU profile's aggregation (libtrace/cpuagg.c): per-(stack, thread)
 * sums, lost samples, thread names and the labels they give, and both tables' growth
 * checked against a brute-force count.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/cpuagg.h"
#include "tests/unit/ct_check.h"

/* The entry for (stack, tid), found by walking; fails if it is absent or listed twice. */
static ct_cpu_entry entry_of(const ct_cpu_agg *a, uint32_t stack, uint32_t tid)
{
	size_t cursor = 0;
	ct_cpu_entry e, found = {0};
	int n = 0;
	while (ct_cpu_agg_next(a, &cursor, &e))
		if (e.stack == stack && e.tid == tid) {
			found = e;
			n++;
		}
	ck_assert_msg(n == 1, "(stack %u, tid %u) listed %d times", stack, tid, n);
	return found;
}

START_TEST(test_sums)
{
	ct_cpu_agg *a = ct_cpu_agg_new();
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(ct_cpu_agg_add(a, 1, 10, 300, 1000), 0);
	ck_assert_int_eq(ct_cpu_agg_add(a, 1, 10, 100, 1000), 0);
	ck_assert_int_eq(ct_cpu_agg_add(a, 1, 10, 200, 3000), 0); /* timer overrun: 3 periods */
	ck_assert_int_eq(ct_cpu_agg_add(a, 1, 11, 400, 1000), 0);
	ck_assert_int_eq(ct_cpu_agg_add(a, 2, 10, 250, 1000), 0);
	ct_cpu_entry e = entry_of(a, 1, 10);
	ck_assert_uint_eq(e.count, 3);
	ck_assert_uint_eq(e.ns, 5000);
	ck_assert_uint_eq(entry_of(a, 1, 11).count, 1);
	ck_assert_uint_eq(entry_of(a, 2, 10).ns, 1000);
	ct_cpu_agg_stats st;
	ct_cpu_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.samples, 5);
	ck_assert_uint_eq(st.entries, 3);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(st.first_time, 100);
	ck_assert_uint_eq(st.last_time, 400);
	ct_cpu_agg_free(a);
}
END_TEST

START_TEST(test_lost)
{
	ct_cpu_agg *a = ct_cpu_agg_new();
	ck_assert_int_eq(ct_cpu_agg_add(a, 0, 10, 100, 1000), -EINVAL); /* no stack */
	ct_cpu_agg_lost(a, 7);						/* the kernel's */
	ct_cpu_agg_stats st;
	ct_cpu_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.lost, 8);
	ck_assert_uint_eq(st.samples, 0);
	ck_assert_uint_eq(st.entries, 0);
	size_t cursor = 0;
	ct_cpu_entry e;
	ck_assert_int_eq(ct_cpu_agg_next(a, &cursor, &e), 0);
	ct_cpu_agg_free(a);
}
END_TEST

START_TEST(test_names_and_labels)
{
	ct_cpu_agg *a = ct_cpu_agg_new();
	ck_assert_ptr_null(ct_cpu_agg_name(a, 10));
	ck_assert_int_eq(ct_cpu_agg_set_name(a, 0, "idle"), -EINVAL);
	ck_assert_ptr_null(ct_cpu_agg_name(a, 0));
	ck_assert_int_eq(ct_cpu_agg_set_name(a, 10, "worker"), 0);
	ck_assert_int_eq(ct_cpu_agg_set_name(a, 11, "a name longer than thirty-one bytes, cut"), 0);
	ck_assert_str_eq(ct_cpu_agg_name(a, 10), "worker");
	ck_assert_uint_eq(strlen(ct_cpu_agg_name(a, 11)), 31);
	ck_assert_int_eq(ct_cpu_agg_set_name(a, 10, "renamed"), 0); /* a COMM record later */
	ck_assert_str_eq(ct_cpu_agg_name(a, 10), "renamed");
	ct_cpu_agg_add(a, 5, 10, 1, 1);
	ct_cpu_agg_add(a, 5, 12, 1, 1); /* never named */
	ct_label l[2];
	ct_cpu_entry e = entry_of(a, 5, 10);
	ck_assert_uint_eq(ct_cpu_agg_labels(a, &e, l), 2);
	ck_assert_str_eq(l[0].key, "thread");
	ck_assert_str_eq(l[0].str, "renamed");
	ck_assert_str_eq(l[1].key, "tid");
	ck_assert_ptr_null(l[1].str);
	ck_assert_int_eq(l[1].num, 10);
	e = entry_of(a, 5, 12);
	ct_cpu_agg_labels(a, &e, l);
	ck_assert_str_eq(l[0].str, "?");
	ck_assert_int_eq(l[1].num, 12);
	ct_cpu_agg_stats st;
	ct_cpu_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.threads, 2);
	ct_cpu_agg_free(a);
}
END_TEST

/* Far more pairs and names than the first tables hold: every sum and name survives growth. */
START_TEST(test_growth)
{
	enum { STACKS = 5000, TIDS = 20 };
	ct_cpu_agg *a = ct_cpu_agg_new();
	uint64_t total = 0;
	for (uint32_t s = 1; s <= STACKS; s++)
		for (uint32_t t = 1; t <= TIDS; t++)
			for (uint32_t k = 0; k < (s + t) % 3 + 1; k++) {
				ck_assert_int_eq(ct_cpu_agg_add(a, s, 1000 + t, s, 10 * t), 0);
				total++;
			}
	for (uint32_t tid = 1; tid <= 10000; tid++) {
		char name[32];
		snprintf(name, sizeof(name), "t%u", tid);
		ck_assert_int_eq(ct_cpu_agg_set_name(a, tid, name), 0);
	}
	ct_cpu_agg_stats st;
	ct_cpu_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.entries, STACKS * TIDS);
	ck_assert_uint_eq(st.samples, total);
	ck_assert_uint_eq(st.threads, 10000);
	static unsigned char seen[STACKS + 1][TIDS + 1];
	memset(seen, 0, sizeof(seen));
	size_t cursor = 0, n = 0;
	ct_cpu_entry e;
	while (ct_cpu_agg_next(a, &cursor, &e)) {
		uint32_t t = e.tid - 1000;
		ck_assert(e.stack >= 1 && e.stack <= STACKS && t >= 1 && t <= TIDS);
		ck_assert_uint_eq(seen[e.stack][t]++, 0);
		ck_assert_uint_eq(e.count, (e.stack + t) % 3 + 1);
		ck_assert_uint_eq(e.ns, e.count * 10 * t);
		n++;
	}
	ck_assert_uint_eq(n, STACKS * TIDS);
	for (uint32_t tid = 1; tid <= 10000; tid += 997) {
		char name[32];
		snprintf(name, sizeof(name), "t%u", tid);
		ck_assert_str_eq(ct_cpu_agg_name(a, tid), name);
	}
	ck_assert_ptr_null(ct_cpu_agg_name(a, 10001));
	ct_cpu_agg_free(a);
}
END_TEST

static Suite *cpuagg_suite(void)
{
	return CT_CHECK_SUITE_TIMED("cpuagg", 120, test_sums, test_lost, test_names_and_labels,
				    test_growth);
}

CT_CHECK_MAIN(cpuagg_suite)
