/*
 * legacytext.h — a profile as the text Go's net/http/pprof serves for `?debug=1`, in the
 * legacy formats `go tool pprof` still parses: the heap profile's ("heap profile: N: B
 * [N: B] @ heap/1", then one "inuse: bytes [alloc: bytes] @ 0x..." record per stack), the
 * contention profile's for block and mutex ("--- contention:" / "--- mutex:",
 * cycles/second, then "delay count @ 0x..." records, delays in nanoseconds with
 * cycles/second=1000000000), and the count profile's for the others ("NAME profile: total
 * N", then "count @ 0x..."). After each record, one "#\t0xADDR\tfunction\tfile:line" line
 * per frame, as Go prints them, for people.
 *
 * Values are written as the profile holds them (ctrace's heap values are already scaled
 * up from the samples: "heap/1" says so, so that no reader scales them again).
 *
 * Thread-safety: a pure function of its arguments.
 */
#ifndef CT_LEGACYTEXT_H
#define CT_LEGACYTEXT_H

#include <stddef.h>

#include "libtrace/profile.h"

typedef void (*ct_text_sink)(void *arg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes p as the legacy text of the profile called name ("heap", "allocs", "block",
 * "mutex", or any other for the count form) through out. */
void ct_legacy_text(const ct_profile *p, const char *name, ct_text_sink out, void *arg);

#endif
