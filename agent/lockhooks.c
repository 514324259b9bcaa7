/*
 * lockhooks.c — the pthread and semaphore hooks: contention detection and the table of
 * pending waits that lets a lock's holder be charged for the delay it causes.
 *
 * Every acquiring hook first tries the lock (trylock, tryrdlock, spin_trylock,
 * sem_trywait). When that succeeds — the uncontended case — the hook returns at once:
 * no clock read, no table access. Only when it fails is the wait timed with
 * CLOCK_MONOTONIC, and recorded with the waiter's stack for the block profile.
 *
 * The mutex profile charges the delay to the thread that HELD the lock, as Go does. A
 * waiter on a mutex or rwlock registers in a small table keyed by the lock's address
 * (number of waiters, sum of their start times); an unlock looks at the table's waiter
 * count — one relaxed load — and, only while some thread waits, at its bucket's; when that
 * is nonzero too it takes the bucket's lock, charges the waiters' time since the
 * previous charge (n * now - sum of starts) to its own stack (captured before the release
 * and kept in the entry) and restarts their clocks at now.
 *
 * What this adds to a contended lock's critical section is what the agent makes the
 * program contend for, so it is kept short: the holder's stack comes from the per-thread
 * stack cache (stackcache.h: no unwind when the unlock's call chain repeats), the clock is
 * read before the bucket lock, and the bucket lock is held for a few instructions. Its
 * holder can still be preempted (more threads than CPUs): a thread that finds it taken
 * spins briefly on a plain load, then yields the CPU instead of burning it. A waiter that starts
 * during a hold is one contention of that hold. Waits that outlast several holds are thus split
 * among the holders; a waiter that acquires charges its wake-up time (since the last
 * release) to that release's stack. So every acquired wait is charged in full, and the
 * mutex profile's total matches the block profile's, less the waits that timed out (no
 * release ended them).
 *
 * Semantics are preserved exactly: trylock succeeds only when the real lock would have
 * acquired at once, return values and errno are those of the real call, timed variants
 * whose arguments the real function checks up front go straight to it, and sem_wait /
 * sem_timedwait test for cancellation before trying, as glibc does. No agent state is held
 * across a real call, so a thread cancelled inside one leaves nothing behind.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

#include "agent/lockprof.h"
#include "agent/stackcache.h"

CT_LK_DEFINE_REAL(pthread_mutex_lock, NULL)
CT_LK_DEFINE_REAL(pthread_mutex_timedlock, NULL)
CT_LK_DEFINE_REAL(pthread_mutex_clocklock, NULL)
CT_LK_DEFINE_REAL(pthread_mutex_unlock, NULL)
CT_LK_DEFINE_REAL(pthread_rwlock_rdlock, NULL)
CT_LK_DEFINE_REAL(pthread_rwlock_wrlock, NULL)
CT_LK_DEFINE_REAL(pthread_rwlock_timedrdlock, NULL)
CT_LK_DEFINE_REAL(pthread_rwlock_timedwrlock, NULL)
CT_LK_DEFINE_REAL(pthread_rwlock_clockrdlock, NULL)
CT_LK_DEFINE_REAL(pthread_rwlock_clockwrlock, NULL)
CT_LK_DEFINE_REAL(pthread_rwlock_unlock, NULL)
CT_LK_DEFINE_REAL(pthread_spin_lock, NULL)
CT_LK_DEFINE_REAL(sem_wait, NULL)
CT_LK_DEFINE_REAL(sem_timedwait, NULL)
CT_LK_DEFINE_REAL(sem_clockwait, NULL)
/* The condition variable functions exist in two ABIs; programs linked since glibc 2.3.2
 * use the new one, which plain dlsym does not reliably return. */
CT_LK_DEFINE_REAL(pthread_cond_wait, "GLIBC_2.3.2")
CT_LK_DEFINE_REAL(pthread_cond_timedwait, "GLIBC_2.3.2")
CT_LK_DEFINE_REAL(pthread_cond_clockwait, NULL)

/* Modes a lock wait feeds: the block profile (the waiter) and the mutex profile (the
 * holder). Condition waits release their mutex, so they feed both as well. */
#define LK_MODES (CT_MODE_LOCK | CT_MODE_BLOCK | CT_MODE_SCHED)
/* Modes that register waiters in the table: the mutex profile charges holders, the trace
 * emits an unblock edge when a release finds waiters. */
