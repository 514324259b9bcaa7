/*
 * lockprof.c — the lock and block profiles: recording on the program's threads, and the
 * source that aggregates the records on the collector thread and writes mutex.pb.gz and
 * block.pb.gz at exit.
 *
 * The hooks (lockhooks.c, wakehooks.c, iohooks.c, fdhooks.c, futexhook.c) end each
 * blocking call with ct_lk_wait_end() (agent/waitreg.c), call ct_lk_hold_record() when a
 * contended lock was released and ct_lk_unblock() when they release a waiter (scheduler
 * trace). Stacks start at the hook's caller (so the leaf is the program's call site), come
 * from the per-thread stack cache keyed by the hook's call site (stackcache.h) and are
 * interned; each call appends one fixed-size record (CT_EV_LOCK_WAIT, CT_EV_LOCK_HOLD,
 * CT_EV_UNBLOCK). This source subscribes to the first two and sums them per (stack,
 * object, reason) in a libtrace/lockagg.h aggregator, which also names the samples'
 * labels; at exit it writes the profiles with Go's sample types (contentions/count,
 * delay/nanoseconds) so pprof treats them the same way as Go's own. A block profile wait
 * kept with probability p < 1 (waitreg.c's coin) counts 1/p contentions and delay/p ns,
 * like Go's: the count rounded up or down at random so that its expectation is exact.
 * Holds are not sent one by one: each thread batches them (below) into CT_EV_LOCK_HOLD
 * records.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/forkguard.h"
#include "agent/live.h"
#include "agent/lockprof.h"
#include "agent/stackcache.h"
#include "libtrace/lockagg.h"

uint64_t ct_lk_block_min_ns CT_HOT_DATA; /* set by lk_start (constructor); read-only afterwards */

void *ct_lk_resolve(const char *name, const char *ver)
{
	void *f = ver ? dlvsym(RTLD_NEXT, name, ver) : NULL;
	return f ? f : ct_real(name);
}

void ct_lk_missing(const char *name)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "ctrace: no real %s to call\n", name);
	ssize_t w = write(2, msg, (size_t)n);
	(void)w; /* aborting either way */
	abort();
}

/* ---- recording (program threads) ---- */

/* The agent's own code segment: leading frames inside it are trimmed from stacks. Set in
 * lk_start before recording can begin, read-only afterwards. */
static uintptr_t lk_self_lo, lk_self_hi;

