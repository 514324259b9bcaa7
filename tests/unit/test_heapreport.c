/*
 * test_heapreport.c — the heap text report (libtrace/heapreport.c) on a profile built in
 * memory: totals, sites charged past allocator frames, per-stack merging of leaks, the
 * peak line, unsymbolized frames, and refusal of profiles that are not heap profiles.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/heapreport.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/proffix.h"

static ct_profile *heap_profile(int64_t period)
{
	ct_profile *p = ct_profile_new();
	ck_assert_int_eq(ct_profile_add_sample_type(p, "alloc_objects", "count"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "alloc_space", "bytes"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "inuse_objects", "count"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "inuse_space", "bytes"), 0);
	p->period = period;
	return p;
}

static uint32_t loc(ct_profile *p, uint64_t addr, const char *fn, int64_t line)
{
	ct_mapping m = {.memory_start = 0x1000,
			.memory_limit = 0x100000,
			.filename = "/bin/app",
			.build_id = ""};
	uint32_t map = p->nmappings ? 1 : ct_profile_add_mapping(p, &m);
	if (!fn)
		return ct_profile_add_location(p, map, addr, NULL, 0);
	ct_line l = {.function = ct_profile_add_function(p, fn, fn, "/src/app.c", 1), .line = line};
	return ct_profile_add_location(p, map, addr, &l, 1);
}

static void sample(ct_profile *p, const uint32_t *locs, uint32_t n, int64_t ao, int64_t as,
		   int64_t io, int64_t is)
{
	int64_t v[4] = {ao, as, io, is};
	ck_assert_int_eq(ct_profile_add_sample(p, locs, n, v, NULL, 0), 0);
}

START_TEST(test_report_sections)
{
	ct_profile *p = heap_profile(1);
	uint32_t mal = loc(p, 0x1100, "malloc", 0);
	uint32_t newa = loc(p, 0x1200, "operator new[](unsigned long)", 0);
	uint32_t leaky = loc(p, 0x2000, "leaky_cache_insert", 33);
	uint32_t parse = loc(p, 0x2100, "parse_request", 20);
	uint32_t mainl = loc(p, 0x3000, "main", 50);
	uint32_t cxx = loc(p, 0x2200, "known_new_array()", 17);
	uint32_t s1[] = {mal, leaky, mainl}, s2[] = {parse, mainl}, s3[] = {newa, cxx, mainl};
	/* Two samples of one stack (two block sizes): merged into one leak. */
	sample(p, s1, 3, 600, 614400, 600, 614400);
	sample(p, s1, 3, 400, 409600, 400, 409600);
	sample(p, s2, 2, 2000, 400000, 0, 0);
	sample(p, s3, 3, 6, 4662, 3, 2331);
	ct_profile *peak = heap_profile(1);
	uint32_t pl = loc(peak, 0x2000, "leaky_cache_insert", 33);
	sample(peak, &pl, 1, 1000, 1024000, 1500, 1536000);
	char *out = pfix_report(ct_heap_report, p, peak, 10, 0);
	ck_assert_msg(strstr(out, "every allocation sampled"), "%s", out);
	ck_assert_msg(strstr(out, "in use at exit:") && strstr(out, "in 1003 objects"), "%s", out);
	ck_assert_msg(strstr(out, "peak in use:") && strstr(out, "in 1500 objects"), "%s", out);
	/* Sites skip malloc and operator new[]. */
	ck_assert_msg(strstr(out, "1000KB       1000     1000KB       1000  leaky_cache_insert"),
		      "%s", out);
	ck_assert_msg(strstr(out, "known_new_array()\n"), "%s", out);
	ck_assert_ptr_null(strstr(out, "  malloc\n"));
	/* By count: parse_request first. */
	char *bycount = strstr(out, "by count:");
	ck_assert_ptr_nonnull(bycount);
	ck_assert_msg(strstr(bycount, "parse_request") < strstr(bycount, "leaky_cache_insert"),
		      "%s", out);
	/* Leaks: merged, heaviest first, with frames and lines, allocator frame left out. */
	char *leaks = strstr(out, "possible leaks (in use at exit): ");
	ck_assert_msg(leaks && strstr(leaks, "from 2 stacks"), "%s", out);
	ck_assert_msg(strstr(leaks, "1000KB in 1000 objects (1KB each on average)"), "%s", out);
	ck_assert_msg(strstr(leaks, "      leaky_cache_insert (app.c:33)\n      main (app.c:50)"),
		      "%s", out);
	ck_assert_msg(strstr(leaks, "known_new_array() (app.c:17)"), "%s", out);
	ck_assert_ptr_null(strstr(leaks, "malloc"));
	ck_assert_ptr_null(strstr(leaks, "parse_request"));
	free(out);
	/* top = 1: one row per table, one leak, and a note of the rest. */
	out = pfix_report(ct_heap_report, p, NULL, 1, 0);
	ck_assert_ptr_null(strstr(out, "peak in use"));
	ck_assert_msg(strstr(out, "... 1 more stacks"), "%s", out);
	free(out);
	ct_profile_free(p);
	ct_profile_free(peak);
}
END_TEST

START_TEST(test_report_sampled_unsymbolized)
{
	ct_profile *p = heap_profile(524288);
	uint32_t a = loc(p, 0x1234, NULL, 0), b = loc(p, 0x5678, NULL, 0);
	uint32_t s[] = {a, b};
	sample(p, s, 2, 10, 5 << 20, 0, 0);
	char *out = pfix_report(ct_heap_report, p, NULL, 0, 0);
	ck_assert_msg(strstr(out, "sampled every 512KB"), "%s", out);
	ck_assert_msg(strstr(out, "app+0x234"), "%s", out);
	ck_assert_msg(strstr(out, "possible leaks: none"), "%s", out);
	free(out);
	ct_profile_free(p);
}
END_TEST

START_TEST(test_report_rejects)
{
	free(pfix_report(ct_heap_report, NULL, NULL, 5, -EINVAL));
	ct_profile *cpu = pfix_new(1);
	free(pfix_report(ct_heap_report, cpu, NULL, 5, -EINVAL));
	ct_profile_free(cpu);
	/* An empty heap profile is fine. */
	ct_profile *h = heap_profile(1);
	char *out = pfix_report(ct_heap_report, h, NULL, 5, 0);
	ck_assert_msg(strstr(out, "possible leaks: none"), "%s", out);
	free(out);
	ct_profile_free(h);
}
END_TEST

static Suite *heapreport_suite(void)
{
	return CT_CHECK_SUITE("heapreport", test_report_sections, test_report_sampled_unsymbolized,
			      test_report_rejects);
}

CT_CHECK_MAIN(heapreport_suite)
