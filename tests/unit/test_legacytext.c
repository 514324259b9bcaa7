/*
 * test_legacytext.c — Go's legacy text profiles (libtrace/legacytext.c): the heap header's
 * totals and "heap/1", records readers accept (no bytes without objects), the contention
 * header per profile, return addresses written back as such, and the count form.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/legacytext.h"
#include "tests/unit/ct_check.h"

static void sink(void *arg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(arg, fmt, ap);
	va_end(ap);
}

static char *text(const ct_profile *p, const char *name)
{
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ct_legacy_text(p, name, sink, f);
	return ct_check_mem_close(&mem);
}

static uint32_t frame(ct_profile *p, const char *fn, uint64_t addr)
{
	ct_line l = {.function = ct_profile_add_function(p, fn, fn, "/src/a.c", 1), .line = 7};
	return ct_profile_add_location(p, 0, addr, &l, 1);
}

START_TEST(heap)
{
	ct_profile *p = ct_profile_new();
	const char *types[] = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(ct_profile_add_sample_type(p, types[i], i % 2 ? "bytes" : "count"),
				 0);
	uint32_t locs[2] = {frame(p, "make_buf", 0x1000), frame(p, "main", 0x2000)};
	ck_assert_int_eq(ct_profile_add_sample(p, locs, 2, (int64_t[]){4, 400, 2, 200}, NULL, 0),
			 0);
	/* freed: no objects in use, but an estimate's rounding left bytes */
	ck_assert_int_eq(ct_profile_add_sample(p, locs + 1, 1, (int64_t[]){3, 30, 0, 5}, NULL, 0),
			 0);
	char *t = text(p, "heap");
	ck_assert_msg(strncmp(t, "heap profile: 2: 205 [7: 430] @ heap/1\n", 39) == 0, "%s", t);
	ck_assert_ptr_nonnull(strstr(t, "\n2: 200 [4: 400] @ 0x1001 0x2001\n"));
	ck_assert_ptr_nonnull(strstr(t, "#\t0x1000\tmake_buf\t/src/a.c:7\n"));
	ck_assert_ptr_nonnull(strstr(t, "\n0: 0 [3: 30] @ 0x2001\n"));
	free(t);
	ct_profile_free(p);
}
END_TEST

START_TEST(contention_and_count)
{
	ct_profile *p = ct_profile_new();
	ck_assert_int_eq(ct_profile_add_sample_type(p, "contentions", "count"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "delay", "nanoseconds"), 0);
	uint32_t loc = frame(p, "lock_it", 0x3000);
	ck_assert_int_eq(ct_profile_add_sample(p, &loc, 1, (int64_t[]){5, 7000}, NULL, 0), 0);
	char *t = text(p, "block");
	ck_assert_str_eq(t, "--- contention:\ncycles/second=1000000000\n7000 5 @ 0x3001\n"
			    "#\t0x3000\tlock_it\t/src/a.c:7\n\n");
	free(t);
	t = text(p, "mutex");
	ck_assert_msg(strncmp(t, "--- mutex:\ncycles/second=1000000000\nsampling period=1\n", 53) ==
			      0,
		      "%s", t);
	free(t);
	t = text(p, "threadcreate");
	ck_assert_msg(strncmp(t, "threadcreate profile: total 1\n5 @ 0x3001\n", 41) == 0, "%s", t);
	free(t);
	ct_profile_free(p);
}
END_TEST

static Suite *legacytext_suite(void)
{
	return CT_CHECK_SUITE("legacytext", heap, contention_and_count);
}

CT_CHECK_MAIN(legacytext_suite)
