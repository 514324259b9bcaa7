/*
 * hindex.h — the hash index under libtrace's interning tables: open addressing with linear
 * probing from a 32-bit hash to an index into the caller's own array, kept at most half
 * full. A slot holds the hash and index + 1 (0 = empty), so growing never recomputes a
 * hash and the caller compares keys only where the hashes match.
 *
 * Looking up is the caller's loop, since only it can compare keys:
 *
 *	for (size_t i = ct_hindex_home(t, h); t->slots[i].idx1; i = ct_hindex_next(t, i))
 *		if (t->slots[i].hash == h && equal(array[t->slots[i].idx1 - 1], key))
 *			return t->slots[i].idx1 - 1;
 *
 * (valid once t->cap > 0: after ct_hindex_reserve or a first insert). Removal is
 * backward-shift deletion, so there are no tombstones.
 *
 * Thread-safety: none. Not async-signal-safe.
 */
#ifndef CT_HINDEX_H
#define CT_HINDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t hash; /* low bits of the key's hash */
	uint32_t idx1; /* index + 1; 0 = empty slot */
} ct_hindex_slot;

typedef struct {
	ct_hindex_slot *slots;
	size_t cap, count; /* cap is a power of two, 0 before first use */
} ct_hindex;

/* Makes room for one more entry (the table then has slots). 0 or -ENOMEM. */
int ct_hindex_reserve(ct_hindex *t);

/* Inserts idx under hash (duplicates allowed). 0 or -ENOMEM. */
int ct_hindex_insert(ct_hindex *t, uint32_t hash, uint32_t idx);

/* Puts idx into empty slot i, found by a caller's probe after ct_hindex_reserve. */
static inline void ct_hindex_fill(ct_hindex *t, size_t i, uint32_t hash, uint32_t idx)
{
	t->slots[i] = (ct_hindex_slot){hash, idx + 1};
	t->count++;
}

/* Removes the entry for idx inserted under hash; nothing when absent. */
void ct_hindex_remove(ct_hindex *t, uint32_t hash, uint32_t idx);

void ct_hindex_free(ct_hindex *t);

static inline size_t ct_hindex_home(const ct_hindex *t, uint32_t hash)
{
	return hash & (t->cap - 1);
}

static inline size_t ct_hindex_next(const ct_hindex *t, size_t i)
{
	return (i + 1) & (t->cap - 1);
}

#endif
