/* escape.c — XML, JSON and text escaping of untrusted names (see escape.h). */
#include "libtrace/escape.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Length of the valid UTF-8 sequence at s[0, n) (1..4, n >= 1); 0 when s does not start
 * one; -1 when s[0, n) is a valid start of one cut short. */
static int utf8_seq_n(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if (i == n)
			return -1;
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return (int)len;
}

/* utf8_seq_n of a NUL-terminated string: a sequence cut by the NUL is invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	int k = utf8_seq_n(s, 4);
	return k > 0 ? (size_t)k : 0;
}

size_t ct_escape_utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
		size_t k = utf8_seq(p);
		p += k ? k : 1;
	}
	return n;
}

/* What each ASCII character becomes: a replacement, or NULL to be written as is. */
static const char *const xml_esc[128] = {
	['<'] = "&lt;", ['>'] = "&gt;", ['&'] = "&amp;", ['"'] = "&quot;", ['\''] = "&apos;",
};
static const char *const json_esc[128] = {
	['"'] = "\\\"", ['\\'] = "\\\\", ['<'] = "\\u003c", ['>'] = "\\u003e", ['&'] = "\\u0026",
};

/* Writes the first keep characters of s escaped by table; every format writes line
 * breaks and tabs as spaces, other control characters and invalid UTF-8 as '?'. */
static void escape(FILE *out, const char *s, size_t keep, const char *const table[128])
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t n = 0; *p && n < keep; n++) {
		size_t k = utf8_seq(p);
		if (k > 1) {
			fwrite(p, 1, k, out);
			p += k;
			continue;
		}
		if (k == 0 || (*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f)
			putc('?', out);
		else if (*p < 0x20)
			putc(' ', out);
		else if (table[*p])
			fputs(table[*p], out);
		else
			putc(*p, out);
		p++;
	}
}

void ct_escape_xml(FILE *out, const char *s, size_t max_chars)
{
	bool cut = max_chars > 0 && ct_escape_utf8_chars(s) > max_chars;
	escape(out, s, cut ? (max_chars > 2 ? max_chars - 2 : 0) : (size_t)-1, xml_esc);
	if (cut)
		fputs("..", out);
}

void ct_escape_json(FILE *out, const char *s)
{
	putc('"', out);
	escape(out, s, (size_t)-1, json_esc);
	putc('"', out);
}

/* ---- text ------------------------------------------------------------------------------ */

/* Writes buf[0, n) to out as text (escape.h), line breaks kept when keep_nl. Returns how
 * many bytes it took: all, unless buf ends inside a UTF-8 sequence and !final (the rest
 * waits for the bytes that complete it). */
static size_t text_write(FILE *out, const unsigned char *buf, size_t n, bool keep_nl, bool final)
{
	size_t run = 0, i = 0; /* buf[run, i) is plain text not yet written */
	while (i < n) {
		int k = utf8_seq_n(buf + i, n - i);
		if (k < 0 && !final)
			break;
		unsigned c = buf[i];
		bool plain = k == 1 ? (c >= 0x20 || (keep_nl && c == '\n')) && c != 0x7f
				    : k > 1 && !(c == 0xc2 && buf[i + 1] < 0xa0); /* C1 */
		if (plain) {
			i += (size_t)k;
			continue;
		}
		fwrite(buf + run, 1, i - run, out);
		for (size_t end = i + (k > 1 ? (size_t)k : 1); i < end; i++)
			fprintf(out, "\\x%02x", buf[i]);
		run = i;
	}
	fwrite(buf + run, 1, i - run, out);
	return i;
}

void ct_escape_text(FILE *out, const char *s, size_t len)
{
	text_write(out, (const unsigned char *)s, len, false, true);
}

/* A text stream: its target, and the start of a UTF-8 sequence the last write ended in. */
typedef struct {
	FILE *to;
	unsigned char pend[4];
	size_t npend;
} text_stream;

static ssize_t text_stream_write(void *cookie, const char *data, size_t len)
{
	text_stream *t = cookie;
	const unsigned char *buf = (const unsigned char *)data;
	size_t used = 0;
	if (t->npend) {
		/* the held-back start and what may complete it (a sequence is at most 4 bytes) */
		unsigned char tmp[8];
		size_t m = t->npend, add = len < 4 ? len : 4;
		memcpy(tmp, t->pend, m);
		memcpy(tmp + m, buf, add);
		size_t took = text_write(t->to, tmp, m + add, true, false);
		if (took < m) { /* still cut short: all of it waits */
			assert(took == 0 && add == len);
			memcpy(t->pend, tmp, m + add);
			t->npend = m + add;
			return (ssize_t)len;
		}
		used = took - m;
		t->npend = 0;
	}
	used += text_write(t->to, buf + used, len - used, true, false);
	assert(len - used < sizeof(t->pend));
	memcpy(t->pend, buf + used, len - used);
	t->npend = len - used;
	return fflush(t->to) == 0 && !ferror(t->to) ? (ssize_t)len : -1;
}

static int text_stream_close(void *cookie)
{
	text_stream *t = cookie;
	text_write(t->to, t->pend, t->npend, true, true);
	int rc = fflush(t->to) == 0 && !ferror(t->to) ? 0 : -1;
	free(t);
	return rc;
}

FILE *ct_escape_text_stream(FILE *to)
{
	text_stream *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->to = to;
	cookie_io_functions_t io = {.write = text_stream_write, .close = text_stream_close};
	FILE *f = fopencookie(t, "w", io);
	if (!f) {
		free(t);
		return NULL;
	}
	if (isatty(fileno(to)))
		setvbuf(f, NULL, _IOLBF, BUFSIZ);
	return f;
}
