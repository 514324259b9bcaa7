/*
 * wakehooks.c — the trace's unblock edges that are not lock releases, and the joins: a
 * condition variable signal or broadcast and a sem_post that release a waiter, and the
 * exit of a thread that another waits to join (lockhooks.c makes the edges of mutex and
 * rwlock releases, from its table of waiters).
 *
 * Signals and posts look for a waiter in glibc's own fields, so that a program without
 * waiters — or without the trace — pays one load of the mode word. A join is a wait
 * (reason join) like any other; while the trace is on the joiner also registers in a small
 * table the thread it waits for, which that thread reads at its exit (ct_lk_thread_exit)
 * to emit the edge with the joiner's tid. Nothing is held across a real call.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

#include "agent/forkguard.h"
#include "agent/lifecycle.h"
#include "agent/lockprof.h"

CT_LK_DEFINE_REAL(pthread_cond_signal, "GLIBC_2.3.2")
CT_LK_DEFINE_REAL(pthread_cond_broadcast, "GLIBC_2.3.2")
CT_LK_DEFINE_REAL(sem_post, NULL)
CT_LK_DEFINE_REAL(pthread_join, NULL)
CT_LK_DEFINE_REAL(pthread_timedjoin_np, NULL)
CT_LK_DEFINE_REAL(pthread_clockjoin_np, NULL)

static void wk_join_child_reset(void);

__attribute__((constructor)) static void wk_resolve_all(void)
{
	resolve_pthread_cond_signal();
	resolve_pthread_cond_broadcast();
	resolve_sem_post();
	resolve_pthread_join();
	resolve_pthread_timedjoin_np();
	resolve_pthread_clockjoin_np();
	pthread_atfork(NULL, NULL, wk_join_child_reset);
}

/* ---- wake-ups: the trace's unblock edges of cond signals and semaphore posts ----
 * Emitted only while the trace is on and the object has a waiter, which these read from
 * glibc's own fields — the same relaxed loads glibc's pthread_cond_signal and sem_post
 * make to skip the futex wake (glibc >= 2.25: a condition variable's __wrefs counts its
 * waiters from bit 3; a semaphore's first 64-bit word its waiters from bit 32). A test
 * of the mode first, so a program without the trace pays one load. */

static inline int wk_cond_has_waiters(pthread_cond_t *c)
{
	return (__atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED) >> 3) != 0;
}

static inline int wk_sem_has_waiters(sem_t *s)
{
	typedef uint64_t __attribute__((may_alias)) wk_word;
	return (__atomic_load_n((wk_word *)(void *)s, __ATOMIC_RELAXED) >> 32) != 0;
}

CT_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
	if (__builtin_expect(ct_lk_sched_on(), 0) && wk_cond_has_waiters(c))
		ct_lk_unblock((uintptr_t)c, 0, 0, CT_LK_SITE());
	return real_pthread_cond_signal()(c);
}

CT_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
	if (__builtin_expect(ct_lk_sched_on(), 0) && wk_cond_has_waiters(c))
		ct_lk_unblock((uintptr_t)c, 0, 0, CT_LK_SITE());
	return real_pthread_cond_broadcast()(c);
}

CT_EXPORT int sem_post(sem_t *s)
{
	if (__builtin_expect(ct_lk_sched_on(), 0) && wk_sem_has_waiters(s))
		ct_lk_unblock((uintptr_t)s, 0, 0, CT_LK_SITE());
	return real_sem_post()(s);
}

/* ---- joins ----
 * For the trace's unblock edge of an exit that releases a joiner, a joiner registers the
 * thread it waits for in a small table (when the trace is on); the ending thread looks
 * itself up there (ct_lk_thread_exit) — one relaxed load of the count while nobody joins. A
 * full table just loses the edge. */

#define WK_JOINS 256

static struct {
	_Atomic uint64_t thread; /* pthread_t waited for; 0 = free */
	_Atomic uint32_t joiner; /* its joiner's tid */
} wk_joins[WK_JOINS] CT_PAGE_ALIGNED;
static int wk_joins_fresh;	   /* zeroed by the fork itself (forkguard.h) */
static _Atomic uint32_t wk_njoins; /* entries in use: the exit path's gate (relaxed) */

__attribute__((constructor)) static void wk_joins_init(void)
{
	wk_joins_fresh = ct_fork_fresh(wk_joins, sizeof(wk_joins));
}

