/*
 * pprof.h — reading and writing pprof Profile messages (proto/profile.proto).
 *
 * The writer turns a ct_profile into the wire format with a string table, in schema
 * order, gzipped (what `go tool pprof` expects). The reader accepts gzipped or raw
 * messages from any producer — Go's runtime, pprof itself, other profilers — and
 * validates them the way pprof does: ids nonzero and unique, every string index in range,
 * every referenced mapping/location/function present, one value per sample type. On bad
 * input it fails with a ct_error naming the field and byte offset; it never returns a
 * partially decoded profile.
 *
 * Thread-safety: none needed; functions touch only their arguments. Not async-signal-safe.
 */
#ifndef CT_PPROF_H
#define CT_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/error.h"
#include "libtrace/profile.h"

/* Encodes p. *out is malloc'd (caller frees), *len its size. gzip selects gzip framing.
 * 0 or -errno (EINVAL when p is inconsistent, e.g. a sample with a bad location index). */
int ct_pprof_encode(const ct_profile *p, bool gzip, uint8_t **out, size_t *len);

/* Writes p gzipped to path atomically (temporary file in the same directory, fsync'd,
 * then renamed), so a reader never sees a half-written profile. 0 or -errno. */
int ct_pprof_write_file(const ct_profile *p, const char *path);

/* Decodes buf (gzip detected by its magic bytes; the gzip size is bounded to 1 GiB
 * uncompressed). On success *out is a new profile (caller frees with ct_profile_free).
 * On failure returns -EINVAL (or -ENOMEM) and fills err; *out is NULL. */
int ct_pprof_decode(const uint8_t *buf, size_t len, ct_profile **out, ct_error *err);

/* The bound ct_pprof_decode puts on a message's decompressed (or raw) size. */
#define CT_PPROF_MAX_RAW ((size_t)1 << 30)

/* ct_pprof_decode with another bound than CT_PPROF_MAX_RAW (tests, fuzzers). */
int ct_pprof_decode_limit(const uint8_t *buf, size_t len, size_t max_raw, ct_profile **out,
			  ct_error *err);

/* Reads and decodes the file at path. Same contract as ct_pprof_decode; errors from the
 * file system fill err too. */
int ct_pprof_read_file(const char *path, ct_profile **out, ct_error *err);

#endif
