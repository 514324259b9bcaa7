/*
 * ring.h — lock-free multi-producer, single-consumer event rings, one per CPU.
 *
 * Every event the agent records (a sample, an allocation, a contended lock) is one
 * variable-size record appended to the ring of the CPU the producer runs on. Producers
 * are hooks on any thread and signal handlers that may interrupt a producer mid-record on
 * the same thread; the consumer is the collector thread.
 *
 * Protocol: reserve (CAS on the ring's head; the space between head and the consumer's
 * tail is never handed out twice) → fill → commit (a release store of the record's length
 * word with the commit bit). The consumer reads from its tail and stops at the first
 * uncommitted record, so it sees records in reservation order and never a torn one; after
 * consuming it zeroes the length words and releases the tail. A record that does not fit
 * is dropped and counted: a producer never blocks and never overwrites unread data.
 * A record never wraps: when it does not fit before the end of the buffer, a padding
 * record fills the rest and the record starts at offset 0.
 *
 * Async-signal-safety: ct_ring_reserve, ct_ring_commit and ct_ringset_reserve are
 * async-signal-safe and allocation-free (hot path). Creation and destruction are not.
 * Memory comes from mmap, never from the program's malloc.
 */
#ifndef CT_RING_H
#define CT_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Header at the start of every record; payload follows, the whole rounded up to 8. */
typedef struct {
	_Atomic uint32_t len; /* total record bytes | CT_RING_COMMITTED once published */
	uint16_t type;	      /* producer-defined; CT_REC_PAD is reserved */
	uint16_t flags;	      /* producer-defined */
	uint32_t tid;	      /* thread that produced it */
	uint32_t cpu;	      /* ring (CPU) it was written to */
	uint64_t time;	      /* ct_now() at production */
} ct_rec;

#define CT_RING_COMMITTED 0x80000000u
#define CT_REC_PAD 0xffff
#define CT_RING_MAX_RECORD (1u << 20) /* larger payloads are refused with -EMSGSIZE */

typedef struct ct_ring ct_ring;

/* A ring of capacity bytes (a power of two, >= 4096). NULL with errno on failure. */
ct_ring *ct_ring_create(size_t capacity);
void ct_ring_destroy(ct_ring *r);

/* Reserves a record with payload_len bytes of payload and fills its type (flags, tid,
 * cpu and time are zeroed for the caller to set). Returns the record, or NULL when the
 * ring is full or the record too large (the drop is counted). Async-signal-safe. */
ct_rec *ct_ring_reserve(ct_ring *r, uint16_t type, uint32_t payload_len);

/* Publishes a reserved record (release order: its payload is visible before it is). */
void ct_ring_commit(ct_ring *r, ct_rec *rec);

static inline void *ct_rec_payload(ct_rec *rec)
{
	return rec + 1;
}
static inline const void *ct_rec_cpayload(const ct_rec *rec)
{
	return rec + 1;
}
static inline uint32_t ct_rec_payload_len(const ct_rec *rec)
{
	return (atomic_load_explicit(&((ct_rec *)rec)->len, memory_order_relaxed) &
		~CT_RING_COMMITTED) -
	       (uint32_t)sizeof(ct_rec);
}

/* Consumer: calls fn for each committed record in order, at most max records, then
 * frees their space. Returns the number consumed. Only one thread may consume a ring. */
typedef void (*ct_ring_fn)(const ct_rec *rec, void *arg);
size_t ct_ring_consume(ct_ring *r, ct_ring_fn fn, void *arg, size_t max);

typedef struct {
	uint64_t written;  /* records committed so far (counted at reserve) */
	uint64_t dropped;  /* records refused because the ring was full or them too large */
	uint64_t consumed; /* records handed to the consumer (padding excluded) */
	size_t capacity;
} ct_ring_stats;
void ct_ring_get_stats(const ct_ring *r, ct_ring_stats *st);

/* A set of rings, one per possible CPU; producers pick theirs with sched_getcpu(). */
typedef struct ct_ringset ct_ringset;
ct_ringset *ct_ringset_create(size_t capacity_per_ring);
void ct_ringset_destroy(ct_ringset *s);
/* In a forked child (only the forking thread left): empties every ring in place, since the
 * fork gave the child zeroed buffers (MADV_WIPEONFORK). 0, or -1 when a buffer could not
 * be marked so (kernel before 4.14): then destroy the set and create another. */
int ct_ringset_fork_reset(ct_ringset *s);
int ct_ringset_count(const ct_ringset *s);
ct_ring *ct_ringset_ring(ct_ringset *s, int i);
/* Reserves in the current CPU's ring (rec->cpu says which). Async-signal-safe. */
ct_rec *ct_ringset_reserve(ct_ringset *s, uint16_t type, uint32_t payload_len);
/* Whether the current CPU's ring has room for a record with payload_len bytes of payload
 * now: a hint (other producers may take it first) that, unlike a failed reserve, counts
 * nothing. For producers that would rather wait than drop. Async-signal-safe. */
int ct_ringset_has_room(ct_ringset *s, uint32_t payload_len);
/* Commits a record obtained from ct_ringset_reserve. */
void ct_ringset_commit(ct_ringset *s, ct_rec *rec);
/* Drains every ring (up to max records each); returns records consumed. */
size_t ct_ringset_consume(ct_ringset *s, ct_ring_fn fn, void *arg, size_t max);
/* Sums of the per-ring statistics. */
void ct_ringset_get_stats(const ct_ringset *s, ct_ring_stats *st);

#endif
