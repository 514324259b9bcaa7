/*
 * idmap.h — a map from nonzero 64-bit ids (or any 64-bit keys) to 32-bit array indexes.
 *
 * Open addressing with linear probing, at most half full. Two ways to fill it:
 *   - sized once (ct_idmap_init with the number of ids to come) and added to with
 *     ct_idmap_add, which refuses duplicates — how the pprof reader and writer prove ids
 *     unique and resolve references. While every id added is its index + 1 (as ctrace
 *     and Go write them) a lookup is a subtraction;
 *   - grown on demand with ct_idmap_put (a zeroed ct_idmap is an empty map), which
 *     replaces the value of a key already present — how the symbolizer caches.
 * Key 0 is never stored (it marks empty slots): ct_idmap_add refuses it, ct_idmap_get
 * never finds it.
 *
 * Thread-safety: none. Not async-signal-safe.
 */
#ifndef CT_IDMAP_H
#define CT_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/intern.h"

typedef struct {
	uint64_t *ids; /* 0 = empty slot */
	uint32_t *idx;
	size_t mask; /* slots - 1; 0 with no slots */
	size_t n;    /* ids added */
	bool sparse; /* some id added was not its index + 1, or came out of order */
} ct_idmap;

/* A map with room for n ids. 0 or -ENOMEM (the map can then still be freed). */
int ct_idmap_init(ct_idmap *m, size_t n);
void ct_idmap_free(ct_idmap *m);

/* Adds id -> idx into a map sized by ct_idmap_init for at least as many ids; false when
 * id is 0 or already present. */
bool ct_idmap_add(ct_idmap *m, uint64_t id, uint32_t idx);

/* Sets id -> idx, growing the map as needed. 0, -EINVAL for id 0, or -ENOMEM. */
int ct_idmap_put(ct_idmap *m, uint64_t id, uint32_t idx);

/* The index stored for id, or UINT32_MAX. */
static inline uint32_t ct_idmap_get(const ct_idmap *m, uint64_t id)
{
	if (!m->sparse)
		return id - 1 < m->n ? (uint32_t)(id - 1) : UINT32_MAX;
	if (!id || !m->ids)
		return UINT32_MAX;
	for (size_t i = ct_hash_u64_keyed(id) & m->mask; m->ids[i]; i = (i + 1) & m->mask) {
		if (m->ids[i] == id)
			return m->idx[i];
	}
	return UINT32_MAX;
}

#endif
