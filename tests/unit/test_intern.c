/*
 * test_intern.c — unit tests for the string interner (libtrace/intern.h): equal strings
 * give one index and one pointer, indexes are dense in insertion order, an owning
 * interner copies (the caller's buffer may change) and a borrowing one does not, and
 * everything survives the table growing many times, long strings included.
 */
#include "libtrace/intern.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/ct_check.h"

START_TEST(equal_strings_share_index_and_pointer)
{
	ct_intern t;
	ct_intern_init(&t, true);
	ck_assert_int_eq(ct_intern_index(&t, ""), 0);
	ck_assert_int_eq(ct_intern_index(&t, "main"), 1);
	ck_assert_int_eq(ct_intern_index(&t, "work"), 2);
	ck_assert_int_eq(ct_intern_index(&t, "main"), 1);
	ck_assert_int_eq(ct_intern_index(&t, NULL), 0); /* NULL is "" */
	ck_assert_uint_eq(t.n, 3);
	char buf[8] = "work";
	const char *a = ct_intern_str(&t, buf);
	ck_assert_ptr_eq(a, ct_intern_at(&t, 2));
	ck_assert_ptr_ne(a, buf); /* owning: a copy */
	strcpy(buf, "xxxx");
	ck_assert_str_eq(a, "work");
	ck_assert_str_eq(ct_intern_at(&t, 1), "main");
	ct_intern_free(&t);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_int_eq(ct_intern_index(&t, "again"), 0); /* usable after free */
	ct_intern_free(&t);
}
END_TEST

START_TEST(borrowing_keeps_the_callers_pointers)
{
	static const char *const words[] = {"", "alpha", "beta", "alpha", "gamma", ""};
	ct_intern t;
	ct_intern_init(&t, false);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		ck_assert_int_ge(ct_intern_index(&t, words[i]), 0);
	ck_assert_uint_eq(t.n, 4);
	ck_assert_ptr_eq(ct_intern_at(&t, 1), words[1]);
	ck_assert_ptr_eq(ct_intern_at(&t, 3), words[4]);
	ct_intern_free(&t);
}
END_TEST

START_TEST(many_and_long_strings_survive_growth)
{
	enum { N = 50000 };
	ct_intern t;
	ct_intern_init(&t, true);
	const char **ptr = malloc(N * sizeof(*ptr));
	ck_assert_ptr_nonnull(ptr);
	char buf[64];
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "fn_%d", i);
		ck_assert_int_eq(ct_intern_index(&t, buf), i);
		ptr[i] = ct_intern_at(&t, (size_t)i);
	}
	size_t big = 100000;
	char *longs = malloc(big + 1);
	ck_assert_ptr_nonnull(longs);
	memset(longs, 'x', big);
	longs[big] = '\0';
	const char *l1 = ct_intern_str(&t, longs);
	longs[0] = 'y';
	const char *l2 = ct_intern_str(&t, longs);
	ck_assert_ptr_ne(l1, l2);
	ck_assert_int_eq(l1[0], 'x');
	ck_assert_uint_eq(strlen(l2), big);
	/* Pointers handed out before the table grew are still the interned ones. */
	for (int i = 0; i < N; i += 97) {
		snprintf(buf, sizeof(buf), "fn_%d", i);
		ck_assert_ptr_eq(ct_intern_str(&t, buf), ptr[i]);
		ck_assert_str_eq(ptr[i], buf);
	}
	ck_assert_uint_eq(t.n, N + 2);
	free(longs);
	free(ptr);
	ct_intern_free(&t);
}
END_TEST

START_TEST(hashes_differ_and_report_length)
{
	size_t len = 0;
	uint64_t a = ct_hash_str("abc", &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_ne(a, ct_hash_str("abd", NULL));
	ck_assert_uint_eq(a, ct_hash_str("abc", NULL));
	ck_assert_uint_ne(ct_hash_u64(1), ct_hash_u64(2));
}
END_TEST

/* A string's hash follows the per-process seed: a file cannot choose strings that land in
 * one probe run of every reader's tables, and interning still finds equal strings. */
START_TEST(string_hash_is_keyed)
{
	uint64_t saved = ct_hash_seed;
	ct_hash_seed = 1;
	uint64_t a = ct_hash_str("main", NULL);
	ct_hash_seed = 2;
	uint64_t b = ct_hash_str("main", NULL);
	ck_assert_uint_ne(a, b);
	ct_intern t;
	ct_intern_init(&t, true);
	int64_t i = ct_intern_index(&t, "main");
	ck_assert_int_eq(ct_intern_index(&t, "main"), i);
	ct_intern_free(&t);
	ct_hash_seed = saved;
}
END_TEST

static Suite *intern_suite(void)
{
	return CT_CHECK_SUITE("intern", equal_strings_share_index_and_pointer,
			      borrowing_keeps_the_callers_pointers,
			      many_and_long_strings_survive_growth, hashes_differ_and_report_length,
			      string_hash_is_keyed);
}

CT_CHECK_MAIN(intern_suite)
