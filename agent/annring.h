/*
 * annring.h — the per-thread annotation ring's record format and its inline append, so that a
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

/* 32768 records of 8 bytes (256 KiB, touched as the ring fills) per annotating thread:
 * a loop doing nothing but begin+end pairs (~30 ns each) fills half of it in ~0.5 ms,
 * when it wakes the collector; a thread that annotates requests fills it in seconds. */
#define CT_ANN_RING_RECS 32768u

/* A record is one 64-bit word, so that a begin+end pair writes one cache line in four
 * pairs (16-byte records cost ~3 ns more a pair here, in line transfers to the collector):
 *   bits 0-1   kind: ANN_K_LABEL, ANN_K_BEGIN, ANN_K_END (CT_EV_ANN_LABEL, _REGION_BEGIN,
 *              _REGION_END) or ANN_K_EXT
 *   bits 2-8   region nesting depth (1 = outermost), or a label record's CT_ANN_OBSERVED
 *   bits 9-23  id: the label set (a label) or region name (a begin); 0 for an end
 *   bits 24-63 the low 40 bits of the ct_fast_now stamp
 * ANN_K_EXT records carry, in bits 3-63, the next record's task id (bit 2 clear), or the
 * high bits of the stamps that follow (bit 2 set): a thread writes one whenever its
 * stamps' high bits change (every ~6 minutes of TSC; its first record), so the consumer
 * rebuilds every stamp exactly. */
typedef uint64_t ann_rec;
enum { ANN_K_LABEL, ANN_K_BEGIN, ANN_K_END, ANN_K_EXT };
#define ANN_DEPTH_BITS 7
#define ANN_ID_BITS 15
#define ANN_STAMP_SHIFT 24
#define ANN_EXT_EPOCH 4u /* an ANN_K_EXT record's bit 2: stamp high bits, not a task */
#define CT_ANN_ID_LIMIT (1u << ANN_ID_BITS) /* ids a record can carry: below this */
_Static_assert(CT_ANN_DEPTH < (1 << ANN_DEPTH_BITS), "a depth fits its field");

typedef struct ann_ring {
	ct_ring_link link; /* first: ringlist.h */
	/* The producer's line: head is published with release after the records. */
	_Alignas(64) _Atomic uint64_t head;
	uint64_t tail_seen; /* producer's last look at tail */
	uint64_t epoch;	    /* the stamps' high bits (stamp >> 40) the records carry now */
	/* The consumer's line. */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint32_t tid; /* the owner's thread id: written before it publishes a record */
	uint64_t epoch_seen;  /* the consumer's copy of epoch */
	_Alignas(64) ann_rec rec[CT_ANN_RING_RECS];
} ann_ring;

/* The calling thread's ring, NULL until its first record (annring.c). */
extern __thread ann_ring *ct_ann_tls_ring CT_ANN_IE;

/* A CT_EV_ANN_LABEL, _REGION_BEGIN or _REGION_END type's kind (folds for a constant). */
static inline uint64_t ct_ann_kind(uint16_t type)
{
	return type == CT_EV_ANN_LABEL		? ANN_K_LABEL
	       : type == CT_EV_ANN_REGION_BEGIN ? ANN_K_BEGIN
						: ANN_K_END;
}

/* Writes the record at r's slot h (room checked; id below CT_ANN_ID_LIMIT) with stamp
 * (ct_fast_now()) and publishes it. Returns 1 when the ring just got half full, or full
 * (the caller must then wake the collector: ct_collector_wake), 0 otherwise, and -1 when
 * it wrote nothing because the stamp's high bits changed (ct_ann_ring_push writes the
 * record that says so, then this one). */
static inline int ct_ann_ring_store(ann_ring *r, uint64_t h, uint64_t stamp, uint16_t type,
				    uint32_t id, uint16_t depth)
{
	if (__builtin_expect(stamp >> (64 - ANN_STAMP_SHIFT) != r->epoch, 0))
		return -1;
	r->rec[h & (CT_ANN_RING_RECS - 1)] = stamp << ANN_STAMP_SHIFT | (uint64_t)id << 9 |
					     (uint64_t)depth << 2 | ct_ann_kind(type);
	/* Release: the consumer that sees the new head sees the records. */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return ((h + 1 - r->tail_seen) & (CT_ANN_RING_RECS / 2 - 1)) == 0;
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
	int w = ct_ann_ring_store(r, h, ct_fast_now(), type, id, depth);
	if (__builtin_expect(w < 0, 0))
		return ct_ann_ring_push(type, id, depth, 0);
	if (__builtin_expect(w, 0))
		ct_collector_wake(); /* half full, or full: drain now */
	return 0;
}

#endif