#define LK_TABLE_MODES (CT_MODE_LOCK | CT_MODE_SCHED)

/* ---- the pending-wait table ---- */

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
} lk_entry;

typedef struct {
	/* Waiters on any lock of this bucket: the unlock fast path's only test. Relaxed
	 * suffices: an unlock that misses a waiter registering concurrently leaves its time
	 * to the next charge, never corrupts the entry (which the spin lock protects). */
	_Atomic uint32_t nwait;
	_Atomic int busy; /* lock over e[] (1 = held); held for a few instructions */
	lk_entry e[LK_WAYS];
} __attribute__((aligned(64))) lk_bucket;

static lk_bucket lk_table[LK_BUCKETS];

/* Waiters registered in the whole table: the gate of the unlock fast path, which looks at
 * a bucket only while this is nonzero. Alone on its cache line, which only a waiter's
 * registration and its end write. Relaxed, like the buckets' counts. */
static struct {
	_Atomic uint32_t n;
} __attribute__((aligned(64))) lk_waiting;

/* In a forked child only the forking thread exists: the other threads' registrations
 * (and a bucket lock one of them held) must go, or the child's unlocks would charge
 * waits that never end. */
static void lk_child_reset(void)
{
	memset(lk_table, 0, sizeof(lk_table));
	atomic_store_explicit(&lk_waiting.n, 0, memory_order_relaxed);
}

/* A waiter's registration; e == NULL when it is not tracked. */
typedef struct {
	lk_entry *e;
	uint64_t start; /* start as summed into e (never before the charge it followed) */
	uint64_t gen;	/* e->gen at registration */
} lk_waiter;

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

static void lk_wait_begin(lk_waiter *w, const void *lock, uint64_t now)
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
		e->sum_start += w->start;
		atomic_fetch_add_explicit(&b->nwait, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&lk_waiting.n, 1, memory_order_relaxed);
	}
	lk_bucket_unlock(b);
}

/* Ends a registration at time now. When the waiter acquired the lock after a charge,
 * returns the time since that release (its wake-up) and sets *holder to the releasing
 * stack, which the caller charges it to; else returns 0. */
static uint64_t lk_wait_end(const lk_waiter *w, const void *lock, int acquired, uint64_t now,
			    uint32_t *holder)
{
	uint64_t tail = 0;
	if (!w->e)
		return 0;
	lk_bucket *b = lk_bucket_of(lock);
	lk_entry *e = w->e;
	lk_bucket_lock(b);
	if (e->gen == w->gen) {
		/* Never charged: it got the lock without a hooked release in between. */
		e->sum_start -= w->start;
		e->nnew--;
	} else {
		e->sum_start -= e->charged;
		if (acquired && now > e->charged) {
			tail = now - e->charged;
			*holder = e->holder;
		}
	}
	if (--e->nwait == 0)
		e->lock = 0;
	if (e->owed > e->nwait) /* it leaves without an edge: none is owed for it now */
		e->owed = e->nwait;
	atomic_fetch_sub_explicit(&b->nwait, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&lk_waiting.n, 1, memory_order_relaxed);
	lk_bucket_unlock(b);
	return tail;
}

/* The calling thread, whose stack is holder, releases lock at time t (read before the
 * call): takes the delay its waiters suffered since the last charge and restarts their
 * clocks. Returns the delay; *count gets the contentions, *edge whether the release owes
 * the trace an unblock edge: one per waiter, made by the first release after it began
 * waiting (which is the one that wakes it, unless another thread barges in first) — not
 * one per release while waiters remain, which on a hot lock is nearly every release. */
static uint64_t lk_charge(lk_bucket *b, const void *lock, uint32_t holder, uint64_t t,
			  uint32_t *count, int *edge)
{
	uint64_t delay = 0;
	*count = 0;
	*edge = 0;
	lk_bucket_lock(b);
	for (int i = 0; i < LK_WAYS; i++) {
		lk_entry *e = &b->e[i];
		if (e->lock != (uintptr_t)lock || e->nwait == 0)
			continue;
		/* A charge or a registration that came in meanwhile may be later than t. */
		uint64_t now = t > e->charged ? t : e->charged;
		if (e->nwait * now < e->sum_start)
			now = (e->sum_start + e->nwait - 1) / e->nwait;
		delay = e->nwait * now - e->sum_start;
		*count = e->nnew;
		e->nnew = 0;
		e->sum_start = e->nwait * now;
		e->charged = now;
		e->gen++;
		e->holder = holder;
		if (e->owed) {
			e->owed--;
			*edge = 1;
		}
		break;
	}
	lk_bucket_unlock(b);
	return delay;
}

