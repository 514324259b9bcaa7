/*
 * idmap.c — the id → index map (see idmap.h).
 */
#include "libtrace/idmap.h"

#include <errno.h>
#include <stdlib.h>

static int alloc_slots(ct_idmap *m, size_t cap)
{
	m->ids = calloc(cap, sizeof(*m->ids));
	m->idx = malloc(cap * sizeof(*m->idx));
	m->mask = cap - 1;
	return m->ids && m->idx ? 0 : -ENOMEM;
}

int ct_idmap_init(ct_idmap *m, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	m->n = 0;
	m->sparse = false;
	return alloc_slots(m, cap);
}

void ct_idmap_free(ct_idmap *m)
{
	free(m->ids);
	free(m->idx);
	m->ids = NULL;
	m->idx = NULL;
}

/* The slot of id: its own, or the empty one where it would go. */
static size_t slot_of(const ct_idmap *m, uint64_t id)
{
	size_t i = ct_hash_u64_keyed(id) & m->mask;
	while (m->ids[i] && m->ids[i] != id)
		i = (i + 1) & m->mask;
	return i;
}

bool ct_idmap_add(ct_idmap *m, uint64_t id, uint32_t idx)
{
	if (!id)
		return false;
	size_t i = slot_of(m, id);
	if (m->ids[i])
		return false;
	m->ids[i] = id;
	m->idx[i] = idx;
	m->sparse = m->sparse || idx != m->n || id != (uint64_t)idx + 1;
	m->n++;
	return true;
}

int ct_idmap_put(ct_idmap *m, uint64_t id, uint32_t idx)
{
	if (!id)
		return -EINVAL;
	if (!m->ids || (m->n + 1) * 2 > m->mask + 1) {
		ct_idmap old = *m;
		if (alloc_slots(m, old.ids ? 2 * (old.mask + 1) : 64)) {
			ct_idmap_free(m);
			*m = old;
			return -ENOMEM;
		}
		for (size_t i = 0; old.ids && i <= old.mask; i++) {
			if (old.ids[i]) {
				size_t j = slot_of(m, old.ids[i]);
				m->ids[j] = old.ids[i];
				m->idx[j] = old.idx[i];
			}
		}
		ct_idmap_free(&old);
	}
	size_t i = slot_of(m, id);
	if (m->ids[i]) {
		m->idx[i] = idx;
		return 0;
	}
	m->ids[i] = id;
	m->idx[i] = idx;
	m->sparse = true; /* put makes no promise of density */
	m->n++;
	return 0;
}
