/*
 * test_perfmap.c — unit tests for perf map reading (libtrace/perfmap.h): hex with and
 * without 0x, names with spaces, region boundaries, the later line winning where regions
 * overlap, a final line still being written ignored, and a malformed line refused with
 * its file, line number and byte offset.
 */
#include "libtrace/perfmap.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/ct_check.h"

static char path[64];

static void write_map(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/ct_perfmap.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

START_TEST(lookup_regions)
{
	write_map("7f0000001000 100 LazyCompile:*hot /app/x.js:3\n"
		  "0x7f0000001100 0x80 Stub:CEntry\n"
		  "7f0000002000 1000 Function:outer\n"
		  "7f0000002100 10 Function:inner replaced later\n"
		  "7f0000002100 10 Function:inner\n"
		  "7f0000009000 10 partial");
	ct_perfmap *m;
	ct_error err;
	ck_assert_int_eq(ct_perfmap_load(path, &m, &err), 0);
	ck_assert_uint_eq(ct_perfmap_count(m), 5); /* the unfinished last line is skipped */
	ck_assert_str_eq(ct_perfmap_lookup(m, 0x7f0000001000), "LazyCompile:*hot /app/x.js:3");
	ck_assert_str_eq(ct_perfmap_lookup(m, 0x7f00000010ff), "LazyCompile:*hot /app/x.js:3");
	ck_assert_str_eq(ct_perfmap_lookup(m, 0x7f0000001100), "Stub:CEntry");
	ck_assert_ptr_null(ct_perfmap_lookup(m, 0x7f0000001180));
	ck_assert_ptr_null(ct_perfmap_lookup(m, 0x7f0000000fff));
	ck_assert_str_eq(ct_perfmap_lookup(m, 0x7f0000002108), "Function:inner");
	ck_assert_str_eq(ct_perfmap_lookup(m, 0x7f0000002200), "Function:outer");
	ck_assert_ptr_null(ct_perfmap_lookup(m, 0x7f0000009004));
	ct_perfmap_free(m);
	unlink(path);
}
END_TEST

START_TEST(malformed_line_refused)
{
	write_map("1000 10 ok\n2000 zz bad\n");
	ct_perfmap *m = (ct_perfmap *)1;
	ct_error err;
	ck_assert_int_lt(ct_perfmap_load(path, &m, &err), 0);
	ck_assert_ptr_null(m);
	char want[128];
	snprintf(want, sizeof(want), "%s: line 2 is not \"START SIZE name\" at byte 11", path);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.offset, 11);
	unlink(path);
	ck_assert_int_lt(ct_perfmap_load(path, &m, &err), 0); /* gone */
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot open"));
}
END_TEST

static Suite *perfmap_suite(void)
{
	Suite *s = suite_create("perfmap");
	TCase *tc = tcase_create("perfmap");
	tcase_add_test(tc, lookup_regions);
	tcase_add_test(tc, malformed_line_refused);
	suite_add_tcase(s, tc);
	return s;
}

CT_CHECK_MAIN(perfmap_suite)