/* Whether some thread waits for a lock of the table: the unlock fast path's test. */
static inline int lk_any_waiters(void)
{
	return atomic_load_explicit(&lk_waiting.n, memory_order_relaxed) != 0;
}

/* Whether the bucket of a lock has waiters: the unlock's test once the above holds. */
static inline int lk_has_waiters(const lk_bucket *b)
{
	return atomic_load_explicit(&b->nwait, memory_order_relaxed) != 0;
}

/* Charges the waiters of lock, which the calling thread is about to release, to its
 * stack, and records the release of a waiter (the trace's unblock edge); returns 0 or what
 * the release returned. The stack is captured before the release, so that a waiter woken
 * at once finds it for its wake-up time. */
static int lk_release(lk_bucket *b, const void *lock, int (*release)(void *), void *arg,
		      ct_lk_site site)
{
	uint32_t stack = ct_lk_stack(site);
	uint32_t count;
	int edge;
	uint64_t t = ct_now(); /* read before the bucket lock: keeps its hold short */
	uint64_t delay = lk_charge(b, lock, stack, t, &count, &edge);
	if (edge)
		ct_lk_unblock((uintptr_t)lock, stack, 0, site);
	int rc = release ? release(arg) : 0;
	if (rc == 0 && (delay || count))
		ct_lk_hold_record(lock, stack, count, delay, t);
	return rc;
}

/* An unlock (release) while some lock has waiters: charges them to the caller if they wait
 * for lock. */
__attribute__((cold, noinline)) static int lk_unlock_slow(void *lock, int (*release)(void *),
							  ct_lk_site site)
{
	lk_bucket *b = lk_bucket_of(lock);
	if (lk_has_waiters(b))
		return lk_release(b, lock, release, lock, site);
	return release(lock);
}

/* Ends a waiter's registration; charges its wake-up time to the last releasing holder. */
static void lk_wait_done(const lk_waiter *w, const void *lock, int rc, uint64_t now)
{
	uint32_t holder = 0;
	uint64_t tail = lk_wait_end(w, lock, rc == 0 || rc == EOWNERDEAD, now, &holder);
	if (tail && holder)
		ct_lk_hold_record(lock, holder, 0, tail, now);
}

/* Whether a call that returned rc blocked and its time belongs in the block profile. */
static inline int lk_waited(int rc)
{
	return rc == 0 || rc == ETIMEDOUT || rc == EOWNERDEAD || rc == EINTR;
}

/* Argument checks glibc makes before trying a timed rwlock or semaphore wait (the clock
 * only, for mutexes). */
static inline int lk_valid_abs(const struct timespec *t)
{
	return t->tv_nsec >= 0 && t->tv_nsec < 1000000000;
}
static inline int lk_valid_clock(clockid_t c)
{
	return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC;
}

/* The uncontended lock and unlock call glibc through these pointers, with no test of
 * their own. pthread_mutex_trylock, which the agent does not define, is the initial value
 * of lk_mutex_trylock: the dynamic linker binds it when it loads the agent, before any
 * code of it can run. The real unlock must be looked up (the agent defines its own), and a
 * hook can run before the constructors: lk_mutex_unlock_fn starts at a function that
 * resolves it and stores it, as the constructor does at load. Relaxed loads: every value
 * either ever holds is a valid way to make the call. */
static int (*lk_mutex_trylock)(pthread_mutex_t *) = pthread_mutex_trylock;
static int lk_mutex_unlock_first(pthread_mutex_t *m);
static int (*lk_mutex_unlock_fn)(pthread_mutex_t *) = lk_mutex_unlock_first;

static void lk_resolve_mutex_unlock(void)
{
	__atomic_store_n(&lk_mutex_unlock_fn, real_pthread_mutex_unlock(), __ATOMIC_RELAXED);
}

