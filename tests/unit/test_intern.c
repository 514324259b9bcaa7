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

static Suite *intern_suite(void)
{
	Suite *s = suite_create("intern");
	TCase *tc = tcase_create("intern");
	tcase_add_test(tc, equal_strings_share_index_and_pointer);
	tcase_add_test(tc, borrowing_keeps_the_callers_pointers);
	tcase_add_test(tc, many_and_long_strings_survive_growth);
	tcase_add_test(tc, hashes_differ_and_report_length);
	suite_add_tcase(s, tc);
	return s;
}

CT_CHECK_MAIN(intern_suite)
