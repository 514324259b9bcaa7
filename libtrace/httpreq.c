/*
 * httpreq.c — the bounded HTTP/1.x request-head parser (see httpreq.h).
 *
 * The grammar kept is RFC 9112's, minus what the pprof endpoints never need: a request
 * line `METHOD SP origin-form SP HTTP/1.d CRLF`, then header fields `token ":" OWS value
 * OWS CRLF` (no obsolete line folding), then CRLF. Every byte is checked once, in order,
 * against the buffer's end, so that a truncated head is "need more", never a read past it.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "libtrace/httpreq.h"

static int is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0, n) into out (outlen bytes, NUL-terminated); plus_space turns '+'
 * into ' ' (forms). 0, -EINVAL for a bad escape or a decoded NUL, -E2BIG when too long. */
static int decode(const char *s, size_t n, int plus_space, char *out, size_t outlen)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -EINVAL;
			int hi = hexval((unsigned char)s[i + 1]),
			    lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (unsigned char)(hi * 16 + lo);
			if (!c)
				return -EINVAL;
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (k + 1 >= outlen)
			return -E2BIG;
		out[k++] = (char)c;
	}
	if (!outlen)
		return -E2BIG;
	out[k] = 0;
	return 0;
}

/* Parses the request line buf[0, n) (without its CRLF). */
static int parse_request_line(const char *buf, size_t n, ct_http_req *req)
{
	const char *end = buf + n, *p = buf;
	size_t m = 0;
	while (p < end && *p != ' ') {
		if (!is_tchar((unsigned char)*p) || m + 1 >= sizeof(req->method))
			return -EINVAL;
		req->method[m++] = *p++;
	}
	req->method[m] = 0;
	if (!m || p == end || *p++ != ' ' || p == end || *p != '/')
		return -EINVAL;
	const char *target = p;
	while (p < end && *p != ' ') {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f)
			return -EINVAL;
		p++;
	}
	size_t tlen = (size_t)(p - target);
	if (p == end || *p++ != ' ')
		return -EINVAL;
	if (end - p != 8 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9')
		return -EINVAL;
	req->minor = p[7] - '0';
	const char *q = memchr(target, '?', tlen);
	size_t plen = q ? (size_t)(q - target) : tlen;
	int r = decode(target, plen, 0, req->path, sizeof(req->path));
	if (r < 0)
		return r;
	if (q) {
		size_t qlen = tlen - plen - 1;
		if (qlen >= sizeof(req->query))
			return -E2BIG;
		memcpy(req->query, q + 1, qlen);
		req->query[qlen] = 0;
	}
	return 0;
}

/* Parses one header field line buf[0, n) (without its CRLF). */
static int parse_header(const char *buf, size_t n, size_t max_body, ct_http_req *req)
{
	const char *colon = memchr(buf, ':', n);
	if (!colon || colon == buf)
		return -EINVAL;
	for (const char *p = buf; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return -EINVAL;
	size_t name_len = (size_t)(colon - buf);
	const char *v = colon + 1, *end = buf + n;
	for (const char *p = v; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
	}
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (name_len == 17 && strncasecmp(buf, "Transfer-Encoding", 17) == 0)
		return -EINVAL;
	if (name_len == 14 && strncasecmp(buf, "Content-Length", 14) == 0) {
		if (v == end || end - v > 18)
			return -EINVAL;
		size_t cl = 0;
		for (const char *p = v; p < end; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			cl = cl * 10 + (size_t)(*p - '0');
		}
		if (req->content_length && req->content_length != cl)
			return -EINVAL;
		if (cl > max_body)
			return -E2BIG;
		req->content_length = cl;
	}
	return 0;
}

int ct_http_parse(const char *buf, size_t len, size_t max_body, ct_http_req *req)
{
	memset(req, 0, sizeof(*req));
	size_t pos = 0;
	int line = 0;
	for (;;) {
		const char *cr = memchr(buf + pos, '\r', len - pos);
		const char *lf = memchr(buf + pos, '\n', len - pos);
		if (lf && (!cr || lf < cr))
			return -EINVAL; /* a bare LF */
		if (!cr)
			return 0;
		size_t n = (size_t)(cr - (buf + pos));
		if (pos + n + 1 >= len)
			return 0; /* the LF is not here yet */
		if (buf[pos + n + 1] != '\n')
			return -EINVAL;
		int r;
		if (line == 0) {
			r = parse_request_line(buf + pos, n, req);
		} else if (n == 0) {
			req->head_len = pos + 2;
			return 1;
		} else {
			r = parse_header(buf + pos, n, max_body, req);
		}
		if (r < 0)
			return r;
		pos += n + 2;
		line++;
	}
}

int ct_http_form_get(const char *form, size_t len, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = form, *end = form + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		const char *name_end = eq ? eq : pair_end;
		char name[64];
		if (decode(p, (size_t)(name_end - p), 1, name, sizeof(name)) == 0 &&
		    strlen(name) == klen && memcmp(name, key, klen) == 0) {
			const char *v = eq ? eq + 1 : pair_end;
			int r = decode(v, (size_t)(pair_end - v), 1, out, outlen);
			return r < 0 ? -EINVAL : 1;
		}
		p = amp ? amp + 1 : end;
	}
	return 0;
}

int ct_http_parse_int(const char *s, int64_t *v)
{
	int neg = 0;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return -EINVAL;
	uint64_t x = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (x > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > (uint64_t)INT64_MAX + (uint64_t)neg)
			return -EINVAL;
	}
	*v = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}