static void wk_join_child_reset(void)
{
	if (!wk_joins_fresh)
		memset(wk_joins, 0, sizeof(wk_joins));
	atomic_store_explicit(&wk_njoins, 0, memory_order_relaxed);
}

/* Registers the calling thread as t's joiner: the entry's index, or -1. */
static int wk_join_register(pthread_t t)
{
	if (!ct_lk_sched_on())
		return -1;
	for (int i = 0; i < WK_JOINS; i++) {
		uint64_t free_slot = 0;
		if (atomic_compare_exchange_strong_explicit(&wk_joins[i].thread, &free_slot,
							    (uint64_t)t, memory_order_relaxed,
							    memory_order_relaxed)) {
			/* Release: the exiting thread that finds its pthread_t (acquire)
			 * also finds the joiner's tid. */
			atomic_store_explicit(&wk_joins[i].joiner, ct_gettid(),
					      memory_order_relaxed);
			atomic_thread_fence(memory_order_release);
			atomic_fetch_add_explicit(&wk_njoins, 1, memory_order_relaxed);
			return i;
		}
	}
	return -1;
}

/* Removes entry i if it still names t (the exiting thread may have taken it). */
static void wk_join_unregister(int i, pthread_t t)
{
	uint64_t expect = (uint64_t)t;
	if (i >= 0 &&
	    atomic_compare_exchange_strong_explicit(&wk_joins[i].thread, &expect, 0,
						    memory_order_relaxed, memory_order_relaxed))
		atomic_fetch_sub_explicit(&wk_njoins, 1, memory_order_relaxed);
}

void ct_lk_thread_exit(void)
{
	if (atomic_load_explicit(&wk_njoins, memory_order_relaxed) == 0)
		return;
	uint64_t self = (uint64_t)pthread_self();
	for (int i = 0; i < WK_JOINS; i++) {
		if (atomic_load_explicit(&wk_joins[i].thread, memory_order_relaxed) != self)
			continue;
		atomic_thread_fence(memory_order_acquire);
		uint32_t joiner = atomic_load_explicit(&wk_joins[i].joiner, memory_order_relaxed);
		uint64_t expect = self;
		if (atomic_compare_exchange_strong_explicit(&wk_joins[i].thread, &expect, 0,
							    memory_order_relaxed,
							    memory_order_relaxed)) {
			atomic_fetch_sub_explicit(&wk_njoins, 1, memory_order_relaxed);
			ct_lk_unblock(self, ct_th_routine_stack(), joiner, (ct_lk_site){0, 0});
		}
	}
}

typedef enum { WK_JOIN, WK_JOIN_TIMED, WK_JOIN_CLOCK } wk_join_how;

static int wk_join_call(pthread_t t, void **ret, wk_join_how how, clockid_t clk,
			const struct timespec *abs)
{
	switch (how) {
	case WK_JOIN:
		return real_pthread_join()(t, ret);
	case WK_JOIN_TIMED:
		return real_pthread_timedjoin_np()(t, ret, abs);
	default:
		return real_pthread_clockjoin_np()(t, ret, clk, abs);
	}
}

static int wk_join(pthread_t t, void **ret, wk_join_how how, clockid_t clk,
		   const struct timespec *abs, ct_lk_site site)
{
	if (!ct_lk_recording(CT_LK_WAIT_MODES))
		return wk_join_call(t, ret, how, clk, abs);
	ct_lk_wait cw;
	ct_lk_wait_begin(&cw, CT_WAIT_JOIN, (uint64_t)t, 0, site);
	int slot = wk_join_register(t);
	int rc = wk_join_call(t, ret, how, clk, abs);
	wk_join_unregister(slot, t);
	ct_lk_wait_end(&cw, ct_now(), rc == 0 || (how != WK_JOIN && rc == ETIMEDOUT));
	return rc;
}

CT_EXPORT int pthread_join(pthread_t t, void **ret)
{
	return wk_join(t, ret, WK_JOIN, 0, NULL, CT_LK_SITE());
}

CT_EXPORT int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abs)
{
	return wk_join(t, ret, WK_JOIN_TIMED, CLOCK_REALTIME, abs, CT_LK_SITE());
}

CT_EXPORT int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clk,
				   const struct timespec *abs)
{
	return wk_join(t, ret, WK_JOIN_CLOCK, clk, abs, CT_LK_SITE());
}
