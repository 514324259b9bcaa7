/*
 * check_main.h — the scaffolding every Check unit suite shares: a suite of one test case
 * from a list of tests, and the main() that runs it (Check's summary printed, exit 0 only
 * when every test passed).
 *
 *	static Suite *ring_suite(void)
 *	{
 *		return CT_CHECK_SUITE("ring", reserve_commit, full_ring_drops);
 *	}
 *	CT_CHECK_MAIN(ring_suite)
 */
#ifndef CT_CHECK_MAIN_H
#define CT_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* A suite named name with one test case of the same name holding the n tests. */
static inline Suite *ct_check_suite(const char *name, const TTest *const *tests, size_t n)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);
	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

#define CT_CHECK_SUITE(name, ...)                                                                  \
	ct_check_suite(name, (const TTest *const[]){__VA_ARGS__},                                  \
		       sizeof((const TTest *const[]){__VA_ARGS__}) / sizeof(const TTest *))

static inline int ct_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#define CT_CHECK_MAIN(suite_fn)                                                                    \
	int main(void)                                                                             \
	{                                                                                          \
		return ct_check_run(suite_fn());                                                   \
	}

#endif
