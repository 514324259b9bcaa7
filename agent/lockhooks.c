/*
 * lockhooks.c — the pthread and semaphore hooks: contention detection, and the waits and
 * releases they report to the table of pending waits (lockwait.h).
 *
 * Every acquiring hook first tries the lock (trylock, tryrdlock, spin_trylock,
 * sem_trywait). When that succeeds — the uncontended case — the hook returns at once:
 * no clock read, no table access. Only when it fails is the wait timed with
 * CLOCK_MONOTONIC, and recorded with the waiter's stack for the block profile.
 *
 * The mutex profile charges the delay to the thread that HELD the lock, as Go does: a
 * waiter on a mutex or rwlock registers in the table of pending waits (lockwait.h), and an
 * unlock while some thread waits charges it there.
 *
 * Semantics are preserved exactly: trylock succeeds only when the real lock would have
 * acquired at once, return values and errno are those of the real call, timed variants
 * whose arguments the real function checks up front go straight to it, and sem_wait /
 * sem_timedwait test for cancellation before trying, as glibc does. No agent state is held
 * across a real call, so a thread cancelled inside one leaves nothing behind.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "agent/lockprof.h"
#include "agent/lockwait.h"

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
	ct_lkw_waiter w;
	ct_lk_wait cw;
	ct_lk_wait_begin(&cw, CT_WAIT_MUTEX, (uintptr_t)m, 0, site);
	ct_lkw_begin(&w, m, cw.begin);
	int rc = lk_mutex_call(m, how, clk, abs);
	uint64_t t1 = ct_now();
	ct_lkw_done(&w, m, rc, t1);
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

/* glibc's kind bits (nptl/pthreadP.h) of the mutexes whose word is not the plain one
 * below: robust, priority-inheriting, priority-protected. */
#define LK_GLIBC_KIND_OTHER (16 | 32 | 64)

/* Whether the caller's release of m may wake a thread that sleeps on it. The word of a
 * plain glibc mutex (normal, recursive, error-checking, adaptive) is 0 free, 1 held, 2
 * held and some thread went to sleep on it (or its holder took it after sleeping): a
 * release from 1 wakes no one. With many more threads than CPUs a woken waiter can wait
 * long for a CPU, and the threads that take the mutex meanwhile — every release of theirs
 * found a registered waiter — paid a charge each: those releases now charge nothing, and
 * the time goes to the next release that may wake a sleeper, or as wake-up time to the
 * one that woke it (lockwait.h). Relaxed loads of a word the caller's own hold keeps
 * still, but for the 1 -> 2 of a thread going to sleep right now: then this release
 * wakes it uncharged, and its time goes to the next charge. */
static inline int lk_mutex_may_wake(pthread_mutex_t *m)
{
	return (__atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) & LK_GLIBC_KIND_OTHER) ||
	       __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) != 1;
}

/* Fast path: one relaxed load of the table's waiter count, then a jump to the real
 * unlock, with no stack frame of its own. */
CT_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (__builtin_expect(ct_lkw_any(), 0) && lk_mutex_may_wake(m))
		return ct_lkw_unlock_slow(m, lk_mutex_release, CT_LK_SITE());
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
	ct_lkw_waiter w;
	ct_lk_wait cw;
	ct_lk_wait_begin(&cw, CT_WAIT_RWLOCK, (uintptr_t)l, 0, site);
	ct_lkw_begin(&w, l, cw.begin);
	int rc = lk_rw_call(l, wr, how, clk, abs);
	uint64_t t1 = ct_now();
	ct_lkw_done(&w, l, rc, t1);
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
	if (__builtin_expect(ct_lkw_any(), 0))
		return ct_lkw_unlock_slow(l, lk_rw_release, CT_LK_SITE());
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
	ct_lkw_cond_release(m, site);
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
