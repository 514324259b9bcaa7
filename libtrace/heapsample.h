/*
 * heapsample.h — the arithmetic and the address table behind heap sampling.
 *
 * The agent samples allocations by bytes, like tcmalloc and Go: every thread counts down a
 * number of bytes drawn from an exponential distribution with mean `rate`, and the
 * allocation that takes the count below zero is sampled. Because the draw is memoryless,
 * a block of s bytes is sampled with probability 1 - exp(-s/rate) whatever came before it,
 * which is what lets a profile writer scale sampled counts back up (ct_heap_unsample,
 * Go's formula).
 *
 * This module holds the parts that are pure logic, so that they can be unit-tested
 * outside the agent:
 *   - the per-thread draw: an xorshift64* generator and a natural logarithm that needs no
 *     libm (the agent does not link it) — allocation-free and async-signal-safe;
 *   - ct_heap_exp and the unsampling formula, used when profiles are written;
 *   - ct_heap_table, the lock-free set in which the hooks remember sampled blocks so that
 *     their frees are matched without a global lock, fronted by a filter of per-bucket
 *     counters so that the free of an unsampled block costs one byte load.
 */
#ifndef CT_HEAPSAMPLE_H
#define CT_HEAPSAMPLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the sampler ---- */

/* A nonzero generator state derived from any entropy (splitmix64 finaliser). */
uint64_t ct_heap_seed(uint64_t entropy);

/* Next value of the xorshift64* generator; *state must be nonzero and stays nonzero. */
static inline uint64_t ct_heap_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Bytes to allocate before the next sample: exponentially distributed with mean rate,
 * clamped to [0, 2^62]. For rate <= 1 it returns -1, which samples every allocation
 * (a countdown that is already negative crosses zero on every subtraction).
 * Allocation-free and async-signal-safe. */
int64_t ct_heap_next_sample(uint64_t *state, uint64_t rate);

/* Natural logarithm of x > 0 and e^x, to ~1e-9 relative error, without libm. */
double ct_heap_log(double x);
double ct_heap_exp(double x);

/* Go's runtime/pprof scaleHeapSample: the sampled objects and bytes of one stack, whose
 * blocks average avg = bytes/count, stand for count/p and bytes/p with
 * p = 1 - exp(-avg/rate). rate <= 1 means every allocation was sampled (no scaling). */
void ct_heap_unsample(int64_t count, int64_t bytes, uint64_t rate, int64_t *count_out,
		      int64_t *bytes_out);

/* The expected number of bytes one sampled block of size bytes stands for:
 * size / (1 - exp(-size/rate)), or size when rate <= 1. */
double ct_heap_weight(uint64_t size, uint64_t rate);

/* ---- the table of sampled blocks ----
 *
 * An open-addressing set of block addresses (linear probing) with a 64-bit value per
 * address. Slots go EMPTY → address → TOMBSTONE → address ...; a removed slot becomes a
 * tombstone that later inserts reuse. Every operation is a few atomics on the slots it
 * probes: no lock, async-signal-safe, and callable from any thread.
 *
 * The table grows without moving anything: it is up to CT_HEAP_LEVELS levels, each four
 * times the size of the one before, laid out in one zeroed region that the caller maps
 * once (the whole region is address space; pages are touched only as levels fill).
 * Inserts go to the current top level; an insert that finds no free slot within
 * CT_HEAP_GROW_PROBES probes there moves the top up one level and inserts there, so a
 * level is left before it is crowded, and the last level alone probes up to
 * CT_HEAP_PROBES. Blocks stay in the level they were inserted in; a lookup tries the
 * levels from the top down (lower levels empty out as their blocks are freed). Starting
 * small matters: a program with a few thousand live blocks keeps its table in cache and
 * never faults in the megabytes a large live heap would need.
 *
 * Contract: an address is inserted at most once while it is in the table (the caller
 * removes a block before handing it back to the allocator, so the allocator cannot return
 * it again before that), and only the thread that frees a block removes it — the program's
 * own synchronisation orders the insert before the remove. That same ordering makes every
 * relaxed load below sufficient for the block being freed: the freeing thread sees the
 * top level, filter counter and slot its insert wrote (read-read coherence).
 *
 * Each level's filter holds, per home slot, how many addresses in that level hash there
 * (saturating at 255, after which that bucket always answers "maybe"); a lookup skips a
 * level whose counter is zero. */
