/*
 * elfsym.h — function names from an ELF file's symbol tables (.symtab and .dynsym), for
 * the agent, which must name the frames of the profiles it serves live without loading
 * libdw into the target (DESIGN.md: symbolization with libdw happens outside).
 *
 * A table is read once per module (the caller caches it) and answers "which function
 * holds this file offset" — the offset is what a pprof mapping gives for an address
 * (address - memory_start + file_offset); the PT_LOAD headers turn it into the
 * link-time address the symbols use. No inlined frames, no lines, names as the symbol
 * table spells them (C++ names stay mangled).
 *
 * Thread-safety: a table is immutable once loaded; lookups may run on any thread. The
 * loaders allocate (not async-signal-safe) and validate every offset and size against
 * the file, so a corrupt or truncated file gives an error, never a read past it.
 */
#ifndef CT_ELFSYM_H
#define CT_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

typedef struct ct_elfsym ct_elfsym;

/* Reads the function symbols of the ELF file at path. 0 with *out set (possibly a table
 * without symbols: a stripped file), or -errno (-EINVAL: not a valid 64-bit ELF file). */
int ct_elfsym_open(const char *path, ct_elfsym **out);

/* The same from an image of the file in memory (copied). */
int ct_elfsym_load(const uint8_t *buf, size_t len, ct_elfsym **out);

void ct_elfsym_free(ct_elfsym *s);

/* Number of function symbols kept. */
size_t ct_elfsym_count(const ct_elfsym *s);

/* The function whose [value, value + size) holds the byte at file offset off (a symbol of
 * size 0 holds everything up to the next symbol), or NULL. *start receives the
 * function's start as a file offset when start is not NULL. The name lives as long as s. */
const char *ct_elfsym_lookup(const ct_elfsym *s, uint64_t off, uint64_t *start);

#endif
