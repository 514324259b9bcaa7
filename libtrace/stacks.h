/*
 * stacks.h — the stack table: interns call stacks (arrays of PCs) into small stable ids.
 *
 * Hot records carry a 32-bit stack id instead of frames. Interning is lock-free and
 * allocation-free, so hooks and signal handlers may intern (async-signal-safe): a stack's
 * PCs are appended to a bump-allocated arena, then published into an open-addressing slot
 * with one compare-and-swap. Slots only ever go from empty to full, and every inserter of
 * the same stack probes the same sequence, so the same stack always gets the same id, even
 * under concurrent inserts (a lost race only wastes the loser's arena bytes, counted).
 * The table is bounded (slots and arena fixed at creation, memory from mmap); when full,
 * interning returns 0 and counts the miss. Ids are 1-based; 0 means "no stack".
 */
#ifndef CT_STACKS_H
#define CT_STACKS_H

#include <stddef.h>
#include <stdint.h>

#define CT_STACK_MAX_DEPTH 255

/* A word a stack may end with that is no frame: the agent's label-set mark (agent/ann.h),
 * a non-canonical address no code has. Readers of a stack's frames drop it. */
#define CT_STACK_MARK 0xc7a1000000000000ull
#define CT_STACK_MARK_MASK 0xffff000000000000ull

typedef struct ct_stacks ct_stacks;

/* A table with room for `slots` distinct stacks (rounded up to a power of two) and
 * `arena_pcs` PCs in total. NULL with errno on failure. */
ct_stacks *ct_stacks_create(size_t slots, size_t arena_pcs);
void ct_stacks_destroy(ct_stacks *t);

/* Interns pcs[0..n) (n is clamped to CT_STACK_MAX_DEPTH; n == 0 is a valid empty stack).
 * Returns the id (>= 1), or 0 when the table or arena is full (counted).
 * Lock-free, async-signal-safe. */
uint32_t ct_stacks_intern(ct_stacks *t, const uintptr_t *pcs, size_t n);

/* The stack with this id: returns its depth and points *pcs at its frames, or -1 if the id
 * is unknown. Safe concurrently with interning (acquire order on the slot). */
int ct_stacks_get(const ct_stacks *t, uint32_t id, const uintptr_t **pcs);

typedef struct {
	uint64_t stacks;     /* distinct stacks interned */
	uint64_t full;	     /* interns refused: table or arena full */
	uint64_t lost_races; /* arena bytes wasted by lost insert races, in PCs */
	size_t slots;
} ct_stacks_stats;
void ct_stacks_get_stats(const ct_stacks *t, ct_stacks_stats *st);

/* Calls fn for every interned stack (in slot order). Not for concurrent use with intern
 * when exact results matter: stacks added meanwhile may or may not be seen. */
void ct_stacks_foreach(const ct_stacks *t,
		       void (*fn)(uint32_t id, const uintptr_t *pcs, int depth, void *arg),
		       void *arg);

#endif
