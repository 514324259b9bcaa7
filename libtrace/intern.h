/*
 * intern.h — the one string interner of libtrace: every distinct string kept once, with a
 * stable pointer and a dense index.
 *
 * Strings get indexes 0, 1, 2, ... in the order they were first added, and equal strings
 * give the same index and the same pointer, so interned strings compare by pointer. That
 * serves both kinds of users: the in-memory models (profile, report tree, symbolizer),
 * which want one copy per string and pointer equality, and the pprof writer, which wants a
 * string table (index by content).
 *
 * Storage: an owning interner copies each new string into chunks of its own (freed all at
 * once by ct_intern_free); a borrowing one (ct_intern_init(t, false)) keeps the caller's
 * pointers, which must then outlive it. The lookup table (hindex.h) is open addressing with linear
 * probing, at most half full, keyed by a 32-bit hash kept in the slot so that growing
 * never rehashes a string.
 *
 * Errors: every adding function fails only on ENOMEM, and then leaves the interner as it
 * was. Thread-safety: none; one interner is used by one thread at a time.
 */
#ifndef CT_INTERN_H
#define CT_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/hindex.h"

struct ct_intern_chunk;

typedef struct {
	ct_hindex index;   /* string hash -> index */
	const char **strs; /* the strings by index */
	size_t n, strs_cap;
	struct ct_intern_chunk *chunks; /* copies; head is the one being filled */
	size_t used;			/* bytes used in the head chunk */
	bool copy;			/* owning (copies) or borrowing */
} ct_intern;

/* An empty interner; copy selects owning (true) or borrowing (false). Allocates nothing. */
void ct_intern_init(ct_intern *t, bool copy);

/* Frees the table and, for an owning interner, every copy. t may then be initialized
 * again. */
void ct_intern_free(ct_intern *t);

/* The index of s (NULL counts as ""), added when new. -ENOMEM on failure. */
int64_t ct_intern_index(ct_intern *t, const char *s);

/* The interned pointer for s (NULL counts as ""), added when new; NULL on ENOMEM. */
const char *ct_intern_str(ct_intern *t, const char *s);

/* The string of index i (< t->n). */
static inline const char *ct_intern_at(const ct_intern *t, size_t i)
{
	return t->strs[i];
}

/* The 64-bit hash the interner uses for strings (FNV-1a from a state keyed by
 * ct_hash_seed, then mixed so that every bit depends on every input byte): the strings of
 * a profile or trace are the file's to choose, and unkeyed, a hostile file could pick
 * thousands that share one probe run. *len gets the string's length when len is not NULL.
 * Other libtrace tables keyed by strings use it too. Its values differ between processes:
 * never stored. */
uint64_t ct_hash_str(const char *s, size_t *len);

/* A cheap bijective mix of a 64-bit value (splitmix64's finalizer), for hash tables keyed
 * by integers or pointers. */
static inline uint64_t ct_hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* A per-process random value (set when libtrace loads) for tables keyed by values a file
 * chooses — a profile's ids, a trace's task ids: ct_hash_u64 is a fixed bijection, so a
 * hostile file could pick keys that all land in one probe run and make reading it
 * quadratic (a 784 KB profile took minutes). */
extern uint64_t ct_hash_seed;

/* ct_hash_u64 of x under ct_hash_seed: for keys read from a file. */
static inline uint64_t ct_hash_u64_keyed(uint64_t x)
{
	return ct_hash_u64(x ^ ct_hash_seed);
}

#endif
