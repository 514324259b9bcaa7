/*
 * error.h — how libtrace readers report what is wrong with their input.
 *
 * A reader that rejects its input fills a ct_error with one human line naming what was
 * wrong and the byte offset where it was found; the CLI prints it as
 * "ctrace: cannot read FILE: MSG" and exits non-zero. Functions still return -errno
 * (EINVAL for bad input, ENOMEM, or the errno of a failed system call).
 */
#ifndef CT_ERROR_H
#define CT_ERROR_H

#include <stddef.h>

typedef struct {
	char msg[256];	  /* e.g. "truncated varint in field 2 (sample) at byte 4096" */
	long long offset; /* byte offset in the input, -1 when not applicable */
} ct_error;

/* Formats msg (printf-style) into err, when err is not NULL. Returns -code so callers can
 * write `return ct_error_set(err, EINVAL, off, "...")`. */
int ct_error_set(ct_error *err, int code, long long offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
