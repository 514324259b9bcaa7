/*
 * test_profile.c — the in-memory profile model and its builder (libtrace/profile.c):
 * string, function and location interning, copies owned by the profile, ids, re-keying
 * of symbolized locations, and building a large profile quickly.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libtrace/profile.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/proffix.h"

/* The model tests' profile: new and empty before each, freed after it. */
static ct_profile *p;

static void setup(void)
{
	p = ct_profile_new();
	ck_assert_ptr_nonnull(p);
}

static void teardown(void)
{
	ct_profile_free(p);
}

START_TEST(test_new_defaults)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->drop_frames, "");
	ck_assert_str_eq(p->keep_frames, "");
	ck_assert_str_eq(p->default_sample_type, "");
	ck_assert_str_eq(p->period_type.type, "");
	ck_assert_str_eq(p->period_type.unit, "");
	ck_assert_uint_eq(p->nsamples, 0);
	ck_assert_int_eq(ct_profile_sample_index(p, "cpu"), -1);
	ct_profile_free(NULL);
}
END_TEST

START_TEST(test_strings_interned)
{
	char buf[32];
	strcpy(buf, "alloc_space");
	const char *a = ct_profile_str(p, buf);
	strcpy(buf, "something else");
	const char *b = ct_profile_str(p, "alloc_space");
	ck_assert_ptr_eq(a, b);
	ck_assert_str_eq(a, "alloc_space");
	ck_assert_ptr_eq(ct_profile_str(p, NULL), ct_profile_str(p, ""));
	ck_assert_ptr_eq(ct_profile_str(p, ""), p->drop_frames);
	/* Many strings: the table grows and every one stays findable. */
	const char *ptrs[5000];
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		ptrs[i] = ct_profile_str(p, buf);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		ck_assert_ptr_eq(ct_profile_str(p, buf), ptrs[i]);
		ck_assert_str_eq(ptrs[i], buf);
	}
}
END_TEST

START_TEST(test_sample_types)
{
	ck_assert_int_eq(ct_profile_add_sample_type(p, "samples", "count"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "cpu", "nanoseconds"), 0);
	ck_assert_uint_eq(p->nsample_types, 2);
	ck_assert_int_eq(ct_profile_sample_index(p, "cpu"), 1);
	ck_assert_int_eq(ct_profile_sample_index(p, "samples"), 0);
	int64_t v[2] = {1, 10000000};
	ck_assert_int_eq(ct_profile_add_sample(p, NULL, 0, v, NULL, 0), 0);
	/* Sample types are fixed once samples exist. */
	ck_assert_int_eq(ct_profile_add_sample_type(p, "late", "count"), -EINVAL);
	ck_assert_int_eq(ct_profile_add_sample(p, NULL, 0, NULL, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_mappings)
{
	ct_mapping m = {.memory_start = 0x400000, .memory_limit = 0x500000, .filename = "/bin/a"};
	ck_assert_uint_eq(ct_profile_add_mapping(p, &m), 1);
	m.filename = "/lib/libc.so.6";
	m.build_id = "abcdef";
	ck_assert_uint_eq(ct_profile_add_mapping(p, &m), 2);
	ck_assert_uint_eq(p->mappings[0].id, 1);
	ck_assert_uint_eq(p->mappings[1].id, 2);
	ck_assert_str_eq(p->mappings[0].build_id, "");
	ck_assert_str_eq(p->mappings[1].build_id, "abcdef");
	ck_assert_ptr_eq(p->mappings[1].filename, ct_profile_str(p, "/lib/libc.so.6"));
	m.id = 42;
	ck_assert_uint_eq(ct_profile_add_mapping(p, &m), 3);
	ck_assert_uint_eq(p->mappings[2].id, 42);
	/* After an explicit id, new ids never collide with it. */
	m.id = 0;
	ck_assert_uint_eq(ct_profile_add_mapping(p, &m), 4);
	ck_assert_uint_eq(p->mappings[3].id, 43);
}
END_TEST

START_TEST(test_functions_interned)
{
	uint32_t a = ct_profile_add_function(p, "main", "main", "main.c", 10);
	uint32_t b = ct_profile_add_function(p, "f", "_Z1fv", "f.cc", 3);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(b, 1);
	char name[8] = "main";
	ck_assert_uint_eq(ct_profile_add_function(p, name, "main", "main.c", 10), a);
	ck_assert_uint_eq(ct_profile_add_function(p, "main", "main", "main.c", 11), 2);
	ck_assert_uint_eq(ct_profile_add_function(p, "main", NULL, "main.c", 10), 3);
	ck_assert_str_eq(p->functions[3].system_name, "");
	ck_assert_uint_eq(p->nfunctions, 4);
	ck_assert_uint_eq(p->functions[1].id, 2);
	/* Appending never merges, and later interning finds the first. */
	ct_function f = {.name = "f", .system_name = "_Z1fv", .filename = "f.cc", .start_line = 3};
	ck_assert_uint_eq(ct_profile_append_function(p, &f), 4);
	ck_assert_uint_eq(ct_profile_add_function(p, "f", "_Z1fv", "f.cc", 3), b);
	for (int i = 0; i < 3000; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "fn%d", i);
		ck_assert_uint_eq(ct_profile_add_function(p, buf, buf, "x.c", i), 5 + i);
	}
	for (int i = 0; i < 3000; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "fn%d", i);
		ck_assert_uint_eq(ct_profile_add_function(p, buf, buf, "x.c", i), 5 + i);
	}
}
END_TEST

