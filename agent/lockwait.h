/*
 * lockwait.h — the table of pending lock waits: it charges a contended lock's waiters to
 * the threads that held it while they waited (the mutex profile, as Go's), and tells the
 * trace which release owes a waiter its unblock edge. Used by lockhooks.c.
 *
 * Thread-safety: every function may be called from any program thread (not from a signal
 * handler: they may capture a stack), with the agent guard free; they enter it as needed
 * and preserve errno.
 */
#ifndef CT_LOCKWAIT_H
#define CT_LOCKWAIT_H

#include <stdatomic.h>
#include <stdint.h>

#include "agent/lockprof.h"

/* A waiter's registration; e == NULL when it is not tracked. */
typedef struct {
	void *e;	/* its entry in the table */
	uint64_t start; /* start as summed into e (never before the charge it followed) */
	uint64_t gen;	/* the entry's charges at registration */
} ct_lkw_waiter;

/* Waiters registered in the whole table: the gate of the unlock fast path, which looks at
 * the table only while this is nonzero. Alone on its cache line, which only a waiter's
 * registration and its end write. Relaxed, like the buckets' counts. */
extern struct ct_lkw_count {
	_Atomic uint32_t n;
} __attribute__((aligned(64))) ct_lkw_waiting;

/* Whether some thread waits for a lock of the table: the unlock fast path's test. */
static inline int ct_lkw_any(void)
{
	return atomic_load_explicit(&ct_lkw_waiting.n, memory_order_relaxed) != 0;
}

/* A thread starts waiting for lock at now (after its trylock failed): registers it. */
void ct_lkw_begin(ct_lkw_waiter *w, const void *lock, uint64_t now);

/* The wait ended at now with the real call's rc: ends the registration and charges the
 * waiter's wake-up time (since the release that let it in) to that release's stack. */
void ct_lkw_done(const ct_lkw_waiter *w, const void *lock, int rc, uint64_t now);

/* An unlock while ct_lkw_any(): calls release(lock) and charges lock's waiters, if any, to
 * the caller's stack (its hook called from site); returns what release returned. */
int ct_lkw_unlock_slow(void *lock, int (*release)(void *), ct_lk_site site);

/* A condition wait is about to release its mutex m: charges m's waiters to the caller. */
void ct_lkw_cond_release(const void *m, ct_lk_site site);

#endif
