/*
 * proffix.h — the profile the unit suites start from: a new ct_profile with the
 * "samples/count" sample type, and "cpu/nanoseconds" after it when cpu is set (a CPU
 * profile as the agent writes it). Asserts that it worked. And what a report of two
 * profiles (ct_heap_report, ct_lock_report) prints.
 */
#ifndef CT_TEST_PROFFIX_H
#define CT_TEST_PROFFIX_H

#include <check.h>
#include <stdio.h>

#include "libtrace/profile.h"
#include "tests/unit/ct_check.h"

static inline ct_profile *pfix_new(int cpu)
{
	ct_profile *p = ct_profile_new();
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "samples", "count"), 0);
	if (cpu)
		ck_assert_int_eq(ct_profile_add_sample_type(p, "cpu", "nanoseconds"), 0);
	return p;
}

/* A report writer over two profiles (either may be NULL), showing the top rows. */
typedef int (*pfix_report_fn)(FILE *out, const ct_profile *a, const ct_profile *b, int top);

/* What fn prints for a and b (malloc'd); fn must return want_rc. */
static inline char *pfix_report(pfix_report_fn fn, const ct_profile *a, const ct_profile *b,
				int top, int want_rc)
{
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ck_assert_int_eq(fn(f, a, b, top), want_rc);
	return ct_check_mem_close(&mem);
}

#endif