START_TEST(test_locations_by_address)
{
	ct_mapping m = {.memory_start = 0x1000, .memory_limit = 0x9000, .filename = "a.out"};
	uint32_t mi = ct_profile_add_mapping(p, &m);
	uint32_t f = ct_profile_add_function(p, "g", "g", "g.c", 1);
	ct_line ln = {f, 7};
	uint32_t a = ct_profile_add_location(p, mi, 0x1234, NULL, 0);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(p->locations[0].id, 1);
	ck_assert_uint_eq(p->locations[0].mapping, mi);
	/* Same (mapping, address): same location; lines on the later call are ignored. */
	ck_assert_uint_eq(ct_profile_add_location(p, mi, 0x1234, &ln, 1), a);
	ck_assert_uint_eq(p->locations[a].nlines, 0);
	ck_assert_uint_eq(ct_profile_add_location(p, 0, 0x1234, NULL, 0), 1);
	ck_assert_uint_eq(ct_profile_add_location(p, mi, 0x1235, NULL, 0), 2);
	/* Symbolize. */
	ct_line two[2] = {{f, 7}, {f, 9}};
	ck_assert_int_eq(ct_profile_set_lines(p, a, two, 2), 0);
	two[0].line = 100;
	ck_assert_uint_eq(p->locations[a].nlines, 2);
	ck_assert_int_eq(p->locations[a].lines[0].line, 7);
	ck_assert_int_eq(p->locations[a].lines[1].line, 9);
	ck_assert_uint_eq(ct_profile_add_location(p, mi, 0x1234, NULL, 0), a);
	/* Bad references. */
	ct_line bad = {99, 1};
	ck_assert_int_eq(ct_profile_set_lines(p, a, &bad, 1), -EINVAL);
	ck_assert_int_eq(ct_profile_set_lines(p, 99, two, 1), -EINVAL);
	ck_assert_uint_eq(ct_profile_add_location(p, 5, 0x1, NULL, 0), UINT32_MAX);
	ck_assert_uint_eq(ct_profile_add_location(p, 0, 0x1, &bad, 1), UINT32_MAX);
}
END_TEST

START_TEST(test_locations_by_lines)
{
	uint32_t f = ct_profile_add_function(p, "g", "g", "g.c", 1);
	uint32_t h = ct_profile_add_function(p, "h", "h", "h.c", 1);
	ct_line l1[2] = {{f, 3}, {h, 4}};
	ct_line l2[1] = {{h, 5}};
	uint32_t a = ct_profile_add_location(p, 0, 0, l1, 2);
	uint32_t b = ct_profile_add_location(p, 0, 0, l2, 1);
	ck_assert_uint_ne(a, b);
	ck_assert_uint_eq(ct_profile_add_location(p, 0, 0, l1, 2), a);
	ck_assert_uint_eq(ct_profile_add_location(p, 0, 0, l1, 1), 2);
	/* Rewriting the lines of a line-keyed location re-keys it. */
	ct_line l3[1] = {{f, 77}};
	ck_assert_int_eq(ct_profile_set_lines(p, a, l3, 1), 0);
	ck_assert_uint_eq(ct_profile_add_location(p, 0, 0, l3, 1), a);
	uint32_t c = ct_profile_add_location(p, 0, 0, l1, 2);
	ck_assert_uint_eq(c, 3);
	ck_assert_uint_eq(ct_profile_add_location(p, 0, 0, l2, 1), b);
	/* Append keeps duplicates apart. */
	ct_location dup = {.id = 50, .lines = l2, .nlines = 1};
	ck_assert_uint_eq(ct_profile_append_location(p, &dup), 4);
	ck_assert_uint_eq(p->locations[4].id, 50);
	ck_assert_uint_eq(ct_profile_add_location(p, 0, 0, l2, 1), b);
}
END_TEST

