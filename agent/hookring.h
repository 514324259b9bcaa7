/*
 * hookring.h — per-thread rings for the blocking hooks' two most frequent records: a
 * finished wait (CT_EV_LOCK_WAIT) and an unblock edge (CT_EV_UNBLOCK), which a program
 * that blocks and wakes all the time (a condition-variable ping-pong) makes at every turn.
 *
 * ct_emit (collector.c) offers them here first. Each thread that makes one gets a
 * single-producer, single-consumer ring of 32-byte records appended with plain stores and
 * one release store — no atomic reserve on a shared head, no CPU number, no thread id, and
 * no clock read for a wait (its end is its start plus its delay). A record this ring
 * cannot take — the thread has no ring (its exit gave it back, or no memory), the ring is
 * full, or a signal handler interrupted a push on its thread — goes through the shared
 * rings as before. The collector drains the rings (ct_hook_ring_drain) into the same
 * events, so their subscribers (the block and mutex profiles, the trace) are unchanged;
 * a wait's envelope time is its end. Events of one thread stay in order; between threads
 * and against the shared rings they may not be (every consumer of these two records sums
 * them or sorts by time).
 */
#ifndef CT_HOOKRING_H
#define CT_HOOKRING_H

#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"

/* Creates the thread-exit key; in the constructor (collector start), before any hook
 * records. 0 or -errno (then every record takes the shared rings). */
int ct_hook_ring_init(void);

/* Appends a CT_EV_LOCK_WAIT or CT_EV_UNBLOCK record (payload as events.h) of the calling
 * thread. 0, or -EAGAIN when the record must take the shared rings (see above).
 * Async-signal-safe; preserves errno; call with the guard held or from the agent. */
int ct_hook_ring_push(uint16_t type, uint16_t flags, const void *payload, uint32_t len);

/* Collector (or the exit path once it stopped): dispatches every record the rings hold,
 * ring by ring; the number dispatched. */
size_t ct_hook_ring_drain(void);

/* Records that took the shared rings because a thread's ring was full (relaxed). */
uint64_t ct_hook_ring_full(void);

/* In a forked child (only the forking thread exists): forget the parent's rings, whose
 * records are the parent's. */
void ct_hook_ring_fork_child(void);

#endif
