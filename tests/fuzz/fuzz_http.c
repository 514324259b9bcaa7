/*
 * fuzz_http.c — libFuzzer target: the live server's request parser (libtrace/httpreq.h)
 * and its form decoder on arbitrary bytes.
 *
 * Parsing must never crash, hang or read past the input, and must answer one of its four
 * results. A complete head must end in CRLF CRLF at head_len, start its path with '/',
 * parse again to the same head from exactly its own bytes, and be "need more" for every
 * shorter prefix that was not already malformed. The query's values decode or are refused.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_http: broken invariant: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy, so that ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	ct_http_req req, again;
	int r = ct_http_parse(buf, size, 8192, &req);
	require(r == 1 || r == 0 || r == -EINVAL || r == -E2BIG, "result");
	if (r == 1) {
		require(req.head_len >= 4 && req.head_len <= size, "head length");
		require(memcmp(buf + req.head_len - 4, "\r\n\r\n", 4) == 0, "head end");
		require(req.path[0] == '/', "path");
		require(req.content_length <= 8192, "body bound");
		require(ct_http_parse(buf, req.head_len, 8192, &again) == 1, "own bytes");
		require(again.head_len == req.head_len && strcmp(again.path, req.path) == 0 &&
				strcmp(again.query, req.query) == 0,
			"same head");
		require(ct_http_parse(buf, req.head_len - 1, 8192, &again) == 0, "prefix");
		char v[64];
		int f = ct_http_form_get(req.query, strlen(req.query), "seconds", v, sizeof(v));
		require(f == 1 || f == 0 || f == -EINVAL, "form result");
		int64_t n;
		if (f == 1)
			require(ct_http_parse_int(v, &n) == 0 ||
					ct_http_parse_int(v, &n) == -EINVAL,
				"int result");
	}
	free(buf);
	return 0;
}
