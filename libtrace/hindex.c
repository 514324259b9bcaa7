/*
 * hindex.c — the hash index (see hindex.h).
 */
#include "libtrace/hindex.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

enum { TABLE_MIN = 64 }; /* first number of slots */

static int grow(ct_hindex *t)
{
	size_t ncap = t->cap ? t->cap * 2 : TABLE_MIN;
	ct_hindex_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].idx1)
			continue;
		size_t j = t->slots[i].hash & (ncap - 1);
		while (ns[j].idx1)
			j = (j + 1) & (ncap - 1);
		ns[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

int ct_hindex_reserve(ct_hindex *t)
{
	return (t->count + 1) * 2 > t->cap ? grow(t) : 0;
}

int ct_hindex_insert(ct_hindex *t, uint32_t hash, uint32_t idx)
{
	if (ct_hindex_reserve(t))
		return -ENOMEM;
	size_t i = ct_hindex_home(t, hash);
	while (t->slots[i].idx1)
		i = ct_hindex_next(t, i);
	ct_hindex_fill(t, i, hash, idx);
	return 0;
}

/* Backward-shift deletion: each later entry of the probe run moves back into the hole
 * unless its home slot lies cyclically after the hole (then moving it would put it before
 * its home, where lookups never look). */
void ct_hindex_remove(ct_hindex *t, uint32_t hash, uint32_t idx)
{
	if (!t->cap)
		return;
	size_t mask = t->cap - 1, i = hash & mask;
	while (t->slots[i].idx1 != idx + 1) {
		if (!t->slots[i].idx1)
			return;
		i = (i + 1) & mask;
	}
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!t->slots[j].idx1)
			break;
		size_t home = t->slots[j].hash & mask;
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].idx1 = 0;
	t->count--;
}

void ct_hindex_free(ct_hindex *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->count = 0;
}