static int lk_mutex_unlock_first(pthread_mutex_t *m)
{
	lk_resolve_mutex_unlock();
	return real_pthread_mutex_unlock()(m);
}

/* Resolves every real function at load, so that hooks rarely resolve on first use (they
 * still can, when another library's constructor locks before this one runs), and
 * registers the fork handler of the pending-wait table. */
__attribute__((constructor)) static void lk_resolve_all(void)
{
	resolve_pthread_mutex_lock();
	resolve_pthread_mutex_timedlock();
	resolve_pthread_mutex_clocklock();
	resolve_pthread_mutex_unlock();
	lk_resolve_mutex_unlock();
	resolve_pthread_rwlock_rdlock();
	resolve_pthread_rwlock_wrlock();
	resolve_pthread_rwlock_timedrdlock();
	resolve_pthread_rwlock_timedwrlock();
	resolve_pthread_rwlock_clockrdlock();
	resolve_pthread_rwlock_clockwrlock();
	resolve_pthread_rwlock_unlock();
	resolve_pthread_spin_lock();
	resolve_sem_wait();
	resolve_sem_timedwait();
	resolve_sem_clockwait();
	resolve_pthread_cond_wait();
	resolve_pthread_cond_timedwait();
	resolve_pthread_cond_clockwait();
	pthread_atfork(NULL, NULL, lk_child_reset);
}

/* ---- mutexes ---- */

typedef enum { LK_PLAIN, LK_TIMED, LK_CLOCK } lk_how;

static int lk_mutex_call(pthread_mutex_t *m, lk_how how, clockid_t clk, const struct timespec *abs)
{
	switch (how) {
	case LK_PLAIN:
		return real_pthread_mutex_lock()(m);
	case LK_TIMED:
		return real_pthread_mutex_timedlock()(m, abs);
	default:
		return real_pthread_mutex_clocklock()(m, clk, abs);
	}
}

/* The contended path: the trylock failed. */
__attribute__((cold, noinline)) static int lk_mutex_wait(pthread_mutex_t *m, lk_how how,
							 clockid_t clk, const struct timespec *abs,
							 ct_lk_site site)
{
	if (!ct_lk_recording(LK_MODES))
		return lk_mutex_call(m, how, clk, abs);
	lk_waiter w;
	ct_lk_wait cw;
	ct_lk_wait_begin(&cw, CT_WAIT_MUTEX, (uintptr_t)m, 0, site);
	lk_wait_begin(&w, m, cw.begin);
	int rc = lk_mutex_call(m, how, clk, abs);
	uint64_t t1 = ct_now();
	lk_wait_done(&w, m, rc, t1);
	ct_lk_wait_end(&cw, t1, lk_waited(rc));
	return rc;
}

/* Fast path: the real trylock through a pointer, one compare. */
CT_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	int rc = __atomic_load_n(&lk_mutex_trylock, __ATOMIC_RELAXED)(m);
	if (__builtin_expect(rc == EBUSY, 0))
		return lk_mutex_wait(m, LK_PLAIN, 0, NULL, CT_LK_SITE());
	return rc;
}

/* glibc acquires a free mutex without looking at the time stamp, so neither do these;
 * the clock is checked first. */
CT_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *restrict m,
				      const struct timespec *restrict abs)
{
	int rc = pthread_mutex_trylock(m);
	return rc == EBUSY ? lk_mutex_wait(m, LK_TIMED, CLOCK_REALTIME, abs, CT_LK_SITE()) : rc;
}

CT_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *restrict m, clockid_t clk,
				      const struct timespec *restrict abs)
{
	if (!lk_valid_clock(clk))
		return real_pthread_mutex_clocklock()(m, clk, abs);
	int rc = pthread_mutex_trylock(m);
	return rc == EBUSY ? lk_mutex_wait(m, LK_CLOCK, clk, abs, CT_LK_SITE()) : rc;
}

static int lk_mutex_release(void *m)
{
	return real_pthread_mutex_unlock()(m);
}

/* Fast path: one relaxed load of the table's waiter count, then a jump to the real
 * unlock, with no stack frame of its own. */
CT_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (__builtin_expect(lk_any_waiters(), 0))
		return lk_unlock_slow(m, lk_mutex_release, CT_LK_SITE());
	return __atomic_load_n(&lk_mutex_unlock_fn, __ATOMIC_RELAXED)(m);
}

