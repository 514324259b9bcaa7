/*
 * escape.h — writing untrusted strings (function and file names from any profile) into
 * XML and JSON output so that the result stays well-formed: XML gets &lt; &amp; &quot;
 * and friends, JSON gets backslash escapes plus \u003c \u003e \u0026 (so a JSON block can
 * sit inside an HTML <script> element). Bytes that are not valid UTF-8, and control
 * characters that XML forbids, are replaced by '?'; line breaks by spaces.
 *
 * Thread-safety: none needed; writes only to the given stream.
 */
#ifndef CT_ESCAPE_H
#define CT_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Writes s escaped for XML text or a double-quoted attribute. With max_chars > 0, a
 * string longer than max_chars characters is cut to max_chars - 2 characters plus "..". */
void ct_escape_xml(FILE *out, const char *s, size_t max_chars);

/* Writes s as a JSON string literal, quotes included. */
void ct_escape_json(FILE *out, const char *s);

/* Number of UTF-8 characters in s (invalid bytes count one each). */
size_t ct_escape_utf8_chars(const char *s);

#endif
