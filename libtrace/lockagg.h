/*
 * lockagg.h — the lock and block profiles' aggregation: waits and hold-caused delays summed
 * per (kind, stack, object, reason), and the labels their pprof samples carry.
 *
 * The agent's lock source adds every finished wait (block profile: charged to the waiter's
 * stack, with its wait reason) and every delay a lock holder caused (mutex profile: charged
 * to the holder's stack) here; at exit it walks the entries of one kind and writes one
 * pprof sample each (contentions/count, delay/nanoseconds, as Go's runtime does).
 *
 * Labels (ct_lock_agg_labels): block samples carry `reason` (ct_wait_reason_name: mutex,
 * rwlock, spin, sem, cond, join, net, sleep, ...); samples on a synchronization object
 * (every mutex sample, and block waits whose reason is_sync) carry `lock`, its address in
 * hex; net waits on an epoll instance carry `fd`; every sample carries `max_wait`
 * (nanoseconds), the longest single wait or hold-caused delay it sums.
 *
 * Thread-safety: none; one thread (the agent's collector) owns an aggregator. Memory comes
 * from malloc; the table doubles as it fills (open addressing, at most half full).
 */
#ifndef CT_LOCKAGG_H
#define CT_LOCKAGG_H

#include <stddef.h>
#include <stdint.h>

#include "libtrace/profile.h"
#include "libtrace/waitreason.h"

typedef enum {
	CT_LOCK_AGG_BLOCK, /* a waiter's wait (block.pb.gz) */
	CT_LOCK_AGG_MUTEX, /* delay a holder caused (mutex.pb.gz) */
} ct_lock_agg_kind;

typedef struct ct_lock_agg ct_lock_agg;

/* One (kind, stack, object, reason) total. */
typedef struct {
	uint64_t obj;	 /* lock/cond/sem address, epoll fd, joined thread; 0 if none */
	uint32_t stack;	 /* interned stack id (0: no stack) */
	uint16_t kind;	 /* ct_lock_agg_kind */
	uint16_t reason; /* ct_wait_reason (CT_WAIT_MUTEX for every mutex entry) */
	int64_t count;	 /* contentions */
	int64_t delay;	 /* ns */
	int64_t max;	 /* the largest single delay added */
} ct_lock_entry;

/* A new, empty aggregator, or NULL (out of memory). */
ct_lock_agg *ct_lock_agg_new(void);
void ct_lock_agg_free(ct_lock_agg *a);

/* Adds count contentions and delay ns (one wait, or one holder's charge) to the entry
 * (kind, stack, obj, reason). 0; -EINVAL for a kind or reason out of range and -ENOMEM
 * when the table cannot grow — both counted as dropped. */
int ct_lock_agg_add(ct_lock_agg *a, ct_lock_agg_kind kind, ct_wait_reason reason, uint64_t obj,
		    uint32_t stack, int64_t count, int64_t delay);

/* The same for a sampled wait standing for count waits and delay ns in all, of which the
 * one actually seen lasted seen ns: the `max_wait` label takes seen, not the weighted
 * delay. */
int ct_lock_agg_add_sampled(ct_lock_agg *a, ct_lock_agg_kind kind, ct_wait_reason reason,
			    uint64_t obj, uint32_t stack, int64_t count, int64_t delay,
			    int64_t seen);

/* Counts a record that never reached the aggregator (malformed). */
void ct_lock_agg_drop(ct_lock_agg *a);

/* Records not aggregated (ct_lock_agg_drop, or refused by ct_lock_agg_add). */
uint64_t ct_lock_agg_dropped(const ct_lock_agg *a);

/* Distinct entries of all kinds. */
size_t ct_lock_agg_len(const ct_lock_agg *a);

/* Walks the entries of one kind: start with *cursor = 0; returns 1 and fills *e while there
 * are more, then 0. Order is unspecified; the aggregator must not change during the walk. */
int ct_lock_agg_next(const ct_lock_agg *a, ct_lock_agg_kind kind, size_t *cursor, ct_lock_entry *e);

/* The labels of an entry's pprof sample (see above) into labels[0..3); string values point
 * into e, the constant tables or hex (which must outlive the labels' use). Returns the
 * number filled (2 or 3). */
uint32_t ct_lock_agg_labels(const ct_lock_entry *e, ct_label labels[3], char hex[24]);

#endif