/* ---- rwlocks ---- */

static int lk_rw_call(pthread_rwlock_t *l, int wr, lk_how how, clockid_t clk,
		      const struct timespec *abs)
{
	switch (how) {
	case LK_PLAIN:
		return wr ? real_pthread_rwlock_wrlock()(l) : real_pthread_rwlock_rdlock()(l);
	case LK_TIMED:
		return wr ? real_pthread_rwlock_timedwrlock()(l, abs)
			  : real_pthread_rwlock_timedrdlock()(l, abs);
	default:
		return wr ? real_pthread_rwlock_clockwrlock()(l, clk, abs)
			  : real_pthread_rwlock_clockrdlock()(l, clk, abs);
	}
}

static int lk_rw_wait(pthread_rwlock_t *l, int wr, lk_how how, clockid_t clk,
		      const struct timespec *abs, ct_lk_site site)
{
	if (!ct_lk_recording(LK_MODES))
		return lk_rw_call(l, wr, how, clk, abs);
	lk_waiter w;
	ct_lk_wait cw;
	ct_lk_wait_begin(&cw, CT_WAIT_RWLOCK, (uintptr_t)l, 0, site);
	lk_wait_begin(&w, l, cw.begin);
	int rc = lk_rw_call(l, wr, how, clk, abs);
	uint64_t t1 = ct_now();
	lk_wait_done(&w, l, rc, t1);
	ct_lk_wait_end(&cw, t1, lk_waited(rc));
	return rc;
}

static inline int lk_rw_try(pthread_rwlock_t *l, int wr)
{
	return wr ? pthread_rwlock_trywrlock(l) : pthread_rwlock_tryrdlock(l);
}

static int lk_rw_lock(pthread_rwlock_t *l, int wr, ct_lk_site site)
{
	int rc = lk_rw_try(l, wr);
	return rc == EBUSY ? lk_rw_wait(l, wr, LK_PLAIN, 0, NULL, site) : rc;
}

/* glibc checks the clock and the time stamp of rwlock waits before trying. */
static int lk_rw_timed(pthread_rwlock_t *l, int wr, lk_how how, clockid_t clk,
		       const struct timespec *abs, ct_lk_site site)
{
	if (!lk_valid_clock(clk) || !lk_valid_abs(abs))
		return lk_rw_call(l, wr, how, clk, abs);
	int rc = lk_rw_try(l, wr);
	return rc == EBUSY ? lk_rw_wait(l, wr, how, clk, abs, site) : rc;
}

CT_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	return lk_rw_lock(l, 0, CT_LK_SITE());
}
CT_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	return lk_rw_lock(l, 1, CT_LK_SITE());
}

CT_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *restrict l,
					 const struct timespec *restrict abs)
{
	return lk_rw_timed(l, 0, LK_TIMED, CLOCK_REALTIME, abs, CT_LK_SITE());
}

CT_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *restrict l,
					 const struct timespec *restrict abs)
{
	return lk_rw_timed(l, 1, LK_TIMED, CLOCK_REALTIME, abs, CT_LK_SITE());
}

CT_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *restrict l, clockid_t clk,
					 const struct timespec *restrict abs)
{
	return lk_rw_timed(l, 0, LK_CLOCK, clk, abs, CT_LK_SITE());
}

CT_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *restrict l, clockid_t clk,
					 const struct timespec *restrict abs)
{
	return lk_rw_timed(l, 1, LK_CLOCK, clk, abs, CT_LK_SITE());
}

static int lk_rw_release(void *l)
{
	return real_pthread_rwlock_unlock()(l);
}

CT_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	if (__builtin_expect(lk_any_waiters(), 0))
		return lk_unlock_slow(l, lk_rw_release, CT_LK_SITE());
	return real_pthread_rwlock_unlock()(l);
}

/* ---- spin locks (block profile only: their unlock is not hooked) ---- */

CT_EXPORT int pthread_spin_lock(pthread_spinlock_t *s)
{
	int rc = pthread_spin_trylock(s);
	if (rc != EBUSY)
		return rc;
	if (!ct_lk_recording(CT_LK_WAIT_MODES))
		return real_pthread_spin_lock()(s);
	ct_lk_wait cw;
	ct_lk_wait_begin(&cw, CT_WAIT_SPIN, (uintptr_t)s, 0, CT_LK_SITE());
	rc = real_pthread_spin_lock()(s);
	ct_lk_wait_end(&cw, ct_now(), 1);
	return rc;
}

