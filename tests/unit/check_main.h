/*
 * check_main.h — the main() every Check unit suite shares: runs the suite built by
 * suite_fn, prints Check's summary, exits 0 only when every test passed.
 *
 *	CT_CHECK_MAIN(ring_suite)
 */
#ifndef CT_CHECK_MAIN_H
#define CT_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

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
