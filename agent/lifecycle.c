/*
 * lifecycle.c — thread creation, start, end and names for the scheduler trace
 * (lifecycle.h), and the hooks on pthread_setname_np and prctl(PR_SET_NAME).
 *
 * A name set on another thread (pthread_setname_np with a pthread_t not our own) needs that
 * thread's kernel tid, which glibc does not give out: threads the agent saw start (and
 * every thread that created one) are kept in a small table from pthread_t to tid, filled
 * while the trace is on. A name given to a thread that has not started yet (the creator's
 * pthread_setname_np right after pthread_create) waits in a small table for its start; a
 * name change for another thread not in either is not recorded (perf's COMM records still
 * see it with the perf engine).
 *
 * A thread's end also settles its CPU time with the perf engine: each thread's inherited
 * cpu-clock event starts a full period afresh, so a thread that runs less than a period
 * is never sampled, and every thread's last partial period is lost — a storm of short
 * threads had no CPU profile at all. The ending thread adds what it ran since its last
 * sample (its CPU time modulo the period) to a process-wide carry; when the carry
 * completes a period, that thread emits one sample of the period's weight on its start
 * routine (CT_EV_THREAD_CPU). The totals stay honest, the stacks are as deep as the
 * thread's function. The timer engine's first expiry is random, which already makes a
 * short thread's chance of a sample proportional to its CPU time; but CPU timers fire on
 * scheduler ticks, so a thread that ends after its timer expired and before the next tick
 * loses that sample: it emits it the same way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "agent/forkguard.h"
#include "agent/internal.h"
#include "agent/lifecycle.h"
#include "agent/lockprof.h"

CT_LK_DEFINE_REAL(pthread_setname_np, NULL)
CT_LK_DEFINE_REAL(prctl, NULL)

__attribute__((constructor)) static void th_resolve_all(void)
{
	resolve_pthread_setname_np();
	resolve_prctl();
}

/* ---- pthread_t -> tid (open addressing; a tombstone keeps probe chains intact) ---- */

#define TH_MAP 4096		 /* power of two */
#define TH_TOMB UINT64_MAX	 /* a removed entry */
#define TH_BUSY (UINT64_MAX - 1) /* an entry being filled */

static struct {
	_Atomic uint64_t th; /* pthread_t, 0 = never used, or TH_TOMB, TH_BUSY */
	_Atomic uint32_t tid;
} th_map[TH_MAP] CT_PAGE_ALIGNED;
static int th_map_fresh; /* zeroed by the fork itself (forkguard.h) */

static inline uint32_t th_hash(uint64_t th)
{
	return (uint32_t)((th * 0x9e3779b97f4a7c15u) >> 52) & (TH_MAP - 1);
}

/* Only a thread itself adds or removes its own pthread_t, so an entry has one writer. */
static void th_map_put(uint64_t th, uint32_t tid)
{
	for (uint32_t i = 0, h = th_hash(th); i < TH_MAP; i++) {
		uint32_t k = (h + i) & (TH_MAP - 1);
		uint64_t cur = atomic_load_explicit(&th_map[k].th, memory_order_acquire);
		if (cur == th) {
			atomic_store_explicit(&th_map[k].tid, tid, memory_order_relaxed);
			return;
		}
		if (cur != 0 && cur != TH_TOMB)
			continue;
		/* Claimed as busy; relaxed tid, then release of th: a reader that finds th
		 * sees its tid. */
		if (atomic_compare_exchange_strong_explicit(&th_map[k].th, &cur, TH_BUSY,
							    memory_order_acquire,
							    memory_order_relaxed)) {
			atomic_store_explicit(&th_map[k].tid, tid, memory_order_relaxed);
			atomic_store_explicit(&th_map[k].th, th, memory_order_release);
			return;
		}
	}
}

