/*
 * escape.h — writing untrusted strings (function and file names, labels, thread names from
 * any profile or trace) into XML, JSON and text output. XML and JSON stay well-formed: XML
 * gets &lt; &amp; &quot; and friends, JSON gets backslash escapes plus \u003c \u003e
 * \u0026 (so a JSON block can sit inside an HTML <script> element); bytes that are not valid
 * UTF-8, and control characters that XML forbids, are replaced by '?'; line breaks by
 * spaces.
 *
 * Text — what reaches a terminal — must not carry what drives one (ESC sequences that
 * recolour, retitle, clear or write the clipboard; CR and BS that overwrite a line): every
 * control character, C0 (bytes below 0x20), DEL (0x7f) and C1 (U+0080..U+009F, which
 * some terminals obey as ESC sequences), and every byte that is not valid UTF-8 (a lone
 * 0x9b is CSI to a terminal taking 8-bit controls) is written as the visible escape
 * \xNN, one per byte; valid UTF-8 (a C++ or Rust name in any script) is kept as it is.
 *
 * Thread-safety: none needed; writes only to the given stream (a text stream is used by
 * one thread at a time, like any FILE).
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

/* Writes s[0, len) as text: control characters and invalid UTF-8 as \xNN (line breaks
 * too). */
void ct_escape_text(FILE *out, const char *s, size_t len);

/* A stream that writes what it is given to `to` as text, every line break kept: the one
 * place a command's standard output and error are made safe for a terminal. Closing it
 * writes what it holds (an incomplete UTF-8 sequence at the end is escaped), flushes `to`
 * and leaves it open; every write flushes `to`, so `to`'s errors (EPIPE, ENOSPC) are the
 * stream's at once, with errno. Line-buffered when `to` is a terminal. NULL on ENOMEM. */
FILE *ct_escape_text_stream(FILE *to);

/* Number of UTF-8 characters in s (invalid bytes count one each). */
size_t ct_escape_utf8_chars(const char *s);

#endif
