/* escape.c — XML and JSON escaping of untrusted names (see escape.h). */
#include "libtrace/escape.h"

#include <stdbool.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s does not start one. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
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
