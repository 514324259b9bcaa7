/*
 * proffix.h — the profile the unit suites start from: a new ct_profile with the
 * "samples/count" sample type, and "cpu/nanoseconds" after it when cpu is set (a CPU
 * profile as the agent writes it). Asserts that it worked.
 */
#ifndef CT_TEST_PROFFIX_H
#define CT_TEST_PROFFIX_H

#include <check.h>

#include "libtrace/profile.h"

static inline ct_profile *pfix_new(int cpu)
{
	ct_profile *p = ct_profile_new();
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "samples", "count"), 0);
	if (cpu)
		ck_assert_int_eq(ct_profile_add_sample_type(p, "cpu", "nanoseconds"), 0);
	return p;
}

#endif
