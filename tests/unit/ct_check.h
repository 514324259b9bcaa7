/*
 * ct_check.h — what the Check unit suites share instead of copying it: the main() that
 * runs one suite and turns its failures into the exit status, a scratch directory, and
 * small file helpers. Header-only (static functions), included by tests/unit/test_*.c.
 *
 *     static Suite *ring_suite(void)
 *     {
 *             return CT_CHECK_SUITE("ring", reserve_commit, full_ring_drops);
 *     }
 *     CT_CHECK_MAIN(ring_suite)
 */
#ifndef CT_CHECK_H
#define CT_CHECK_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Runs s (freed) and returns EXIT_FAILURE when any of its tests failed. */
static inline int ct_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* main() of a test program made of the one suite that suite_fn() builds. */
#define CT_CHECK_MAIN(suite_fn)                                                                    \
	int main(void)                                                                             \
	{                                                                                          \
		return ct_check_run(suite_fn());                                                   \
	}

/* Creates a fresh directory /tmp/ctrace-<tag>-XXXXXX into buf (at least 64 bytes); exits
 * the test program when that fails. */
static inline char *ct_check_tmpdir(char *buf, size_t len, const char *tag)
{
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	if (snprintf(buf, len, "%s/ctrace-%s-XXXXXX", tmp, tag) >= (int)len) {
		fprintf(stderr, "TMPDIR %s is too long for the tests\n", tmp);
		exit(EXIT_FAILURE);
	}
	if (!mkdtemp(buf)) {
		perror(buf);
		exit(EXIT_FAILURE);
	}
	return buf;
}

/* Writes text to dir/name (replacing it); exits the program (failing the test, or the
 * suite's set-up outside a test) when that is impossible. */
static inline void ct_check_write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(EXIT_FAILURE);
	}
}

/* Reads dir/name into a malloc'ed string (NULL when it cannot be read). */
static inline char *ct_check_read_file(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Removes dir and everything in it. */
static inline void ct_check_rm_rf(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

#endif
