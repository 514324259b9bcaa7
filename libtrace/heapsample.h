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
 * An open-addressing set of block addresses (linear probing, at most CT_HEAP_PROBES probes)
 * with a 64-bit value per address. Slots go EMPTY → address → TOMBSTONE → address ...;
 * a removed slot becomes a tombstone that later inserts reuse, so a lookup stops at the
 * first EMPTY slot or after CT_HEAP_PROBES probes. Every operation is a few atomics on
 * the slots it probes: no lock, async-signal-safe, and callable from any thread.
 *
 * Contract: an address is inserted at most once while it is in the table (the caller
 * removes a block before handing it back to the allocator, so the allocator cannot return
 * it again before that), and only the thread that frees a block removes it — the program's
 * own synchronisation orders the insert before the remove.
 *
 * The filter holds, per home slot, how many addresses in the table hash there (saturating
 * at 255, after which that bucket always answers "maybe"). */
#define CT_HEAP_PROBES 128

typedef struct {
	_Atomic uintptr_t key; /* 0 = empty, 1 = tombstone, else the block's address */
	_Atomic uint64_t val;
} ct_heap_slot;

typedef struct {
	ct_heap_slot *slots;
	_Atomic uint8_t *filter; /* one counter per slot */
	unsigned bits;		 /* log2 of the number of slots */
	/* Counters on their own cache line, away from the fields every free reads. */
	_Alignas(64) _Atomic uint64_t live; /* addresses in the table */
	_Atomic uint64_t full; /* inserts refused: no free slot within CT_HEAP_PROBES */
} ct_heap_table;

/* Bytes of zeroed memory a table of 2^bits slots needs. */
size_t ct_heap_table_bytes(unsigned bits);

/* Lays a table of 2^bits slots (4 <= bits <= 32) over mem, which must be zeroed,
 * ct_heap_table_bytes(bits) long and 16-byte aligned. 0 or -EINVAL. */
int ct_heap_table_init(ct_heap_table *t, void *mem, unsigned bits);

static inline uint64_t ct_heap_table_hash(uintptr_t addr)
{
	return ((uint64_t)addr >> 4) * 0x9E3779B97F4A7C15ULL;
}

/* Cheap pre-check for the free fast path: false means addr is certainly not in the table.
 * One relaxed byte load: a stale answer is impossible for the block being freed because
 * its insert happened-before its free (see the contract above). */
static inline bool ct_heap_table_maybe(const ct_heap_table *t, uintptr_t addr)
{
	uint64_t h = ct_heap_table_hash(addr) >> (64 - t->bits);
	return atomic_load_explicit(&t->filter[h], memory_order_relaxed) != 0;
}

/* Adds addr (>= 2) with its value. 0, or -ENOSPC when no slot is free within
 * CT_HEAP_PROBES probes (counted in t->full). */
int ct_heap_table_insert(ct_heap_table *t, uintptr_t addr, uint64_t val);

/* Removes addr; returns true and sets *val when it was there. */
bool ct_heap_table_remove(ct_heap_table *t, uintptr_t addr, uint64_t *val);

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