#define CT_HEAP_PROBES 128
#define CT_HEAP_GROW_PROBES 16
#define CT_HEAP_LEVELS 6
/* The first level is never smaller than this (4096 slots, 68 KiB): its filter is what the
 * free of every unsampled block reads, and a small one answers "maybe" too often. */
#define CT_HEAP_MIN_LEVEL_BITS 12

typedef struct {
	_Atomic uintptr_t key; /* 0 = empty, 1 = tombstone, else the block's address */
	_Atomic uint64_t val;
} ct_heap_slot;

typedef struct {
	ct_heap_slot *slots;
	_Atomic uint8_t *filter; /* one counter per slot */
	unsigned bits;		 /* log2 of the number of slots */
	unsigned probes;	 /* the most probes an insert or lookup makes here */
} ct_heap_level;

typedef struct {
	ct_heap_level level[CT_HEAP_LEVELS]; /* smallest first */
	unsigned nlevels;
	_Atomic unsigned top; /* the level inserts go to; only grows */
	/* On its own cache line, away from the fields every free reads. */
	_Alignas(64) _Atomic uint64_t full; /* inserts refused: no free slot anywhere */
} ct_heap_table;

/* Bytes of zeroed memory a table whose largest level has 2^bits slots needs. */
size_t ct_heap_table_bytes(unsigned bits);

/* Lays a table whose largest level has 2^bits slots (4 <= bits <= 32) over mem, which
 * must be zeroed, ct_heap_table_bytes(bits) long and 16-byte aligned. The levels have
 * 2^(bits-10), 2^(bits-8), ..., 2^bits slots, none below 2^CT_HEAP_MIN_LEVEL_BITS (so
 * fewer levels when bits < 22, one when bits <= 13). 0 or -EINVAL. */
int ct_heap_table_init(ct_heap_table *t, void *mem, unsigned bits);

static inline uint64_t ct_heap_table_hash(uintptr_t addr)
{
	return ((uint64_t)addr >> 4) * 0x9E3779B97F4A7C15ULL;
}

/* Cheap pre-check for the free fast path: false means addr is certainly not in the table.
 * One filter byte of the first level, then the top level's number and, only if the table
 * has grown, one filter byte per further level, all relaxed loads. Hot, allocation-free. */
static inline bool ct_heap_table_maybe(const ct_heap_table *t, uintptr_t addr)
{
	uint64_t h = ct_heap_table_hash(addr);
	const ct_heap_level *l = &t->level[0];
	if (atomic_load_explicit(&l->filter[h >> (64 - l->bits)], memory_order_relaxed))
		return true;
	unsigned top = atomic_load_explicit(&((ct_heap_table *)t)->top, memory_order_relaxed);
	for (unsigned i = 1; i <= top; i++) {
		l = &t->level[i];
		if (atomic_load_explicit(&l->filter[h >> (64 - l->bits)], memory_order_relaxed))
			return true;
	}
	return false;
}

/* Adds addr (>= 2) with its value. 0, or -ENOSPC when no level has room (counted in
 * t->full). */
int ct_heap_table_insert(ct_heap_table *t, uintptr_t addr, uint64_t val);

/* Removes addr; returns true and sets *val when it was there. */
bool ct_heap_table_remove(ct_heap_table *t, uintptr_t addr, uint64_t *val);

/* The level inserts currently go to (0 = the smallest). */
static inline unsigned ct_heap_table_top(const ct_heap_table *t)
{
	return atomic_load_explicit(&((ct_heap_table *)t)->top, memory_order_relaxed);
}

/* Values in the table pack a block's size (low 40 bits, saturated) and the stack id of
 * its allocation (high 24 bits). */
#define CT_HEAP_SIZE_BITS 40
static inline uint64_t ct_heap_pack(uint32_t stack, uint64_t size)
{
	uint64_t max = (1ULL << CT_HEAP_SIZE_BITS) - 1;
	return ((uint64_t)stack << CT_HEAP_SIZE_BITS) | (size < max ? size : max);
}
static inline uint32_t ct_heap_unpack_stack(uint64_t val)
{
	return (uint32_t)(val >> CT_HEAP_SIZE_BITS);
}
static inline uint64_t ct_heap_unpack_size(uint64_t val)
{
	return val & ((1ULL << CT_HEAP_SIZE_BITS) - 1);
}

#endif
