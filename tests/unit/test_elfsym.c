/*
 * test_elfsym.c — unit tests for the agent's ELF symbol reader (libtrace/elfsym.h): this
 * test program's own functions are found by the file offset their addresses map to (as
 * a pprof mapping gives it), with the function's start; an offset outside any function
 * or any segment names nothing; truncated and corrupt images are refused or give no
 * names, never a read past the buffer (the ASan run checks that).
 */
#include "libtrace/elfsym.h"
#include "tests/unit/ct_check.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) int elfsym_probe_function(int x);
__attribute__((noinline)) int elfsym_probe_function(int x)
{
	return x * 7 + 3;
}

/* The file offset of addr in its file mapping (from /proc/self/maps). */
static uint64_t file_offset_of(uintptr_t addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	char line[512];
	uint64_t off = 0;
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, fo;
		if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &fo) == 3 && addr >= lo &&
		    addr < hi) {
			off = addr - lo + fo;
			found = 1;
			break;
		}
	}
	fclose(f);
	ck_assert(found);
	return off;
}

START_TEST(names_own_function)
{
	ct_elfsym *s;
	ck_assert_int_eq(ct_elfsym_open("/proc/self/exe", &s), 0);
	ck_assert_uint_gt(ct_elfsym_count(s), 3);
	uint64_t off = file_offset_of((uintptr_t)elfsym_probe_function + 2), start = 0;
	const char *name = ct_elfsym_lookup(s, off, &start);
	ck_assert_ptr_nonnull(name);
	ck_assert_str_eq(name, "elfsym_probe_function");
	ck_assert_uint_eq(start, off - 2);
	ck_assert_ptr_null(ct_elfsym_lookup(s, 0, NULL)); /* the ELF header: no function */
	ck_assert_ptr_null(ct_elfsym_lookup(s, 1ull << 40, NULL));
	ct_elfsym_free(s);
}
END_TEST

START_TEST(refuses_bad_images)
{
	ct_elfsym *s;
	ck_assert_int_eq(ct_elfsym_load((const uint8_t *)"nope", 4, &s), -EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(ct_elfsym_open("/nonexistent/x", &s), -ENOENT);
	FILE *f = fopen("/proc/self/exe", "rb");
	ck_assert_ptr_nonnull(f);
	static uint8_t img[1 << 20];
	size_t n = fread(img, 1, sizeof(img), f);
	fclose(f);
	/* Every truncation: refused, or read without touching past the end. */
	for (size_t len = 0; len < n; len += len < 256 ? 1 : 4093) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, img, len);
		if (ct_elfsym_load(copy, len, &s) == 0)
			ct_elfsym_free(s);
		free(copy);
	}
}
END_TEST

static Suite *elfsym_suite(void)
{
	return CT_CHECK_SUITE_TIMED("elfsym", 60, names_own_function, refuses_bad_images);
}

CT_CHECK_MAIN(elfsym_suite)
