/*
 * test_httpreq.c — unit tests for the live server's request parser (libtrace/httpreq.h):
 * a complete head is recognised at its exact length, a head cut anywhere is "need more",
 * malformed heads (bare LF, no version, bad header names, chunked bodies, control bytes,
 * bad escapes) are refused, limits give -E2BIG, and form values decode like Go's.
 */
#include "libtrace/httpreq.h"
#include "tests/unit/ct_check.h"

#include <check.h>
#include <errno.h>
#include <string.h>

static int parse(const char *s, ct_http_req *r)
{
	return ct_http_parse(s, strlen(s), 8192, r);
}

START_TEST(complete_head)
{
	const char *s = "GET /debug/pprof/profile?seconds=2 HTTP/1.1\r\nHost: x\r\n"
			"User-Agent: Go-http-client/1.1\r\n\r\nBODY";
	ct_http_req r;
	ck_assert_int_eq(parse(s, &r), 1);
	ck_assert_str_eq(r.method, "GET");
	ck_assert_str_eq(r.path, "/debug/pprof/profile");
	ck_assert_str_eq(r.query, "seconds=2");
	ck_assert_int_eq(r.minor, 1);
	ck_assert_uint_eq(r.head_len, strlen(s) - 4);
	ck_assert_uint_eq(r.content_length, 0);
}
END_TEST

START_TEST(every_prefix_needs_more)
{
	const char *s = "POST /debug/pprof/symbol HTTP/1.1\r\nContent-Length: 9\r\n\r\n";
	ct_http_req r;
	for (size_t n = 0; n < strlen(s); n++)
		ck_assert_msg(ct_http_parse(s, n, 8192, &r) == 0, "prefix of %zu bytes", n);
	ck_assert_int_eq(ct_http_parse(s, strlen(s), 8192, &r), 1);
	ck_assert_uint_eq(r.content_length, 9);
	ck_assert_str_eq(r.method, "POST");
}
END_TEST

START_TEST(malformed_heads)
{
	static const char *bad[] = {
		"GET /x HTTP/1.1\n\n",			  /* bare LF */
		"GET /x\r\n\r\n",			  /* no version */
		"GET /x HTTP/2.0\r\n\r\n",		  /* not HTTP/1.x */
		"GET x HTTP/1.1\r\n\r\n",		  /* not origin-form */
		"G(T /x HTTP/1.1\r\n\r\n",		  /* method not a token */
		"GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n", /* header name not a token */
		"GET /x HTTP/1.1\r\n: v\r\n\r\n",	  /* empty header name */
		"GET /x HTTP/1.1\r\nNoColon\r\n\r\n",	  /* no colon */
		"GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
		"GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET /x HTTP/1.1\r\nA: b\x01\r\n\r\n", /* control byte in a value */
		"GET /a%zz HTTP/1.1\r\n\r\n",	       /* bad escape */
		"GET /a%00 HTTP/1.1\r\n\r\n",	       /* decoded NUL */
		"GET /a\x7f HTTP/1.1\r\n\r\n",	       /* DEL in the target */
		"GET  /x HTTP/1.1\r\n\r\n",	       /* two spaces */
		"GET /x HTTP/1.1\r\r\n\r\n",	       /* CR not before LF */
	};
	ct_http_req r;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &r) == -EINVAL, "accepted bad head %zu", i);
}
END_TEST

START_TEST(limits)
{
	ct_http_req r;
	char s[4096];
	snprintf(s, sizeof(s), "GET /%0300d HTTP/1.1\r\n\r\n", 0);
	ck_assert_int_eq(parse(s, &r), -E2BIG);
	snprintf(s, sizeof(s), "GET /x?%03000d HTTP/1.1\r\n\r\n", 0);
	ck_assert_int_eq(parse(s, &r), -E2BIG);
	ck_assert_int_eq(
		ct_http_parse("GET /x HTTP/1.1\r\nContent-Length: 9000\r\n\r\n", 41, 8192, &r),
		-E2BIG);
}
END_TEST

START_TEST(form_values)
{
	char v[32];
	const char *q = "debug=2&seconds=%33&a+b=c+d&empty=&seconds=9";
	ck_assert_int_eq(ct_http_form_get(q, strlen(q), "seconds", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "3");
	ck_assert_int_eq(ct_http_form_get(q, strlen(q), "a b", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "c d");
	ck_assert_int_eq(ct_http_form_get(q, strlen(q), "empty", v, sizeof(v)), 1);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(ct_http_form_get(q, strlen(q), "gc", v, sizeof(v)), 0);
	ck_assert_int_eq(ct_http_form_get("x=%4", 4, "x", v, sizeof(v)), -EINVAL);
	ck_assert_int_eq(ct_http_form_get("x=123456", 8, "x", v, 4), -EINVAL);
}
END_TEST

START_TEST(integers_like_go)
{
	int64_t v;
	ck_assert_int_eq(ct_http_parse_int("30", &v), 0);
	ck_assert_int_eq(v, 30);
	ck_assert_int_eq(ct_http_parse_int("-4", &v), 0);
	ck_assert_int_eq(v, -4);
	ck_assert_int_eq(ct_http_parse_int("9223372036854775807", &v), 0);
	ck_assert_int_eq(ct_http_parse_int("9223372036854775808", &v), -EINVAL);
	ck_assert_int_eq(ct_http_parse_int("99999999999999999999999", &v), -EINVAL);
	ck_assert_int_eq(ct_http_parse_int("", &v), -EINVAL);
	ck_assert_int_eq(ct_http_parse_int("1.5", &v), -EINVAL);
	ck_assert_int_eq(ct_http_parse_int(" 1", &v), -EINVAL);
}
END_TEST

static Suite *httpreq_suite(void)
{
	return CT_CHECK_SUITE("httpreq", complete_head, every_prefix_needs_more, malformed_heads,
			      limits, form_values, integers_like_go);
}

CT_CHECK_MAIN(httpreq_suite)
