/*
 * lifecycle.c — thread creation, start, end and names for the scheduler trace
 * (lifecycle.h), and the hooks on pthread_setname_np and prctl(PR_SET_NAME).
 *
 * A name set on another thread (pthread_setname_np with a pthread_t not our own) needs that
 * thread's kernel tid, which glibc does not give out: threads the agent saw start (and
 * every thread that created one) are kept in a small table from pthread_t to tid, filled
 * while the trace is on. A name change for a thread not in it is not recorded (perf's COMM
 * records still see it with the perf engine).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

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
} th_map[TH_MAP];

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
	memset(th_map, 0, sizeof(th_map));
}

__attribute__((constructor)) static void th_init(void)
{
	pthread_atfork(NULL, NULL, th_child_reset);
}

/* ---- lifecycle ---- */

void ct_th_create(ct_ev_thread_start *st)
{
	st->creator = 0;
	st->create_stack = 0;
	if (!ct_lk_recording(CT_MODE_SCHED))
		return;
	st->creator = ct_gettid();
	st->create_stack = ct_lk_capture();
	th_map_put((uint64_t)pthread_self(), st->creator);
}

void ct_th_start(const ct_ev_thread_start *st)
{
	if (!ct_lk_sched_on() || !ct_guard_enter())
		return;
	th_map_put((uint64_t)pthread_self(), ct_gettid());
	ct_emit(CT_EV_THREAD_START, 0, st, sizeof(*st));
	ct_guard_exit();
}

void ct_th_exit(void)
{
	ct_lk_thread_exit();
	if (ct_lk_sched_on() && ct_guard_enter()) {
		int saved = errno;
		th_map_del((uint64_t)pthread_self());
		ct_emit(CT_EV_THREAD_END, 0, NULL, 0);
		errno = saved;
		ct_guard_exit();
	}
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
		uint32_t k;
		th_named(pthread_equal(th, pthread_self()) ? ct_gettid()
							   : th_map_find((uint64_t)th, &k),
			 name);
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
	int rc = real_prctl()(option, a2, a3, a4, a5);
	if (rc == 0 && option == PR_SET_NAME && ct_lk_recording(CT_MODE_SCHED))
		th_named(ct_gettid(), (const char *)a2);
	return rc;
}