/* ---- semaphores (block profile only) ---- */

static int lk_sem_call(sem_t *s, lk_how how, clockid_t clk, const struct timespec *abs)
{
	switch (how) {
	case LK_PLAIN:
		return real_sem_wait()(s);
	case LK_TIMED:
		return real_sem_timedwait()(s, abs);
	default:
		return real_sem_clockwait()(s, clk, abs);
	}
}

/* Tries s and, when that would block, waits timed. errno as the real call leaves it. */
static int lk_sem_wait(sem_t *s, lk_how how, clockid_t clk, const struct timespec *abs,
		       ct_lk_site site)
{
	int saved = errno;
	if (sem_trywait(s) == 0)
		return 0;
	if (errno != EAGAIN)
		return -1;
	errno = saved;
	if (!ct_lk_recording(CT_LK_WAIT_MODES))
		return lk_sem_call(s, how, clk, abs);
	ct_lk_wait cw;
	ct_lk_wait_begin(&cw, CT_WAIT_SEM, (uintptr_t)s, 0, site);
	int rc = lk_sem_call(s, how, clk, abs);
	ct_lk_wait_end(&cw, ct_now(), 1);
	return rc;
}

CT_EXPORT int sem_wait(sem_t *s)
{
	pthread_testcancel();
	return lk_sem_wait(s, LK_PLAIN, 0, NULL, CT_LK_SITE());
}

CT_EXPORT int sem_timedwait(sem_t *restrict s, const struct timespec *restrict abs)
{
	if (!lk_valid_abs(abs))
		return real_sem_timedwait()(s, abs);
	pthread_testcancel();
	return lk_sem_wait(s, LK_TIMED, CLOCK_REALTIME, abs, CT_LK_SITE());
}

CT_EXPORT int sem_clockwait(sem_t *restrict s, clockid_t clk, const struct timespec *restrict abs)
{
	if (!lk_valid_clock(clk) || !lk_valid_abs(abs))
		return real_sem_clockwait()(s, clk, abs);
	return lk_sem_wait(s, LK_CLOCK, clk, abs, CT_LK_SITE());
}

/* ---- condition variables: always block; the mutex is released while waiting ---- */

static int lk_cond_call(pthread_cond_t *c, pthread_mutex_t *m, lk_how how, clockid_t clk,
			const struct timespec *abs)
{
	switch (how) {
	case LK_PLAIN:
		return real_pthread_cond_wait()(c, m);
	case LK_TIMED:
		return real_pthread_cond_timedwait()(c, m, abs);
	default:
		return real_pthread_cond_clockwait()(c, m, clk, abs);
	}
}

static int lk_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, lk_how how, clockid_t clk,
			const struct timespec *abs, ct_lk_site site)
{
	if (!ct_lk_recording(LK_MODES))
		return lk_cond_call(c, m, how, clk, abs);
	/* The wait releases m: its waiters are charged to this call's stack. */
	lk_bucket *b = lk_bucket_of(m);
	if (lk_any_waiters() && lk_has_waiters(b))
		lk_release(b, m, NULL, NULL, site);
	ct_lk_wait cw;
	ct_lk_wait_begin(&cw, CT_WAIT_COND, (uintptr_t)c, 0, site);
	int rc = lk_cond_call(c, m, how, clk, abs);
	ct_lk_wait_end(&cw, ct_now(), lk_waited(rc));
	return rc;
}

CT_EXPORT int pthread_cond_wait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m)
{
	return lk_cond_wait(c, m, LK_PLAIN, 0, NULL, CT_LK_SITE());
}

CT_EXPORT int pthread_cond_timedwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
				     const struct timespec *restrict abs)
{
	return lk_cond_wait(c, m, LK_TIMED, CLOCK_REALTIME, abs, CT_LK_SITE());
}

CT_EXPORT int pthread_cond_clockwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
				     clockid_t clk, const struct timespec *restrict abs)
{
	return lk_cond_wait(c, m, LK_CLOCK, clk, abs, CT_LK_SITE());
}
