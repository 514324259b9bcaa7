/*
 * stacks.c — the lock-free stack table (design in stacks.h).
 *
 * A slot is one 64-bit word: 0 = empty, else (arena offset + 1) << 32 | depth << 24 |
 * 24-bit hash tag. The offset counts PCs in the arena (so 2^32 PCs at most). A stack's
 * PCs are written to the arena first and the slot is published by CAS with release order;
 * a reader loads the slot with acquire order and then reads the PCs. A slot never changes
 * after it is published, which is what makes ids stable.
 */
#include "libtrace/stacks.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

struct ct_stacks {
	size_t nslots; /* power of two */
	size_t arena_cap;
	_Atomic uint64_t arena_used;
	_Atomic uint64_t stacks;
	_Atomic uint64_t full;
	_Atomic uint64_t lost_races;
	_Atomic uint64_t *slots;
	uintptr_t *arena;
	size_t map_size;
};

static uint64_t hash_pcs(const uintptr_t *pcs, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint64_t)pcs[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return h;
}

ct_stacks *ct_stacks_create(size_t slots, size_t arena_pcs)
{
	size_t n = 64;
	while (n < slots)
		n <<= 1;
	if (n > (1u << 30) || arena_pcs >= (1ull << 32) - 1) {
		errno = EINVAL;
		return NULL;
	}
	size_t hdr = (sizeof(struct ct_stacks) + 63) & ~(size_t)63;
	size_t total = hdr + n * sizeof(uint64_t) + arena_pcs * sizeof(uintptr_t);
	void *m = mmap(NULL, total, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	struct ct_stacks *t = m;
	t->nslots = n;
	t->arena_cap = arena_pcs;
	t->slots = (_Atomic uint64_t *)((char *)m + hdr);
	t->arena = (uintptr_t *)((char *)m + hdr + n * sizeof(uint64_t));
	t->map_size = total;
	return t;
}

void ct_stacks_destroy(ct_stacks *t)
{
	if (t)
		munmap(t, t->map_size);
}

static int slot_depth(uint64_t s)
{
	return (int)((s >> 24) & 0xff);
}
static const uintptr_t *slot_pcs(const ct_stacks *t, uint64_t s)
{
	return t->arena + ((s >> 32) - 1);
}

static int slot_matches(const ct_stacks *t, uint64_t s, uint32_t tag, const uintptr_t *pcs,
			size_t n)
{
	return (s & 0xffffff) == tag && (size_t)slot_depth(s) == n &&
	       (n == 0 || memcmp(slot_pcs(t, s), pcs, n * sizeof(uintptr_t)) == 0);
}

uint32_t ct_stacks_intern(ct_stacks *t, const uintptr_t *pcs, size_t n)
{
	if (n > CT_STACK_MAX_DEPTH)
		n = CT_STACK_MAX_DEPTH;
	uint64_t h = hash_pcs(pcs, n);
	uint32_t tag = (uint32_t)(h & 0xffffff);
	uint64_t mine = 0; /* our published slot word, once our PCs sit in the arena */
	size_t mask = t->nslots - 1;
	size_t i = (size_t)(h >> 24) & mask;
	for (size_t probes = 0; probes < t->nslots; probes++, i = (i + 1) & mask) {
		uint64_t s = atomic_load_explicit(&t->slots[i], memory_order_acquire);
		if (s == 0) {
			if (!mine) {
				/* CAS, not fetch_add: a stack that does not fit must not use up
				 * the room smaller stacks could still have. */
				uint64_t off =
					atomic_load_explicit(&t->arena_used, memory_order_relaxed);
				do {
					if (off + n > t->arena_cap) {
						atomic_fetch_add_explicit(&t->full, 1,
									  memory_order_relaxed);
						return 0;
					}
				} while (!atomic_compare_exchange_weak_explicit(
					&t->arena_used, &off, off + n, memory_order_relaxed,
					memory_order_relaxed));
				if (n)
					memcpy(t->arena + off, pcs, n * sizeof(uintptr_t));
				mine = (off + 1) << 32 | (uint64_t)n << 24 | tag;
			}
			/* Release: our PCs are visible to whoever acquires the slot. On failure
			 * acquire the winner's slot word so its PCs can be compared. */
			if (atomic_compare_exchange_strong_explicit(&t->slots[i], &s, mine,
								    memory_order_release,
								    memory_order_acquire)) {
				atomic_fetch_add_explicit(&t->stacks, 1, memory_order_relaxed);
				return (uint32_t)i + 1;
			}
		}
		if (slot_matches(t, s, tag, pcs, n)) {
			if (mine)
				atomic_fetch_add_explicit(&t->lost_races, n, memory_order_relaxed);
			return (uint32_t)i + 1;
		}
	}
	atomic_fetch_add_explicit(&t->full, 1, memory_order_relaxed);
	return 0;
}

int ct_stacks_get(const ct_stacks *t, uint32_t id, const uintptr_t **pcs)
{
	if (id == 0 || id > t->nslots)
		return -1;
	uint64_t s =
		atomic_load_explicit(&((struct ct_stacks *)t)->slots[id - 1], memory_order_acquire);
	if (s == 0)
		return -1;
	*pcs = slot_pcs(t, s);
	return slot_depth(s);
}

void ct_stacks_get_stats(const ct_stacks *t, ct_stacks_stats *st)
{
	struct ct_stacks *tt = (struct ct_stacks *)t;
	st->stacks = atomic_load_explicit(&tt->stacks, memory_order_relaxed);
	st->full = atomic_load_explicit(&tt->full, memory_order_relaxed);
	st->lost_races = atomic_load_explicit(&tt->lost_races, memory_order_relaxed);
	st->slots = t->nslots;
}

void ct_stacks_foreach(const ct_stacks *t,
		       void (*fn)(uint32_t id, const uintptr_t *pcs, int depth, void *arg),
		       void *arg)
{
	for (size_t i = 0; i < t->nslots; i++) {
		uint64_t s = atomic_load_explicit(&((struct ct_stacks *)t)->slots[i],
						  memory_order_acquire);
		if (s)
			fn((uint32_t)i + 1, slot_pcs(t, s), slot_depth(s), arg);
	}
}