static int lk_find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz) {
			lk_self_lo = lo;
			lk_self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

uint32_t ct_lk_capture_guarded(void)
{
	uintptr_t pcs[CT_MAX_FRAMES];
	int n = ct_capture_stack(pcs, CT_MAX_FRAMES, 0);
	int i = 0;
	while (i < n && pcs[i] >= lk_self_lo && pcs[i] < lk_self_hi)
		i++;
	return n > i ? ct_ann_stack(ct_stack_intern(pcs + i, n - i)) : 0; /* + labels */
}

CT_HOT_FN uint32_t ct_lk_site_stack(ct_lk_site site)
{
	/* + the thread's labels, as ct_lk_capture_guarded adds them */
	return site.ra ? ct_ann_stack(ct_stackcache_capture_front(site.ra, site.slot))
		       : ct_lk_capture_guarded();
}

uint32_t ct_lk_stack(ct_lk_site site)
{
	if (!(ct_cfg.modes & (CT_MODE_LOCK | CT_MODE_SCHED)) || !ct_guard_enter())
		return 0;
	int saved = errno;
	uint32_t stack = ct_lk_site_stack(site);
	errno = saved;
	ct_guard_exit();
	return stack;
}

void ct_lk_unblock(uint64_t obj, uint32_t stack, uint32_t woken, ct_lk_site site)
{
	if (!ct_lk_sched_on() || !ct_guard_enter())
		return;
	int saved = errno;
	ct_ev_unblock u = {
		.stack = stack ? stack : ct_lk_site_stack(site), .woken = woken, .obj = obj};
	ct_emit(CT_EV_UNBLOCK, 0, &u, sizeof(u));
	errno = saved;
	ct_guard_exit();
}

/* ---- holds, batched per thread ----
 *
 * A hot lock under contention is charged at nearly every unlock: a record per unlock
 * (64 threads on one mutex: millions a second) overflowed the rings, and reserving them
 * was a large part of what the agent made the program pay. So a thread sums the charges it
 * makes to one (lock, stack) for up to LK_BATCH_NS and emits them as one record when the
 * key changes, the window has passed, or it ends. The sums live in a table rather than in
 * TLS so that the exit path can add what threads still running have not emitted
 * (lk_batches_sweep). Only its owner writes a slot, with relaxed atomic stores; the sweep
 * reads them after the hooks stopped recording, so at worst it misses a charge being made
 * at that very moment. A thread that finds no free slot emits every charge. */

#define LK_BATCH_SLOTS 1024
#define LK_BATCH_NS 10000000 /* 10 ms */

typedef struct {
	_Atomic int owned; /* claimed by a thread (0/1) */
	_Atomic uintptr_t obj;
	_Atomic uint32_t stack, count;
	_Atomic uint64_t delay;
	uint64_t first; /* time of the batch's first charge; owner only */
} __attribute__((aligned(64))) lk_batch;

static lk_batch lk_batches[LK_BATCH_SLOTS] CT_PAGE_ALIGNED;
static int lk_batches_fresh; /* zeroed by the fork itself (forkguard.h) */
/* Bit p: a slot on page p was claimed; the sweep reads no other page (see waitreg.c). */
#define LK_PAGE(i) ((i) * sizeof(lk_batch) / 4096)
static _Atomic uint32_t lk_pages;
_Static_assert(LK_PAGE(LK_BATCH_SLOTS) <= 32, "a bit per page of lk_batches");
static __thread lk_batch *tls_batch __attribute__((tls_model("initial-exec")));
static __thread int tls_batch_none __attribute__((tls_model("initial-exec")));

static void lk_hold_emit(uintptr_t obj, uint32_t stack, uint32_t count, uint64_t delay)
{
	if (!ct_lk_lock_on() || !ct_guard_enter())
		return;
	int saved = errno;
	ct_ev_lock_hold h = {.stack = stack, .count = count, .obj = obj, .delay = delay};
	ct_emit(CT_EV_LOCK_HOLD, 0, &h, sizeof(h));
	errno = saved;
	ct_guard_exit();
}

static lk_batch *lk_batch_slot(void)
{
	if (tls_batch || tls_batch_none)
		return tls_batch;
	uint32_t h = ct_gettid() * 2654435761u;
	for (uint32_t i = 0; i < LK_BATCH_SLOTS; i++) {
		lk_batch *b = &lk_batches[(h + i) & (LK_BATCH_SLOTS - 1)];
		int free_ = 0;
		if (!atomic_load_explicit(&b->owned, memory_order_relaxed) &&
		    atomic_compare_exchange_strong_explicit(
			    &b->owned, &free_, 1, memory_order_acquire, memory_order_relaxed)) {
			atomic_fetch_or_explicit(&lk_pages, 1u << LK_PAGE(b - lk_batches),
						 memory_order_relaxed);
			return tls_batch = b;
		}
	}
	tls_batch_none = 1;
	return NULL;
}

/* Emits the calling thread's batch, if any, and empties it. */
static void lk_batch_flush(lk_batch *b)
{
	uintptr_t obj = atomic_load_explicit(&b->obj, memory_order_relaxed);
	if (!obj)
		return;
	lk_hold_emit(obj, atomic_load_explicit(&b->stack, memory_order_relaxed),
		     atomic_load_explicit(&b->count, memory_order_relaxed),
		     atomic_load_explicit(&b->delay, memory_order_relaxed));
	atomic_store_explicit(&b->obj, 0, memory_order_relaxed);
}

void ct_lk_hold_record(const void *obj, uint32_t stack, uint32_t count, uint64_t delay,
		       uint64_t now)
{
	lk_batch *b = lk_batch_slot();
	if (!b) {
		lk_hold_emit((uintptr_t)obj, stack, count, delay);
		return;
	}
	if (atomic_load_explicit(&b->obj, memory_order_relaxed) == (uintptr_t)obj &&
	    atomic_load_explicit(&b->stack, memory_order_relaxed) == stack &&
	    now - b->first < LK_BATCH_NS) {
		atomic_store_explicit(&b->count,
				      atomic_load_explicit(&b->count, memory_order_relaxed) + count,
				      memory_order_relaxed);
		atomic_store_explicit(&b->delay,
				      atomic_load_explicit(&b->delay, memory_order_relaxed) + delay,
				      memory_order_relaxed);
		return;
	}
	lk_batch_flush(b);
	atomic_store_explicit(&b->stack, stack, memory_order_relaxed);
	atomic_store_explicit(&b->count, count, memory_order_relaxed);
	atomic_store_explicit(&b->delay, delay, memory_order_relaxed);
	b->first = now;
	atomic_store_explicit(&b->obj, (uintptr_t)obj, memory_order_relaxed);
}

void ct_lk_hold_thread_exit(void)
{
	lk_batch *b = tls_batch;
	if (!b)
		return;
	lk_batch_flush(b);
	tls_batch = NULL;
	tls_batch_none = 1; /* later destructors emit directly */
	atomic_store_explicit(&b->owned, 0, memory_order_release);
}

/* ---- aggregation (collector thread): libtrace/lockagg.h ---- */

/* The aggregate: created by lk_start (constructor), fed by the collector, written and
 * freed by the exit path after the collector stopped. */
static ct_lock_agg *lk_agg;

/* The event's payload into out: 1, or 0 when there is no aggregate or it is malformed
 * (counted). */
static int lk_get(const ct_event *ev, void *out, size_t size)
{
	if (!lk_agg)
		return 0;
	if (ct_event_get(ev, out, size))
		return 1;
	ct_lock_agg_drop(lk_agg);
	return 0;
}

/* The collector's generator for rounding weighted counts (xorshift64), and the block
 * profile's sampling figures: waits the coin kept, and how many waits they stand for. */
static uint64_t lk_rng = 0x9e3779b97f4a7c15u;
static uint64_t lk_kept, lk_weighted;
/* With the trace on every wait reaches the source, kept or not: their exact totals (those
 * of at least CTRACE_BLOCK_MIN_NS), which block.pb.gz states beside its estimate. */
static uint64_t lk_all, lk_all_ns;

/* Adds a wait the block profile's coin kept: a wait of d ns shorter than the rate r was
 * kept with probability d / r, so it stands for r / d waits and r ns. */
static void lk_add_block(const ct_ev_lock_wait *w)
{
	uint64_t rate = ct_lk_block_rate, d = w->delay;
	lk_kept++;
	if (rate <= 1 || d >= rate) {
		lk_weighted++;
		ct_lock_agg_add(lk_agg, CT_LOCK_AGG_BLOCK, w->reason, w->obj, w->stack, 1,
				(int64_t)d);
		return;
	}
	if (d == 0)
		d = 1; /* the coin never keeps it; guards the division */
	lk_rng ^= lk_rng << 13;
	lk_rng ^= lk_rng >> 7;
	lk_rng ^= lk_rng << 17;
	uint64_t count = rate / d;
	/* The fraction (rate % d) / d: one more with that probability. */
	if ((uint64_t)(((unsigned __int128)lk_rng * d) >> 64) < rate % d)
		count++;
	lk_weighted += count;
	ct_lock_agg_add_sampled(lk_agg, CT_LOCK_AGG_BLOCK, w->reason, w->obj, w->stack,
				(int64_t)count, (int64_t)rate, (int64_t)w->delay);
}

static void lk_on_wait(const ct_event *ev)
{
	ct_ev_lock_wait w;
	if (!ct_lk_block_on() || !lk_get(ev, &w, sizeof(w)))
		return;
	ct_lk_wait_ns(ev, &w);
	if (w.delay < ct_lk_block_min_ns)
		return;
	lk_all++;
	lk_all_ns += w.delay;
	/* The trace's waits reach here too: the block profile keeps those its coin kept. */
	if (ev->flags & CT_LK_EV_SAMPLED)
		lk_add_block(&w);
}

static void lk_on_hold(const ct_event *ev)
{
	ct_ev_lock_hold h;
	if (lk_get(ev, &h, sizeof(h)))
		ct_lock_agg_add(lk_agg, CT_LOCK_AGG_MUTEX, CT_WAIT_MUTEX, h.obj, h.stack, h.count,
				(int64_t)h.delay);
}

/* The mutex or block profile of what was aggregated so far; NULL when out of memory. */
static ct_profile *lk_build(ct_lock_agg_kind kind, const char *file)
{
	ct_profile *p = ct_out_profile_new();
	if (!p) {
		ct_log("lock: cannot create %s: out of memory", file);
		return NULL;
	}
	if (ct_profile_add_sample_type(p, "contentions", "count") < 0 ||
	    ct_profile_add_sample_type(p, "delay", "nanoseconds") < 0)
		goto nomem;
	p->period_type.type = ct_profile_str(p, "contentions");
	p->period_type.unit = ct_profile_str(p, "count");
	p->period = 1;
	if (!p->period_type.type || !p->period_type.unit)
		goto nomem;
	if (kind == CT_LOCK_AGG_BLOCK) {
		char note[224];
		int n = snprintf(
			note, sizeof(note),
			"ctrace block: sampled at rate %llu ns; %llu waits kept, standing for %llu",
			(unsigned long long)ct_lk_block_rate, (unsigned long long)lk_kept,
			(unsigned long long)lk_weighted);
		/* With the trace on every wait was seen: the exact figures the estimate is of. */
		if (ct_lk_sched_on() && n > 0 && (size_t)n < sizeof(note))
			snprintf(note + n, sizeof(note) - (size_t)n,
				 "; every wait (the trace's): %llu, %llu ns",
				 (unsigned long long)lk_all, (unsigned long long)lk_all_ns);
		if (ct_profile_add_comment(p, note) < 0)
			goto nomem;
	}
	if (ct_lock_agg_dropped(lk_agg)) {
		char note[64];
		snprintf(note, sizeof(note), "lock records dropped: %llu",
			 (unsigned long long)ct_lock_agg_dropped(lk_agg));
		if (ct_profile_add_comment(p, note) < 0)
			goto nomem;
	}
	size_t cursor = 0;
	ct_lock_entry e;
	while (ct_lock_agg_next(lk_agg, kind, &cursor, &e)) {
		char hex[24];
		ct_label labels[3];
		uint32_t n = ct_lock_agg_labels(&e, labels, hex);
		int64_t values[2] = {e.count, e.delay};
		int rc = ct_out_add_stack(p, e.stack, values, labels, n);
		if (rc < 0) {
			ct_log("lock: cannot add a sample to %s: %s", file, strerror(-rc));
			break;
		}
	}
	return p;
nomem:
	ct_log("lock: cannot create %s: out of memory", file);
	ct_profile_free(p);
	return NULL;
}

static void lk_write(ct_lock_agg_kind kind, const char *file)
{
	ct_profile *p = lk_build(kind, file);
	if (p)
		ct_out_write(p, file);
	else
		ct_out_fail(file, "out of memory building it");
}

ct_profile *ct_lock_profile_now(int block)
{
	unsigned mode = block ? CT_MODE_BLOCK : CT_MODE_LOCK;
	if (!lk_agg || !(ct_cfg.modes & mode))
		return NULL;
	return block ? lk_build(CT_LOCK_AGG_BLOCK, CT_FILE_BLOCK)
		     : lk_build(CT_LOCK_AGG_MUTEX, CT_FILE_MUTEX);
}

/* Adds the batches threads have not emitted (exit path: the hooks no longer record). */
static void lk_batches_sweep(void)
{
	uint32_t pages = atomic_load_explicit(&lk_pages, memory_order_relaxed);
	for (int i = 0; i < LK_BATCH_SLOTS; i++) {
		lk_batch *b = &lk_batches[i];
		if (!(pages >> LK_PAGE(i) & 1))
			continue;
		uintptr_t obj = atomic_load_explicit(&b->obj, memory_order_relaxed);
		if (!obj || !ct_lk_lock_on())
			continue;
		ct_lock_agg_add(lk_agg, CT_LOCK_AGG_MUTEX, CT_WAIT_MUTEX, obj,
				atomic_load_explicit(&b->stack, memory_order_relaxed),
				atomic_load_explicit(&b->count, memory_order_relaxed),
				(int64_t)atomic_load_explicit(&b->delay, memory_order_relaxed));
		atomic_store_explicit(&b->obj, 0, memory_order_relaxed);
	}
}

static void lk_finish(void)
{
	if (!lk_agg)
		return;
	ct_stackcache_stats_t sc;
	ct_stackcache_stats(&sc);
	ct_log("hook stacks: %llu from the stack cache (%llu from a thread's last chains), %llu "
	       "cursor walks, %llu cache mismatches (counted under CTRACE_STACK_VERIFY=1)",
	       (unsigned long long)sc.hits, (unsigned long long)sc.front,
	       (unsigned long long)sc.walks, (unsigned long long)sc.mismatches);
	uint64_t deferred, calibrations, late;
	ct_lk_defer_stats(&deferred, &calibrations, &late);
	ct_log("readiness waits: %llu ended at the thread's next hook, %llu timed to calibrate "
	       "that (%llu of them followed by no hook within %u ns)",
	       (unsigned long long)deferred, (unsigned long long)calibrations,
	       (unsigned long long)late, CT_LK_DEFER_GAP_NS);
	lk_batches_sweep();
	if (ct_cfg.modes & CT_MODE_LOCK)
		lk_write(CT_LOCK_AGG_MUTEX, CT_FILE_MUTEX);
	if (ct_cfg.modes & CT_MODE_BLOCK)
		lk_write(CT_LOCK_AGG_BLOCK, CT_FILE_BLOCK);
	ct_lock_agg_free(lk_agg);
	lk_agg = NULL;
}

static int lk_start(void)
{
	ct_env_u64("CTRACE_BLOCK_MIN_NS", 0, UINT64_MAX, &ct_lk_block_min_ns);
	dl_iterate_phdr(lk_find_self, (void *)(uintptr_t)lk_find_self);
	ct_stackcache_init();
	lk_batches_fresh = ct_fork_fresh(lk_batches, sizeof(lk_batches));
	lk_agg = ct_lock_agg_new();
	return lk_agg ? 0 : -ENOMEM;
}

/* A forked child keeps nothing of the parent's aggregates (the pending-wait table is reset
 * by lockhooks.c's own atfork handler). The parent's aggregate is left, not freed: its
 * collector may have been growing it at the fork, and freeing it unmapped pages the fork
 * had just copied (~0.1 ms). The batches are the parent's; only this thread is left. */
static void lk_fork_child(void)
{
	lk_kept = lk_weighted = lk_all = lk_all_ns = 0;
	if (!lk_batches_fresh)
		memset(lk_batches, 0, sizeof(lk_batches));
	atomic_store_explicit(&lk_pages, 0, memory_order_relaxed);
	tls_batch = NULL;
	tls_batch_none = 0;
	lk_agg = ct_lock_agg_new();
}

static const ct_subscription lk_subs[] = {
	{CT_EV_LOCK_WAIT, lk_on_wait},
	{CT_EV_LOCK_HOLD, lk_on_hold},
	{0, NULL},
};

/* Started with the trace too: its hooks' stacks need the agent's code range and the stack
 * cache set up here (it aggregates nothing then). */
CT_SOURCE(lock_source) = {.name = "lock",
			  .mode = CT_MODE_LOCK | CT_MODE_BLOCK | CT_MODE_SCHED,
			  .subs = lk_subs,
			  .start = lk_start,
			  .finish = lk_finish,
			  .fork_child = lk_fork_child};
