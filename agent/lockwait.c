/*
 * lockwait.c — the table of pending lock waits (lockwait.h): who waits for which lock since
 * when, so that a release charges the delay it caused to the releasing thread's stack.
 *
 * A waiter on a mutex or rwlock registers in a small table keyed by the lock's address
 * (number of waiters, sum of their start times); an unlock looks at the table's waiter
 * count — one relaxed load — and, only while some thread waits, at its bucket's; when that
 * is nonzero too it takes the bucket's lock, charges the waiters' time since the
 * previous charge (n * now - sum of starts) to its own stack (kept in the entry) and
 * restarts their clocks at now.
 *
 * What this adds to a contended lock's critical section is what the agent makes the
 * program contend for, so the charge comes after the real unlock: the lock is free while
 * the agent works. A waiter that acquires before that charge comes in (the bucket counts
 * the releases in flight) leaves its time in the entry for it. A release that owes the
 * trace an unblock edge (the first after a waiter began) makes only that edge before the
 * unlock, so that it precedes the wake-up; its charge follows the unlock like every other
 * (a condition wait, which releases its mutex inside the real call, charges before it).
 * The holder's stack comes from the per-thread stack
 * cache (stackcache.h: no unwind when the unlock's call chain repeats), the clock is read
 * before the bucket lock, and the bucket lock is held for a few instructions. Its
 * holder can still be preempted (more threads than CPUs): a thread that finds it taken
 * spins briefly on a plain load, then yields the CPU instead of burning it. A waiter that
 * starts during a hold is one contention of that hold. Waits that outlast several holds
 * are thus split among the holders; a waiter that acquires charges its wake-up time (since
 * the last release) to that release's stack. So every acquired wait is charged in full,
 * and the mutex profile's total matches the block profile's, less the waits that timed
 * out (no release ended them). (A waiter that meets a release in flight of another lock
 * of its bucket leaves its time to the next charge of its own lock.) A mutex release that
 * can wake no one does not come here at all (lockhooks.c: lk_mutex_may_wake): the time
 * goes to the next release that may wake a sleeper, or as wake-up time to the one that
 * woke the waiter.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "agent/forkguard.h"
#include "agent/lockwait.h"

/* Modes that register waiters in the table: the mutex profile charges holders, the trace
 * emits an unblock edge when a release finds waiters. */
#define LK_TABLE_MODES (CT_MODE_LOCK | CT_MODE_SCHED)

#define LK_BUCKETS 1024 /* power of two */
#define LK_WAYS 3	/* locks with waiters at once per bucket; more are not charged */

typedef struct {
	uintptr_t lock;	    /* 0 = free */
	uint32_t nwait;	    /* threads waiting now */
	uint32_t nnew;	    /* of which started waiting since the last charge */
	uint32_t owed;	    /* of which no release has made an unblock edge for yet */
	uint64_t sum_start; /* sum of the waiters' start times, each at least `charged` */
	uint64_t charged;   /* time of the last charge to a holder */
	uint64_t gen;	    /* number of charges so far */
	uint32_t holder;    /* stack of the thread that made the last charge */
	/* Wait time of waiters that acquired after a release whose charge had not come in
	 * yet (lk_release): that charge takes it. The entry stays while it is not 0. */
	uint64_t unclaimed;
} lk_entry;

typedef struct {
	/* Waiters on any lock of this bucket: the unlock fast path's only test. Relaxed
	 * suffices: an unlock that misses a waiter registering concurrently leaves its time
	 * to the next charge, never corrupts the entry (which the spin lock protects). */
	_Atomic uint32_t nwait;
	/* Unblock edges the entries owe (the sum of their `owed`): a release that owes one
	 * makes it before the lock goes. Written under `busy`, read relaxed as a hint. */
	_Atomic uint32_t owed;
	/* Releases that went and whose charge has not come in yet (lk_release). A
	 * waiter that acquires meanwhile leaves its time to that charge. Incremented relaxed
	 * before the real unlock: the waiter acquiring the lock next is ordered after it by
	 * the lock itself; decremented under `busy` by the charge. */
	_Atomic uint32_t releasing;
	_Atomic int busy; /* lock over e[] (1 = held); held for a few instructions */
	lk_entry e[LK_WAYS];
} __attribute__((aligned(64))) lk_bucket;

static lk_bucket lk_table[LK_BUCKETS] CT_PAGE_ALIGNED;
static int lk_table_fresh; /* zeroed by the fork itself (forkguard.h) */

struct ct_lkw_count ct_lkw_waiting;

/* In a forked child only the forking thread exists: the other threads' registrations
 * (and a bucket lock one of them held) must go, or the child's unlocks would charge
 * waits that never end. */
static void lk_child_reset(void)
{
	if (!lk_table_fresh)
		memset(lk_table, 0, sizeof(lk_table));
	atomic_store_explicit(&ct_lkw_waiting.n, 0, memory_order_relaxed);
}

