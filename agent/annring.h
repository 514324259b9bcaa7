/*
 * annring.h — the per-thread annotation ring's layout and its inline append, so that a
 * region begin or end pays no function call for its record (annring.c has the ring's life
 * cycle, the slow cases and the consumer; ann.h the contract of ct_ann_ring_push).
 */
#ifndef CT_AGENT_ANNRING_H
#define CT_AGENT_ANNRING_H

#include <stdatomic.h>
#include <stdint.h>

#include "agent/agent.h"
#include "agent/ann.h"
#include "agent/fastclock.h"
#include "agent/ringlist.h"

#define CT_ANN_IE __attribute__((tls_model("initial-exec")))

/* 32768 records of 16 bytes (512 KiB, touched as the ring fills) per annotating thread:
 * a loop doing nothing but begin+end pairs (~30 ns each) fills half of it in ~0.5 ms,
 * when it wakes the collector; a thread that annotates requests fills it in seconds. */
#define CT_ANN_RING_RECS 32768u
#define CT_ANN_REC_TASK 0xffffu /* the next record's task id, in the stamp field */

typedef struct {
	uint64_t stamp; /* ct_fast_now(); CT_ANN_REC_TASK: the task id */
	uint32_t id;	/* label set (CT_EV_ANN_LABEL) or region name (begin) */
	uint16_t type;	/* CT_EV_ANN_LABEL, _REGION_BEGIN, _REGION_END, or CT_ANN_REC_TASK */
	uint16_t depth; /* region nesting depth (1 = outermost); a label's kind */
} ann_rec;

typedef struct ann_ring {
	ct_ring_link link; /* first: ringlist.h */
	/* The producer's line: head is published with release after the records. */
	_Alignas(64) _Atomic uint64_t head;
	uint64_t tail_seen; /* producer's last look at tail */
	/* The consumer's line. */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint32_t tid; /* the owner's thread id: written before it publishes a record */
	_Alignas(64) ann_rec rec[CT_ANN_RING_RECS];
} ann_ring;

/* The calling thread's ring, NULL until its first record (annring.c). */
extern __thread ann_ring *ct_ann_tls_ring CT_ANN_IE;

/* Writes the record at r's slot h (room checked), publishes it, and wakes the collector
 * when the ring gets half full. */
static inline void ct_ann_ring_append(ann_ring *r, uint64_t h, uint16_t type, uint32_t id,
				      uint16_t depth)
{
	r->rec[h & (CT_ANN_RING_RECS - 1)] =
		(ann_rec){.stamp = ct_fast_now(), .id = id, .type = type, .depth = depth};
	/* Release: the consumer that sees the new head sees the records. */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	if (__builtin_expect(((h + 1 - r->tail_seen) & (CT_ANN_RING_RECS / 2 - 1)) == 0, 0))
		ct_collector_wake(); /* half full, or full: drain now */
}

/* ct_ann_ring_push without a task: the common case inline (the thread has a ring with
 * room), the rest (no ring yet, a full one) through ct_ann_ring_push. Same contract. */
static inline int ct_ann_ring_put(uint16_t type, uint32_t id, uint16_t depth)
{
	ann_ring *r = ct_ann_tls_ring;
	if (__builtin_expect(r == NULL, 0))
		return ct_ann_ring_push(type, id, depth, 0);
	/* Relaxed: only this thread writes head. */
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (__builtin_expect(h + 1 - r->tail_seen > CT_ANN_RING_RECS, 0))
		return ct_ann_ring_push(type, id, depth, 0);
	ct_ann_ring_append(r, h, type, id, depth);
	return 0;
}

#endif
