/*
 * symbolize.h — turning the addresses of a pprof profile into names, outside the target.
 *
 * The agent writes profiles whose locations carry only a runtime address and a mapping
 * (module path, memory range, file offset, GNU build id). The symbolizer opens each module
 * with libdw, checks that the file on disk is the one that ran (same build id), and gives
 * every location its function names (demangled and mangled), source file and line, with
 * one line per inlined frame (innermost first). Modules without DWARF fall back to their
 * ELF symbol tables (.symtab, then .dynsym); code that no symbol covers (a stripped
 * library's unexported functions) becomes one frame per module, "[libx.so]". Modules that
 * are missing or changed get "module+0xOFFSET" names, with one warning line per module.
 * C++ and Rust names are demangled; JIT code is named from perf maps.
 *
 * A ct_symbolizer keeps its opened modules and resolved addresses between profiles, so that
 * the profiles of one run (cpu, heap, mutex, block) share the work and each module is
 * warned about once. ct_symbolize_profile is the one-shot form.
 *
 * Thread-safety: none; one symbolizer is used by one thread at a time. Not for the agent:
 * this module links libdw and must never be loaded into a profiled program.
 */
#ifndef CT_SYMBOLIZE_H
#define CT_SYMBOLIZE_H

#include <stdbool.h>
#include <stdio.h>

#include "libtrace/error.h"
#include "libtrace/profile.h"

typedef struct ct_symbolizer ct_symbolizer;

/* A new symbolizer, or NULL when out of memory. Warnings go to warn (may be NULL).
 * Raises the process's soft RLIMIT_NOFILE to its hard limit: each module opened keeps a
 * descriptor or two until ct_symbolizer_free. */
ct_symbolizer *ct_symbolizer_new(FILE *warn);
void ct_symbolizer_free(ct_symbolizer *s);

/* Gives a name to every location of p that has a mapping and an address but no lines,
 * and sets the has_* flags of the mappings that were symbolized. Locations that already
 * have lines are left alone. Problems with modules (missing, changed, not ELF) are
 * warnings, not errors. Returns 0, or -ENOMEM (err filled) when memory ran out; p then
 * stays valid but may be partly symbolized. */
int ct_symbolizer_run(ct_symbolizer *s, ct_profile *p, ct_error *err);

/* Where JIT code's names are looked for: a location in an anonymous mapping (no file
 * name, "//anon" or "[anon...]") is named from the perf map its process wrote
 * (perfmap.h), dir/perf-PID.map first (the profile's output directory, where the agent
 * copies it; NULL for none), then /tmp/perf-PID.map. pid 0 takes the pid from
 * dir/summary.txt. Applies to the following ct_symbolizer_run calls; without a call, no
 * perf map is used. 0 or -ENOMEM. */
int ct_symbolizer_set_perf_map(ct_symbolizer *s, const char *dir, long pid);

/* One-shot: a symbolizer for just p, warnings to warn (may be NULL). */
int ct_symbolize_profile(ct_profile *p, FILE *warn, ct_error *err);

/* Whether p has a location with a mapping and an address but no lines. */
bool ct_profile_needs_symbols(const ct_profile *p);

#endif