static uint32_t th_map_find(uint64_t th, uint32_t *slot)
{
	for (uint32_t i = 0, h = th_hash(th); i < TH_MAP; i++) {
		uint32_t k = (h + i) & (TH_MAP - 1);
		uint64_t cur = atomic_load_explicit(&th_map[k].th, memory_order_acquire);
		if (cur == 0)
			return 0;
		if (cur == th) {
			*slot = k;
			return atomic_load_explicit(&th_map[k].tid, memory_order_relaxed);
		}
	}
	return 0;
}

static void th_map_del(uint64_t th)
{
	uint32_t k;
	if (th_map_find(th, &k))
		atomic_store_explicit(&th_map[k].th, TH_TOMB, memory_order_release);
}

static void th_child_reset(void)
{
	if (!th_map_fresh)
		memset(th_map, 0, sizeof(th_map));
}

__attribute__((constructor)) static void th_init(void)
{
	th_map_fresh = ct_fork_fresh(th_map, sizeof(th_map));
	pthread_atfork(NULL, NULL, th_child_reset);
}

/* ---- lifecycle ---- */

/* The start routine of the calling thread (0 for threads the agent did not start). */
static __thread uintptr_t th_routine __attribute__((tls_model("initial-exec")));
/* CPU time, in ns, that ended threads ran after their last perf sample, summed: only its
 * value modulo the period matters. Relaxed: a counter; each addition's crossing of a
 * period is decided by the fetch_add itself. */
static _Atomic uint64_t th_carry;

void ct_th_create(ct_ev_thread_start *st, ct_lk_site site)
{
	st->creator = 0;
	st->create_stack = 0;
	if (!ct_lk_recording(CT_MODE_SCHED))
		return;
	st->creator = ct_gettid();
	st->create_stack = ct_lk_stack(site);
	th_map_put((uint64_t)pthread_self(), st->creator);
}

static void th_named(uint32_t tid, const char *name);

/* Names given to threads that had not started yet (pthread_create, then at once
 * pthread_setname_np from the creator): not in th_map, they wait here for the thread's
 * start. Each side checks the other after its own store, so one of them names it. */
#define TH_PENDING 16
static struct {
	_Atomic uint64_t th; /* pthread_t, 0 = free, TH_BUSY while written */
	char name[16];
} th_pending[TH_PENDING];
static _Atomic int th_npending;

static void pending_put(uint64_t th, const char *name)
{
	for (int i = 0; i < TH_PENDING; i++) {
		uint64_t free_ = 0;
		if (!atomic_compare_exchange_strong(&th_pending[i].th, &free_, TH_BUSY))
			continue;
		strncpy(th_pending[i].name, name, sizeof(th_pending[i].name) - 1);
		th_pending[i].name[sizeof(th_pending[i].name) - 1] = 0;
		atomic_store(&th_pending[i].th, th);
		atomic_fetch_add(&th_npending, 1);
		return;
	}
}

/* The name waiting for this thread, if any, is its own now. */
static void pending_take(uint64_t th, uint32_t tid)
{
	if (!atomic_load_explicit(&th_npending, memory_order_relaxed))
		return;
	for (int i = 0; i < TH_PENDING; i++) {
		uint64_t want = th;
		char name[16];
		if (atomic_load(&th_pending[i].th) != th)
			continue;
		memcpy(name, th_pending[i].name, sizeof(name)); /* written before th was */
		if (!atomic_compare_exchange_strong(&th_pending[i].th, &want, 0))
			continue; /* the other side took it */
		atomic_fetch_sub(&th_npending, 1);
		th_named(tid, name);
	}
}

void ct_th_start(const ct_ev_thread_start *st, void *(*routine)(void *))
{
	th_routine = (uintptr_t)routine;
	if (!ct_lk_sched_on() || !ct_guard_enter())
		return;
	th_map_put((uint64_t)pthread_self(), ct_gettid());
	ct_emit(CT_EV_THREAD_START, 0, st, sizeof(*st));
	ct_guard_exit();
	pending_take((uint64_t)pthread_self(), ct_gettid()); /* after START: the later name */
}

