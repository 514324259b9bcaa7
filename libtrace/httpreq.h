/*
 * httpreq.h — a strict, bounded parser for one HTTP/1.x request head, and the query and
 * form helpers the agent's /debug/pprof server needs.
 *
 * The server reads bytes from an untrusted peer into a fixed buffer and calls
 * ct_http_parse after every read: it answers "need more", "complete, the head is N bytes",
 * or "malformed" — never reads past the bytes given, never allocates. Only what the
 * pprof endpoints use is kept: the method, the path (percent-decoded), the raw query and
 * Content-Length. Transfer-Encoding is refused (no chunked bodies), as are control bytes,
 * a missing HTTP version, and header names that are not tokens.
 *
 * Thread-safety: pure functions over their arguments. Not async-signal-safe requirements:
 * none (no allocation, no locks).
 */
#ifndef CT_HTTPREQ_H
#define CT_HTTPREQ_H

#include <stddef.h>
#include <stdint.h>

#define CT_HTTP_PATH_MAX 256
#define CT_HTTP_QUERY_MAX 2048

typedef struct {
	char method[8];		       /* "GET", "POST", ... */
	char path[CT_HTTP_PATH_MAX];   /* percent-decoded, NUL-free, starts with '/' */
	char query[CT_HTTP_QUERY_MAX]; /* raw, without the '?' ("" when none) */
	int minor;		       /* HTTP/1.<minor> */
	size_t head_len;       /* bytes of the request line and headers, CRLF CRLF included */
	size_t content_length; /* 0 when absent */
} ct_http_req;

/* Parses the request head in buf[0, len). Returns 1 with *req filled when the head is
 * complete, 0 when more bytes are needed (and none seen so far is wrong), -EINVAL when
 * the head is malformed or uses what is refused, -E2BIG when the path or query is longer
 * than the fields above or Content-Length exceeds max_body. */
int ct_http_parse(const char *buf, size_t len, size_t max_body, ct_http_req *req);

/* The value of key in an application/x-www-form-urlencoded string (a query or a POST
 * body), percent- and '+'-decoded into out (NUL-terminated, at most outlen - 1 bytes).
 * The first occurrence wins. 1 found, 0 absent, -EINVAL bad escape or too long. */
int ct_http_form_get(const char *form, size_t len, const char *key, char *out, size_t outlen);

/* Parses a decimal integer like Go's strconv.ParseInt(s, 10, 64): optional sign, digits
 * only, no overflow. 0 with *v set, or -EINVAL. */
int ct_http_parse_int(const char *s, int64_t *v);

#endif
