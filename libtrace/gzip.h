/*
 * gzip.h — gzip framing for libtrace's files: wrapping a buffer in a gzip member, and
 * inflating untrusted gzip input with a hard bound on the output size.
 *
 * Thread-safety: none needed; functions touch only their arguments. Not async-signal-safe
 * (they allocate).
 */
#ifndef CT_GZIP_H
#define CT_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/error.h"

/* Whether buf starts with gzip's magic bytes. */
static inline bool ct_is_gzip(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

/* Wraps raw[0, len) in one gzip member, at the fastest level (as Go's runtime writes
 * profiles). *out is malloc'd (caller frees), *outlen its size. 0 or -ENOMEM. */
int ct_gzip(const uint8_t *raw, size_t len, uint8_t **out, size_t *outlen);

/* Inflates the gzip member(s) in buf[0, len) (concatenated members are one stream) into
 * a malloc'd *out of at most max bytes. On failure -EINVAL (corrupt, truncated, trailing
 * data, or more than max bytes) or -ENOMEM, with err naming the byte offset in the
 * compressed input. */
int ct_gunzip(const uint8_t *buf, size_t len, size_t max, uint8_t **out, size_t *outlen,
	      ct_error *err);

#endif