__attribute__((constructor)) static void lk_table_init(void)
{
	lk_table_fresh = ct_fork_fresh(lk_table, sizeof(lk_table));
	pthread_atfork(NULL, NULL, lk_child_reset);
}

static inline lk_bucket *lk_bucket_of(const void *lock)
{
	return &lk_table[((uintptr_t)lock * 0x9e3779b97f4a7c15u) >> (64 - 10)];
}

#define LK_SPINS 64 /* pauses on a taken bucket lock before each yield */

static void lk_bucket_lock(lk_bucket *b)
{
	/* acquire: the entries read below are those the previous holder released. The
	 * waiting loads are relaxed: they only tell when to try again. */
	while (atomic_exchange_explicit(&b->busy, 1, memory_order_acquire)) {
		for (int i = 0; atomic_load_explicit(&b->busy, memory_order_relaxed); i++) {
			if (i < LK_SPINS) {
				__builtin_ia32_pause();
			} else {
				sched_yield(); /* its holder may be preempted: let it run */
				i = 0;
			}
		}
	}
}

static void lk_bucket_unlock(lk_bucket *b)
{
	atomic_store_explicit(&b->busy, 0, memory_order_release);
}

void ct_lkw_begin(ct_lkw_waiter *w, const void *lock, uint64_t now)
{
	w->e = NULL;
	if (!(ct_cfg.modes & LK_TABLE_MODES))
		return;
	lk_bucket *b = lk_bucket_of(lock);
	lk_bucket_lock(b);
	lk_entry *e = NULL;
	for (int i = 0; i < LK_WAYS; i++) {
		if (b->e[i].lock == (uintptr_t)lock) {
			e = &b->e[i];
			break;
		}
		if (!e && b->e[i].lock == 0)
			e = &b->e[i];
	}
	if (e) {
		if (e->lock != (uintptr_t)lock)
			*e = (lk_entry){.lock = (uintptr_t)lock};
		w->e = e;
		w->start = now > e->charged ? now : e->charged;
		w->gen = e->gen;
		e->nwait++;
		e->nnew++;
		e->owed++;
		atomic_fetch_add_explicit(&b->owed, 1, memory_order_relaxed);
		e->sum_start += w->start;
		atomic_fetch_add_explicit(&b->nwait, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&ct_lkw_waiting.n, 1, memory_order_relaxed);
	}
	lk_bucket_unlock(b);
}

/* Ends a registration at time now. When the waiter acquired the lock after a charge,
 * returns the time since that release (its wake-up) and sets *holder to the releasing
 * stack, which the caller charges it to; else returns 0. */
static uint64_t lk_wait_end(const ct_lkw_waiter *w, const void *lock, int acquired, uint64_t now,
			    uint32_t *holder)
{
	uint64_t tail = 0;
	if (!w->e)
		return 0;
	lk_bucket *b = lk_bucket_of(lock);
	lk_entry *e = w->e;
	lk_bucket_lock(b);
	int charged = e->gen != w->gen;
	uint64_t since = charged ? e->charged : w->start;
	e->sum_start -= since;
	if (acquired && atomic_load_explicit(&b->releasing, memory_order_relaxed)) {
		/* The release that let it in has not charged yet: that charge takes the
		 * time, and counts the contention if no charge has yet. */
		e->unclaimed += now > since ? now - since : 0;
	} else if (!charged) {
		/* Never charged: it got the lock without a hooked release in between. */
		e->nnew--;
	} else if (acquired && now > e->charged) {
		tail = now - e->charged;
		*holder = e->holder;
	}
	if (--e->nwait == 0 && !e->unclaimed)
		e->lock = 0;
	if (e->owed > e->nwait) { /* it leaves without an edge: none is owed for it now */
		atomic_fetch_sub_explicit(&b->owed, e->owed - e->nwait, memory_order_relaxed);
		e->owed = e->nwait;
	}
	atomic_fetch_sub_explicit(&b->nwait, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&ct_lkw_waiting.n, 1, memory_order_relaxed);
	lk_bucket_unlock(b);
	return tail;
}

/* The calling thread, whose stack is holder, releases (or, after is 1, has released)
 * lock at time t: takes the delay its waiters suffered since the last charge, and the
 * unclaimed time of those that acquired since the release, and restarts the clocks of those
 * still waiting. Returns the delay; *count gets the contentions, *edge whether the release
 * settles an unblock edge the trace is owed: one per waiter, made by the first release
 * after it began waiting (which is the one that wakes it, unless another thread barges in
 * first) — not one per release while waiters remain, which on a hot lock is nearly every
 * release. Only a charge with edge_ok settles one: its caller makes (or, releasing, already
 * made) the edge before the release, so that its time precedes the wake-up. */