/* Many line-keyed locations re-keyed in turn: exercises deletion in the probe runs. */
START_TEST(test_rekey_many)
{
	uint32_t f = ct_profile_add_function(p, "g", "g", "g.c", 1);
	enum { N = 4000 };
	for (int i = 0; i < N; i++) {
		ct_line l = {f, i};
		ck_assert_uint_eq(ct_profile_add_location(p, 0, 0, &l, 1), (uint32_t)i);
	}
	for (int i = 0; i < N; i += 2) {
		ct_line l = {f, N + i};
		ck_assert_int_eq(ct_profile_set_lines(p, (uint32_t)i, &l, 1), 0);
	}
	for (int i = 0; i < N; i++) {
		ct_line l = {f, i % 2 ? i : N + i};
		ck_assert_uint_eq(ct_profile_add_location(p, 0, 0, &l, 1), (uint32_t)i);
	}
	ck_assert_uint_eq(p->nlocations, N);
}
END_TEST

START_TEST(test_samples_copied)
{
	ct_profile_add_sample_type(p, "alloc_objects", "count");
	ct_profile_add_sample_type(p, "alloc_space", "bytes");
	uint32_t l0 = ct_profile_add_location(p, 0, 0x10, NULL, 0);
	uint32_t l1 = ct_profile_add_location(p, 0, 0x20, NULL, 0);
	uint32_t locs[2] = {l0, l1};
	int64_t vals[2] = {3, 4096};
	char key[16] = "thread", str[16] = "worker-1", unit[16] = "bytes";
	ct_label labels[2] = {{.key = key, .str = str},
			      {.key = "size", .num = 64, .num_unit = unit}};
	ck_assert_int_eq(ct_profile_add_sample(p, locs, 2, vals, labels, 2), 0);
	locs[0] = 99;
	vals[0] = -1;
	strcpy(key, "x");
	strcpy(str, "y");
	strcpy(unit, "z");
	const ct_sample *s = &p->samples[0];
	ck_assert_uint_eq(s->nlocs, 2);
	ck_assert_uint_eq(s->locs[0], l0);
	ck_assert_uint_eq(s->locs[1], l1);
	ck_assert_int_eq(s->values[0], 3);
	ck_assert_int_eq(s->values[1], 4096);
	ck_assert_str_eq(s->labels[0].key, "thread");
	ck_assert_str_eq(s->labels[0].str, "worker-1");
	ck_assert_ptr_eq(s->labels[0].key, ct_profile_str(p, "thread"));
	ck_assert_ptr_null(s->labels[1].str);
	ck_assert_int_eq(s->labels[1].num, 64);
	ck_assert_str_eq(s->labels[1].num_unit, "bytes");
	/* A sample naming a location that does not exist is refused. */
	uint32_t bad = 7;
	ck_assert_int_eq(ct_profile_add_sample(p, &bad, 1, vals, NULL, 0), -EINVAL);
	ck_assert_uint_eq(p->nsamples, 1);
	ck_assert_int_eq(ct_profile_add_comment(p, "hello"), 0);
	ck_assert_int_eq(ct_profile_add_comment(p, "world"), 0);
	ck_assert_uint_eq(p->ncomments, 2);
	ck_assert_str_eq(p->comments[1], "world");
}
END_TEST