uint32_t ct_th_routine_stack(void)
{
	uintptr_t pcs[2] = {th_routine, 0}; /* a sample stack: the leaf pc is exact */
	return th_routine ? ct_stack_intern(pcs, 2) : 0;
}

/* Whether the ending thread owes the CPU profile a sample (see the file comment). */
static int th_cpu_owed(uint64_t period)
{
	if (ct_engine_get() == CT_ENGINE_TIMER)
		return ct_timer_thread_overdue();
	if (ct_engine_get() != CT_ENGINE_PERF)
		return 0;
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	uint64_t rest = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) % period;
	uint64_t before = atomic_fetch_add_explicit(&th_carry, rest, memory_order_relaxed);
	return (before + rest) / period != before / period;
}

/* The ending thread's unsampled CPU time (see the file comment). */
static void th_cpu_settle(void)
{
	if (!th_routine || !(ct_cfg.modes & CT_MODE_CPU) || !ct_active())
		return;
	uint64_t period = 1000000000ull / (uint64_t)ct_cfg.hz;
	if (!th_cpu_owed(period) || !ct_guard_enter())
		return;
	ct_ev_thread_cpu c = {.stack = ct_th_routine_stack(), .weight_ns = period};
	if (c.stack)
		ct_emit(CT_EV_THREAD_CPU, 0, &c, sizeof(c));
	ct_guard_exit();
}

void ct_th_exit(void)
{
	int saved = errno;
	ct_lk_settle_thread();
	th_cpu_settle();
	ct_lk_hold_thread_exit();
	ct_lk_thread_exit();
	if (ct_lk_sched_on() && ct_guard_enter()) {
		th_map_del((uint64_t)pthread_self());
		ct_emit(CT_EV_THREAD_END, 0, NULL, 0);
		ct_guard_exit();
	}
	errno = saved;
	ct_lk_open_waits_release();
}

/* ---- names ---- */

/* Records that thread tid is now called name (truncated as the kernel does). */
static void th_named(uint32_t tid, const char *name)
{
	if (!tid || !ct_guard_enter())
		return;
	int saved = errno;
	ct_rec *rec = ct_emit_reserve(CT_EV_THREAD_NAME, sizeof(ct_ev_comm));
	if (rec) {
		ct_ev_comm c = {.pid = (uint32_t)getpid()};
		strncpy(c.name, name, sizeof(c.name) - 1);
		memcpy(ct_rec_payload(rec), &c, sizeof(c));
		rec->tid = tid;
		rec->time = ct_now();
		ct_emit_commit(rec);
	}
	errno = saved;
	ct_guard_exit();
}

CT_EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
	int rc = real_pthread_setname_np()(th, name);
	if (rc == 0 && ct_lk_recording(CT_MODE_SCHED)) {
		uint32_t k, tid = pthread_equal(th, pthread_self()) ? ct_gettid()
								    : th_map_find((uint64_t)th, &k);
		if (!tid) { /* not started yet: its start takes the name */
			pending_put((uint64_t)th, name);
			if ((tid = th_map_find((uint64_t)th, &k)))
				pending_take((uint64_t)th, tid); /* it started meanwhile */
		} else {
			th_named(tid, name);
		}
	}
	return rc;
}

/* prctl is variadic: its four further arguments are forwarded as unsigned longs, which is
 * how every option reads them (registers on x86-64, whatever the caller passed). */
CT_EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
	unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_SECCOMP)
		ct_before_seccomp("prctl(PR_SET_SECCOMP)", a2, 1);
	int rc = real_prctl()(option, a2, a3, a4, a5);
	if (rc == 0 && option == PR_SET_NAME && ct_lk_recording(CT_MODE_SCHED))
		th_named(ct_gettid(), (const char *)a2);
	return rc;
}
