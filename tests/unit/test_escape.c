/*
 * test_escape.c — text escaping of untrusted names (libtrace/escape.c): control
 * characters (C0, DEL, C1) and invalid UTF-8 as \xNN, valid UTF-8 kept, and the text
 * stream that does the same to everything written to it, line breaks kept, UTF-8
 * sequences split across writes, errors of its target passed on.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/escape.h"
#include "tests/unit/ct_check.h"

static char *text_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ct_escape_text(f, s, strlen(s));
	fclose(f);
	return buf;
}

START_TEST(test_text_string)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"main", "main"},
		{"a\x1b[31mb\x07", "a\\x1b[31mb\\x07"},
		{"line\nbreak\r\ttab\x7f", "line\\x0abreak\\x0d\\x09tab\\x7f"},
		{"ns::καλημέρα<世界>", "ns::καλημέρα<世界>"},
		{"c1 \xc2\x9b"
		 "31m, nbsp \xc2\xa0",
		 "c1 \\xc2\\x9b31m, nbsp \xc2\xa0"},
		{"lone \x9b, cut \xe4\xb8", "lone \\x9b, cut \\xe4\\xb8"},
		{"overlong \xc0\xaf, surrogate \xed\xa0\x80",
		 "overlong \\xc0\\xaf, surrogate \\xed\\xa0\\x80"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = text_of(cases[i].in);
		ck_assert_str_eq(got, cases[i].out);
		free(got);
	}
}
END_TEST

START_TEST(test_text_stream)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *to = open_memstream(&buf, &len);
	FILE *f = ct_escape_text_stream(to);
	ck_assert_ptr_nonnull(f);
	/* Every fflush hands the stream's buffer over: "世" (e4 b8 96) arrives a byte at a
	 * time, and so does an ESC sequence. */
	const char *parts[] = {"ab\x1b", "[1m\n",    "\xe4", "\xb8", "\x96|", "\xce",
			       "\xba\n", "\xe4\xb8", "x",    "\xc2", "\x9b",  "end\xe2\x82"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		ck_assert_int_eq(fputs(parts[i], f), 1);
		ck_assert_int_eq(fflush(f), 0);
	}
	fprintf(f, " %s\n", "f\x01g");
	ck_assert_int_eq(fclose(f), 0); /* the cut sequence at the end is escaped */
	fclose(to);
	ck_assert_str_eq(buf, "ab\\x1b[1m\n世|κ\n\\xe4\\xb8x\\xc2\\x9bend\\xe2\\x82 f\\x01g\n");
	free(buf);
}
END_TEST

START_TEST(test_text_stream_errors)
{
	FILE *ro = fopen("/dev/null", "r");
	ck_assert_ptr_nonnull(ro);
	FILE *f = ct_escape_text_stream(ro);
	ck_assert_ptr_nonnull(f);
	fputs("hello\n", f);
	ck_assert_int_ne(fflush(f), 0);
	ck_assert(ferror(f));
	fclose(f);
	fclose(ro);
}
END_TEST

static Suite *escape_suite(void)
{
	return CT_CHECK_SUITE("escape", test_text_string, test_text_stream,
			      test_text_stream_errors);
}

CT_CHECK_MAIN(escape_suite)