static uint64_t lk_charge(lk_bucket *b, const void *lock, uint32_t holder, uint64_t t, int after,
			  int edge_ok, uint32_t *count, int *edge)
{
	uint64_t delay = 0;
	*count = 0;
	*edge = 0;
	lk_bucket_lock(b);
	if (after)
		atomic_fetch_sub_explicit(&b->releasing, 1, memory_order_relaxed);
	for (int i = 0; i < LK_WAYS; i++) {
		lk_entry *e = &b->e[i];
		if (e->lock != (uintptr_t)lock || (e->nwait == 0 && !e->unclaimed))
			continue;
		/* A charge or a registration that came in meanwhile may be later than t. */
		uint64_t now = t > e->charged ? t : e->charged;
		if (e->nwait && e->nwait * now < e->sum_start)
			now = (e->sum_start + e->nwait - 1) / e->nwait;
		delay = e->nwait * now - e->sum_start + e->unclaimed;
		*count = e->nnew;
		e->nnew = 0;
		e->unclaimed = 0;
		e->sum_start = e->nwait * now;
		e->charged = now;
		e->gen++;
		e->holder = holder;
		if (e->owed && edge_ok) {
			e->owed--;
			atomic_fetch_sub_explicit(&b->owed, 1, memory_order_relaxed);
			*edge = 1;
		}
		if (e->nwait == 0)
			e->lock = 0;
		break;
	}
	lk_bucket_unlock(b);
	return delay;
}

/* Whether the bucket of a lock has waiters: the unlock's test once the above holds. */
static inline int lk_has_waiters(const lk_bucket *b)
{
	return atomic_load_explicit(&b->nwait, memory_order_relaxed) != 0;
}

/* A condition wait is about to release its mutex lock (inside the real call): charges the
 * mutex's waiters to the caller's stack, and records the release of a waiter (the trace's
 * unblock edge) when one is owed, before the wait lets the mutex go. */
static void lk_charge_cond(lk_bucket *b, const void *lock, ct_lk_site site)
{
	uint32_t stack = ct_lk_stack(site);
	uint32_t count;
	int edge;
	uint64_t t = ct_now(); /* read before the bucket lock: keeps its hold short */
	uint64_t delay = lk_charge(b, lock, stack, t, 0, 1, &count, &edge);
	if (edge)
		ct_lk_unblock((uintptr_t)lock, stack, 0, site);
	if (delay || count)
		ct_lk_hold_record(lock, stack, count, delay, t);
}

/* Releases lock, then charges its waiters to the caller: the lock goes first, so that the
 * agent's work is not part of what the waiters wait for — the bucket lock, the charge and
 * the clock read, inside a hot lock's critical section, made its holds many times longer
 * while any thread waited (the program's contention became the agent's); and after it,
 * ~0.5 us per release, they still thinned out the program's own collisions (bench_threads'
 * contended share: traced 6.4% against 12.9% bare when owed edges charged before the
 * release, 9.8% with every charge after). A waiter that acquires before the charge comes
 * in leaves its time to it (`releasing`, `unclaimed`). The only work left before the
 * release is an owed unblock edge (the bucket's owed count, a hint read relaxed, says one
 * may be): the stack and one record, whose time must precede the waiter's wake-up; the
 * charge after it settles the owed count. */
static int lk_release(lk_bucket *b, const void *lock, int (*release)(void *), void *arg,
		      ct_lk_site site)
{
	uint32_t stack = 0;
	int edge_ok = ct_lk_sched_on() && atomic_load_explicit(&b->owed, memory_order_relaxed);
	if (edge_ok) {
		stack = ct_lk_stack(site);
		ct_lk_unblock((uintptr_t)lock, stack, 0, site);
	}
	atomic_fetch_add_explicit(&b->releasing, 1, memory_order_relaxed);
	int rc = release(arg);
	if (rc != 0) { /* not released: no waiter got in by it, nothing to charge */
		atomic_fetch_sub_explicit(&b->releasing, 1, memory_order_relaxed);
		return rc;
	}
	if (!stack)
		stack = ct_lk_stack(site);
	uint32_t count;
	int edge;
	uint64_t t = ct_now();
	uint64_t delay = lk_charge(b, lock, stack, t, 1, edge_ok, &count, &edge);
	if (delay || count)
		ct_lk_hold_record(lock, stack, count, delay, t);
	return rc;
}

__attribute__((cold, noinline)) int ct_lkw_unlock_slow(void *lock, int (*release)(void *),
						       ct_lk_site site)
{
	lk_bucket *b = lk_bucket_of(lock);
	if (lk_has_waiters(b))
		return lk_release(b, lock, release, lock, site);
	return release(lock);
}

void ct_lkw_done(const ct_lkw_waiter *w, const void *lock, int rc, uint64_t now)
{
	uint32_t holder = 0;
	uint64_t tail = lk_wait_end(w, lock, rc == 0 || rc == EOWNERDEAD, now, &holder);
	if (tail && holder)
		ct_lk_hold_record(lock, holder, 0, tail, now);
}

void ct_lkw_cond_release(const void *m, ct_lk_site site)
{
	lk_bucket *b = lk_bucket_of(m);
	if (ct_lkw_any() && lk_has_waiters(b))
		lk_charge_cond(b, m, site);
}
