/*
 * ct_check.h — what the Check unit suites share instead of copying it: suite and test-case
 * builders (CT_CHECK_SUITE, CT_CHECK_SUITE_TIMED, CT_CHECK_TCASE), the main() that runs one
 * suite and turns its failures into the exit status, failure collection from other threads
 * (ct_check_fail_once), a scratch directory, and small file helpers. Header-only (static
 * functions), included by tests/unit/test_*.c.
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
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds to s a test case called name holding the n tests, each allowed timeout seconds when
 * timeout > 0 (else Check's default, CK_DEFAULT_TIMEOUT); returns it for fixtures and loop
 * tests. */
static inline TCase *ct_check_tcase(Suite *s, const char *name, double timeout,
				    const TTest *const *tests, size_t n)
{
	TCase *tc = tcase_create(name);
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return tc;
}

/* A suite named name with one test case of the same name (see ct_check_tcase). */
static inline Suite *ct_check_suite_timed(const char *name, double timeout,
					  const TTest *const *tests, size_t n)
{
	Suite *s = suite_create(name);
	ct_check_tcase(s, name, timeout, tests, n);
	return s;
}

#define CT_CHECK_TESTS(...)                                                                        \
	(const TTest *const[]){__VA_ARGS__},                                                       \
		sizeof((const TTest *const[]){__VA_ARGS__}) / sizeof(const TTest *)

#define CT_CHECK_SUITE(name, ...) ct_check_suite_timed(name, 0, CT_CHECK_TESTS(__VA_ARGS__))

/* CT_CHECK_TCASE(s, "concurrent", 120, test_a, test_b) adds one more test case to s. */
#define CT_CHECK_TCASE(s, name, timeout, ...)                                                      \
	ct_check_tcase(s, name, timeout, CT_CHECK_TESTS(__VA_ARGS__))

/* As CT_CHECK_SUITE, with each test allowed timeout seconds. */
#define CT_CHECK_SUITE_TIMED(name, timeout, ...)                                                   \
	ct_check_suite_timed(name, timeout, CT_CHECK_TESTS(__VA_ARGS__))

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

/* Failures seen on threads other than the test's (where ck_assert cannot be used): a count
 * and the first message, checked on the test thread by CT_CHECK_NO_FAILURES(). */
struct ct_check_failures {
	atomic_int n;
	char first[256];
};

static inline struct ct_check_failures *ct_check_failures(void)
{
	static struct ct_check_failures f;
	return &f;
}

/* Counts a failure from any thread; keeps the message of the first one. */
__attribute__((format(printf, 1, 2))) static inline void ct_check_fail_once(const char *fmt, ...)
{
	struct ct_check_failures *f = ct_check_failures();
	if (atomic_fetch_add_explicit(&f->n, 1, memory_order_relaxed) != 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->first, sizeof(f->first), fmt, ap);
	va_end(ap);
}

#define CT_CHECK_NO_FAILURES()                                                                     \
	ck_assert_msg(atomic_load(&ct_check_failures()->n) == 0, "%d failure(s), first: %s",       \
		      atomic_load(&ct_check_failures()->n), ct_check_failures()->first)

/* Captures what a writer prints: FILE *f = ct_check_mem_open(&m), write to f, then
 * char *text = ct_check_mem_close(&m) (NUL-terminated; free it). */
typedef struct {
	FILE *f;
	char *buf;
	size_t len;
} ct_check_mem;

static inline FILE *ct_check_mem_open(ct_check_mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	ck_assert_ptr_nonnull(m->f);
	return m->f;
}

static inline char *ct_check_mem_close(ct_check_mem *m)
{
	ck_assert_int_eq(fclose(m->f), 0);
	return m->buf;
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