START_TEST(test_samples_merged)
{
	ct_profile_add_sample_type(p, "samples", "count");
	ct_profile_add_sample_type(p, "cpu", "nanoseconds");
	uint32_t a = ct_profile_add_location(p, 0, 0x10, NULL, 0);
	uint32_t b = ct_profile_add_location(p, 0, 0x20, NULL, 0);
	uint32_t ab[2] = {a, b}, ba[2] = {b, a};
	char key[16] = "thread", val[16] = "main";
	ct_label l1[2] = {{.key = key, .str = val}, {.key = "n", .num = 1}};
	ct_label l2[2] = {{.key = "n", .num = 1}, {.key = "thread", .str = "main"}};
	int64_t v[2] = {1, 10}, big[2] = {INT64_MAX, 0};
	ck_assert_int_eq(ct_profile_merge_sample(p, ab, 2, v, l1, 2), 0);
	strcpy(val, "main"); /* other pointers, same strings: still the same key */
	ck_assert_int_eq(ct_profile_merge_sample(p, ab, 2, v, l1, 2), 0);
	ck_assert_uint_eq(p->nsamples, 1);
	ck_assert_int_eq(p->samples[0].values[0], 2);
	ck_assert_int_eq(p->samples[0].values[1], 20);
	/* Other stacks, labels or label orders are other samples. */
	ck_assert_int_eq(ct_profile_merge_sample(p, ba, 2, v, l1, 2), 0);
	ck_assert_int_eq(ct_profile_merge_sample(p, ab, 2, v, l2, 2), 0);
	ck_assert_int_eq(ct_profile_merge_sample(p, ab, 2, v, l1, 1), 0);
	ck_assert_int_eq(ct_profile_merge_sample(p, ab, 1, v, NULL, 0), 0);
	ck_assert_int_eq(ct_profile_merge_sample(p, NULL, 0, v, NULL, 0), 0);
	ck_assert_uint_eq(p->nsamples, 6);
	/* A sum that would overflow is a sample of its own; later ones merge again. */
	ck_assert_int_eq(ct_profile_merge_sample(p, ab, 1, big, NULL, 0), 0);
	ck_assert_uint_eq(p->nsamples, 7);
	ck_assert_int_eq(p->samples[4].values[0], 1);
	ck_assert_int_eq(p->samples[6].values[0], INT64_MAX);
	ck_assert_int_eq(ct_profile_merge_sample(p, ab, 1, v, NULL, 0), 0);
	ck_assert_uint_eq(p->nsamples, 7);
	ck_assert_int_eq(p->samples[4].values[0], 2);
	/* Samples added without merging are not merged with. */
	ck_assert_int_eq(ct_profile_add_sample(p, ba, 1, v, NULL, 0), 0);
	ck_assert_int_eq(ct_profile_merge_sample(p, ba, 1, v, NULL, 0), 0);
	ck_assert_uint_eq(p->nsamples, 9);
	ck_assert_int_eq(ct_profile_merge_sample(p, &b, 1, NULL, NULL, 0), -EINVAL);
}
END_TEST

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What the agent's collector does at exit: 100k distinct PCs, 1M samples over them. */
START_TEST(test_build_large)
{
	enum { NLOC = 100000, NSAMPLE = 1000000, DEPTH = 16 };
	double t0 = now();
	ct_profile *big = pfix_new(1);
	ct_mapping m = {.memory_start = 0x400000, .memory_limit = 0x10000000, .filename = "a"};
	uint32_t mi = ct_profile_add_mapping(big, &m);
	uint64_t seed = 88172645463325252ULL;
	uint32_t stack[DEPTH];
	int64_t vals[2] = {1, 10000000};
	int bad = 0; /* counted, not asserted: Check logs every assertion it passes */
	for (int i = 0; i < NSAMPLE; i++) {
		for (int d = 0; d < DEPTH; d++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			uint64_t pc = 0x400000 + (seed % NLOC) * 16;
			stack[d] = ct_profile_add_location(big, mi, pc, NULL, 0);
			bad += stack[d] == UINT32_MAX;
		}
		ct_label l = {.key = "thread", .str = i % 2 ? "main" : "worker"};
		bad += ct_profile_add_sample(big, stack, DEPTH, vals, &l, 1) != 0;
	}
	double t1 = now();
	ck_assert_int_eq(bad, 0);
	ck_assert_uint_eq(big->nsamples, NSAMPLE);
	ck_assert_uint_le(big->nlocations, NLOC);
	ck_assert_uint_ge(big->nlocations, NLOC * 9 / 10);
	fprintf(stderr, "profile: built %d samples x %d frames over %u locations in %.3f s\n",
		NSAMPLE, DEPTH, big->nlocations, t1 - t0);
	ct_profile_free(big);
}
END_TEST

static Suite *profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *model = CT_CHECK_TCASE(s, "model", 0, test_new_defaults, test_strings_interned,
				      test_sample_types, test_mappings, test_functions_interned,
				      test_locations_by_address, test_locations_by_lines,
				      test_rekey_many, test_samples_copied, test_samples_merged);
	tcase_add_checked_fixture(model, setup, teardown);
	CT_CHECK_TCASE(s, "scale", 120, test_build_large);
	return s;
}

CT_CHECK_MAIN(profile_suite)
