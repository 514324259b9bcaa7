/*
 * heapagg.h — turns the heap hooks' event stream into per-call-site totals and the peak.
 *
 * The agent's collector feeds every heap event here: a sampled allocation (its stack id
 * and size) or the free of a sampled block (the hook matched the address and sends the
 * allocation's stack id and size, so no address map is needed here). For each (stack,
 * block size) — Go's memory profile buckets, which is what makes Go's per-bucket
 * unsampling exact for mixed sizes — it keeps the sampled allocated and in-use objects
 * and bytes, and it tracks the moment when
 * the estimated in-use heap (each sampled block weighted by ct_heap_weight) was highest,
 * with every stack's in-use values at that moment.
 *
 * At CTRACE_HEAP_RATE=1 the hooks do not match frees themselves: an allocation event
 * carries the block's address (CT_HEAP_EV_ALLOC_AT) and a free event only the address
 * (CT_HEAP_EV_FREE_AT); the aggregator keeps the address map and, applying events in
 * order, turns them into the events above. A free of an address it does not know (a block
 * from before recording, or the agent's own) is ignored and counted.
 *
 * Ordering: events sit in per-CPU rings, so an allocation and its free may arrive in
 * either order. Every event carries a sequence number taken from one global counter at
 * the hook; events are applied in that order through a reorder window of 2^window_bits
 * entries. A sequence number that never arrives (its record was dropped) holds the window
 * back until the window is full, then is skipped and counted. The peak snapshot is lazy:
 * a new peak only bumps an epoch, and a stack saves its values the first time it changes
 * after a peak, so every event costs O(1).
 *
 * Lost events: a skipped sequence number may have been any block's free, so every block
 * in use at that moment may really have been freed. Such blocks are in use "unknown", not
 * in use: only a block whose allocation came after the last gap (and whose free never
 * came) is reported in use. A gap bumps a second epoch; a site moves its in-use values to
 * the unknown ones the first time it is touched (or read) after it, and a later free is
 * taken from its known blocks first, so that an unknown block is never counted as known.
 * ct_heap_agg_end also counts the numbers the hooks handed out but that never arrived at
 * the end as a gap.
 *
 * Thread-safety: none; the collector thread owns an aggregator. Memory comes from malloc.
 */
#ifndef CT_HEAPAGG_H
#define CT_HEAPAGG_H

#include <stddef.h>
#include <stdint.h>

enum {
	CT_HEAP_EV_ALLOC = 0,	  /* a sampled allocation whose free will be reported */
	CT_HEAP_EV_FREE = 1,	  /* the free of a sampled block */
	CT_HEAP_EV_UNTRACKED = 2, /* a sampled allocation the hook could not remember: it
				   * counts as allocated, never as in use */
	CT_HEAP_EV_ALLOC_AT = 3,  /* an allocation at an address (ct_heap_agg_add_at) */
	CT_HEAP_EV_FREE_AT = 4,	  /* the free of an address; stack and size unknown */
	CT_HEAP_EV_NONE = 5,	  /* nothing happened: fills a sequence number */
};

typedef struct {
	uint32_t stack;
	uint64_t size; /* block size: every block here has it; 0 when rate <= 1 (see below) */
	int64_t alloc_objects, alloc_bytes; /* sampled, not scaled */
	int64_t inuse_objects, inuse_bytes; /* sampled, now */
	int64_t peak_objects, peak_bytes;   /* sampled, in use at the peak */
	/* sampled, in use as far as the events tell, but allocated before events were lost:
	 * their free may have been lost. Not part of inuse_*. */
	int64_t unknown_objects, unknown_bytes;
} ct_heap_site;

typedef struct {
	uint64_t events;	/* events applied */
	uint64_t late;		/* events that arrived after their turn had been skipped */
	uint64_t gaps;		/* sequence numbers skipped because they never arrived */
	int64_t inuse_est;	/* estimated in-use bytes now */
	int64_t peak_est;	/* estimated in-use bytes at the peak */
	uint64_t peak_time;	/* time of the event that made the peak (caller's clock) */
	uint64_t unknown_frees; /* CT_HEAP_EV_FREE_AT of an address not in the map */
	uint64_t live_addrs;	/* addresses in the map now */
} ct_heap_agg_stats;

typedef struct ct_heap_agg ct_heap_agg;

/* A new aggregator for a sampling rate (bytes; <= 1 = every allocation). With rate <= 1
 * nothing needs unsampling, so sites are per stack only (size 0): fewer, and cheaper to
 * find for a collector that sees every allocation. NULL on ENOMEM. */
ct_heap_agg *ct_heap_agg_new(uint64_t rate, unsigned window_bits);
void ct_heap_agg_free(ct_heap_agg *a);

/* Feeds one event (kind CT_HEAP_EV_*). 0 or -ENOMEM. */
int ct_heap_agg_add(ct_heap_agg *a, uint64_t seq, int kind, uint32_t stack, uint64_t size,
		    uint64_t time);

/* Feeds one event with the block's address (any kind; the address matters for
 * CT_HEAP_EV_ALLOC_AT and CT_HEAP_EV_FREE_AT). 0 or -ENOMEM. */
int ct_heap_agg_add_at(ct_heap_agg *a, uint64_t seq, int kind, uintptr_t addr, uint32_t stack,
		       uint64_t size, uint64_t time);

/* Like ct_heap_agg_add_at, but never counts a number as lost to make room: when seq lies
 * beyond the window and the window's oldest number has not arrived (a producer may still
 * be about to deliver it), applies what is ready and returns -EAGAIN without taking the
 * event; the caller offers it again later, or feeds it with ct_heap_agg_add_at once it
 * gives up on the missing number. 0, -EAGAIN or -ENOMEM. */
int ct_heap_agg_offer(ct_heap_agg *a, uint64_t seq, int kind, uintptr_t addr, uint32_t stack,
		      uint64_t size, uint64_t time);

/* Applies everything still waiting in the reorder window, in order, skipping gaps.
 * 0 or -ENOMEM. */
int ct_heap_agg_flush(ct_heap_agg *a);

/* The end of the stream: flushes, then counts the numbers below end_seq (the next number
 * the hooks would have handed out) that never arrived as a gap. 0 or -ENOMEM. */
int ct_heap_agg_end(ct_heap_agg *a, uint64_t end_seq);

/* The per-(stack, size) totals of the events applied so far (valid until the next add or
 * flush), in order of first appearance; *n receives the count. */
const ct_heap_site *ct_heap_agg_sites(ct_heap_agg *a, size_t *n);

void ct_heap_agg_get_stats(const ct_heap_agg *a, ct_heap_agg_stats *st);

#endif
