/*
 * perfmap.h — perf maps: the symbol files JIT compilers (Node's --perf-basic-prof, the
 * JVM with perf-map-agent, LuaJIT, .NET, ...) write for code they generate, by the
 * convention perf reads: `/tmp/perf-<pid>.map`, one line per code region,
 *
 *	START SIZE name
 *
 * START and SIZE in hex (with or without 0x), the name the rest of the line (it may hold
 * spaces: `LazyCompile:*hot /app/x.js:3`). Regions may be written again when code moves;
 * the last line for an address wins, as in perf.
 *
 * Thread-safety: a loaded map is read-only and may be shared. Not async-signal-safe.
 */
#ifndef CT_PERFMAP_H
#define CT_PERFMAP_H

#include <stddef.h>
#include <stdint.h>

#include "libtrace/error.h"

typedef struct ct_perfmap ct_perfmap;

/* Loads the perf map at path. 0, or -errno with err filled: a file that cannot be read,
 * or a malformed line (named by its line number and byte offset). */
int ct_perfmap_load(const char *path, ct_perfmap **out, ct_error *err);
void ct_perfmap_free(ct_perfmap *m);

/* The name of the region holding addr, or NULL. Valid until ct_perfmap_free. */
const char *ct_perfmap_lookup(const ct_perfmap *m, uint64_t addr);

/* How many regions the map holds. */
size_t ct_perfmap_count(const ct_perfmap *m);

#endif
