/*
 * collector.c — the user rings, ct_emit, and the collector thread.
 *
 * Hooks and the timer's signal handler append records to the per-CPU rings (finished waits
 * and unblock edges to their thread's own ring first: hookring.h); the collector thread
 * drains them (and the perf rings) every few milliseconds. Every event — a ring
 * record, or a perf record perf.c decoded — goes through one dispatch (ct_dispatch), which
 * calls every subscriber of its type (agent.h: ct_source.subs), like perf's
 * `struct perf_tool` callbacks: the collector never knows who listens. It runs with every
 * signal blocked and the agent guard set, so nothing it does is recorded or interrupted
 * by the samplers.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/hookring.h"
#include "agent/hot.h"
#include "agent/internal.h"
#include "agent/sighooks.h"
#include "libtrace/clock.h"

extern const ct_source *const __start_ct_sources[] __attribute__((visibility("hidden")));
extern const ct_source *const __stop_ct_sources[] __attribute__((visibility("hidden")));

/* Drain every 25 ms while records flow, backing off to 50 ms while idle (25 ms with the
 * perf engine, sooner while its rings fill fast: perf_period); wake-ups (stop, flush, a
 * ring half full) end the sleep at once. */
#define DRAIN_BUSY_MS 25
#define DRAIN_IDLE_MS 50
#define DRAIN_SMALL_RINGS_MS 5 /* perf rings cut by locked-memory limits */
#define MAX_SUBSCRIBERS 8      /* per event type */

/* Set up by ct_collector_start / ct_collector_fork_child (while no collector runs), then
 * read by every producer: the pthread_create of the collector and the release store of
 * ct_agent_active publish it. */
static ct_ringset *rings CT_HOT_DATA; /* read by every ct_emit (hot.h) */
/* The collector thread's handle and whether it runs: the starting/stopping thread's. */
static pthread_t thread;
static int running;
/* Set (release) by the stopping thread, read (acquire) by the collector: what the stopper
 * did before (sampling stopped) is seen by the collector's final drain. */
static _Atomic int stop_flag;
/* The collector's own CPU time, updated every drain by the collector; read by the exit path
 * after the join (or by the collector itself when it flushes). */
static uint64_t collector_cpu_ns;
/* Records refused before reaching a ring: a counter, added and read relaxed. */
static _Atomic uint64_t emit_drops;

/* Set in a forked child's atfork handler: sources without fork_child stay off there. */
static int in_fork_child;

/* Subscribers per event type, built from the enabled sources before the collector thread
 * starts (subscribe_all) and read only by it (and by the exit path after the join). */
static struct {
	uint8_t n;
	ct_event_fn fn[MAX_SUBSCRIBERS];
} subscribers[CT_EV_NTYPES];
/* The enabled sources' tick callbacks, built and read like subscribers (eight sources
 * tick today: room for four times as many, and a loud log past that). */
#define MAX_TICKERS 32
static void (*tickers[MAX_TICKERS])(uint64_t now);
static unsigned ntickers;

static int source_enabled(const ct_source *s)
{
	return (ct_cfg.modes & s->mode) != 0 && (!in_fork_child || s->fork_child);
}

static void subscribe_all(void)
{
	memset(subscribers, 0, sizeof(subscribers));
	ntickers = 0;
	for (const ct_source *const *s = __start_ct_sources; s < __stop_ct_sources; s++) {
		if (source_enabled(*s) && (*s)->tick) {
			if (ntickers < MAX_TICKERS)
				tickers[ntickers++] = (*s)->tick;
			else
				ct_log("source %s: no room for its tick (MAX_TICKERS)", (*s)->name);
		}
		if (!source_enabled(*s) || !(*s)->subs)
			continue;
		for (const ct_subscription *sub = (*s)->subs; sub->fn; sub++) {
			if (sub->type >= CT_EV_NTYPES ||
			    subscribers[sub->type].n == MAX_SUBSCRIBERS) {
				ct_log("source %s: cannot subscribe to event type %u", (*s)->name,
				       sub->type);
				continue;
			}
			subscribers[sub->type].fn[subscribers[sub->type].n++] = sub->fn;
		}
	}
}

void ct_dispatch(const ct_event *ev)
{
	if (ev->type >= CT_EV_NTYPES)
		return;
	for (unsigned i = 0; i < subscribers[ev->type].n; i++)
		subscribers[ev->type].fn[i](ev);
}

void ct_dispatch_derived(const ct_event *ev, uint16_t type, const void *data, uint32_t len)
{
	ct_event out = {.type = type, .tid = ev->tid, .time = ev->time, .data = data, .len = len};
	ct_dispatch(&out);
}

CT_WARM_FN int ct_emit(uint16_t type, uint16_t flags, const void *payload, uint32_t len)
{
	if (!rings) {
		atomic_fetch_add_explicit(&emit_drops, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	/* A finished wait or an unblock edge: the thread's own ring first (hookring.h). */
	if ((type == CT_EV_LOCK_WAIT || type == CT_EV_UNBLOCK) &&
	    ct_hook_ring_push(type, flags, payload, len) == 0)
		return 0;
	ct_rec *rec = ct_ringset_reserve(rings, type, len);
	if (!rec)
		return -ENOSPC; /* counted by the ring */
	rec->flags = flags;
	rec->tid = ct_gettid();
	rec->time = ct_now();
	memcpy(ct_rec_payload(rec), payload, len);
	ct_ringset_commit(rings, rec);
	return 0;
}

/* The timer sampler writes straight into a reserved record to avoid a second copy. */
ct_rec *ct_emit_reserve(uint16_t type, uint32_t len)
{
	if (!rings)
		return NULL;
	return ct_ringset_reserve(rings, type, len);
}
void ct_emit_commit(ct_rec *rec)
{
	ct_ringset_commit(rings, rec);
}
int ct_emit_has_room(uint32_t len)
{
	return rings && ct_ringset_has_room(rings, len);
}

/* A ring record as an event: the envelope takes tid and time from the record header. */
static void dispatch_rec(const ct_rec *rec, void *arg)
{
	(void)arg;
	ct_event ev = {.type = rec->type,
		       .flags = rec->flags,
		       .tid = rec->tid,
		       .time = rec->time,
		       .data = ct_rec_cpayload(rec),
		       .len = ct_rec_payload_len(rec)};
	ct_dispatch(&ev);
}

/* Calls from other agent threads (the live server) to run on the collector thread, where
 * the sources' aggregates live: one at a time, under call_mu. `accepting` is cleared when
 * the collector ends (the aggregates are written and freed after that). */
typedef struct {
	void (*fn)(void *);
	void *arg;
	int done;
} collector_call;
static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t call_cv = PTHREAD_COND_INITIALIZER;
static collector_call *call_pending; /* under call_mu */
static int accepting;		     /* under call_mu */

/* Collector thread: runs the pending call, if any; closing refuses later ones. */
static void run_calls(int closing)
{
	pthread_mutex_lock(&call_mu);
	if (call_pending) {
		call_pending->fn(call_pending->arg);
		call_pending->done = 1;
		call_pending = NULL;
		pthread_cond_broadcast(&call_cv);
	}
	if (closing) {
		accepting = 0;
		pthread_cond_broadcast(&call_cv);
	}
	pthread_mutex_unlock(&call_mu);
}

int ct_collector_call(void (*fn)(void *), void *arg)
{
	collector_call c = {.fn = fn, .arg = arg};
	int r = 0;
	pthread_mutex_lock(&call_mu);
	while (call_pending && accepting)
		pthread_cond_wait(&call_cv, &call_mu);
	if (!accepting) {
		pthread_mutex_unlock(&call_mu);
		return -ESRCH;
	}
	call_pending = &c;
	ct_collector_wake();
	while (!c.done && accepting)
		pthread_cond_wait(&call_cv, &call_mu);
	if (!c.done) {
		if (call_pending == &c)
			call_pending = NULL;
		r = -ESRCH;
	}
	pthread_mutex_unlock(&call_mu);
	return r;
}

/* Drains every ring, then lets the streaming sources write what they have. Returns the
 * records read, and those of the perf rings in *from_perf when not NULL. */
static size_t drain_all(size_t *from_perf)
{
	size_t n = 0, got, perf = 0;
	ct_modules_hold();
	if (ct_engine_get() == CT_ENGINE_PERF)
		perf = ct_perf_drain();
	if (from_perf)
		*from_perf = perf;
	n += perf;
	while (rings && (got = ct_ringset_consume(rings, dispatch_rec, NULL, 4096)) > 0)
		n += got;
	n += ct_hook_ring_drain();
	ct_modules_release();
	ct_heap_divert_drain(); /* frees the loader made inside stack captures */
	uint64_t now = ct_now();
	for (unsigned i = 0; i < ntickers; i++)
		tickers[i](now);
	return n;
}

/* The collector opens files on its own once it has something to write (the trace's
 * stream once the engine is known, /proc/self files the sources read once): each takes
 * the lowest free descriptor number for a moment. A daemon that closes every fd and
 * reopens /dev/null expecting 0, 1, 2 at the start of main (or in a forked child) got one
 * of ours there and failed (test_fds, ~1 run in 50 on a loaded machine). So the agent's
 * start-up ends with ct_collector_sync: one whole pass, with those opens, before the
 * program goes on. pass_begun and pass_gen count the passes begun and done; the sync waits
 * for the first pass begun after it was called (the one under way may have begun before
 * what it waits for, such as the engine's choice). */
#define SYNC_WAIT_MS 1000
static pthread_mutex_t pass_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pass_cv = PTHREAD_COND_INITIALIZER;
static uint64_t pass_begun, pass_gen; /* under pass_mu */

static void pass_begin(void)
{
	pthread_mutex_lock(&pass_mu);
	pass_begun++;
	pthread_mutex_unlock(&pass_mu);
}

static void pass_done(void)
{
	pthread_mutex_lock(&pass_mu);
	pass_gen++;
	pthread_cond_broadcast(&pass_cv);
	pthread_mutex_unlock(&pass_mu);
}

void ct_collector_sync(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&pass_mu);
	uint64_t want = pass_begun + 1;
	/* Woken before each wait: the collector may be asleep between the passes. */
	for (int ms = 0; pass_gen < want && ms < SYNC_WAIT_MS; ms += 2) {
		pthread_mutex_unlock(&pass_mu);
		ct_collector_wake();
		pthread_mutex_lock(&pass_mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 2000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (pass_gen < want)
			pthread_cond_timedwait(&pass_cv, &pass_mu, &until);
	}
	pthread_mutex_unlock(&pass_mu);
}

/* The collector sleeps on a futex word, never on a file descriptor. It used to poll a
 * wake-up pipe and the perf rings' fds, and both went wrong:
 * - The kernel wakes every poller of an inherited perf event each time one of the program's
 *   threads ends (perf_event_exit_event kicks perf_poll for its hang-up test): a storm of
 *   short threads woke the collector 5-14k times a second, a context switch each (~11 us of
 *   CPU per thread in bench_threads).
 * - A program that closes every fd behind the agent's back (a raw close_range) took the
 *   pipe; reopening it took the lowest free numbers for a moment, the ones a daemon that
 *   has just closed everything expects from its own open(), and its copy to a high number
 *   raced the program's dup2 onto that number (EBUSY; or the program's file taken for the
 *   pipe, its log then receiving wake-up bytes and the collector spinning on it).
 * wake_seq counts wake-ups: a waker bumps it, and makes the futex call only while the
 * collector is (about to be) asleep. Both sides are seq_cst: either the waker sees asleep
 * set and wakes it, or the collector sees the new count and does not sleep (the futex
 * call itself also returns at once once the count moved). Async-signal-safe. */
static _Atomic uint32_t wake_seq;
static _Atomic int asleep;

void ct_collector_wake(void)
{
	atomic_fetch_add_explicit(&wake_seq, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&asleep, memory_order_seq_cst)) {
		int saved = errno;
		syscall(SYS_futex, &wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		errno = saved;
	}
}

/* Sleeps up to ms, or until a wake-up after `seen` (wake_seq read before the pass). */
static void collector_sleep(uint32_t seen, int ms)
{
	atomic_store_explicit(&asleep, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&wake_seq, memory_order_seq_cst) == seen) {
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
		syscall(SYS_futex, &wake_seq, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
	}
	atomic_store_explicit(&asleep, 0, memory_order_relaxed);
}

/* The perf rings are drained on the period alone (their wakeup watermark has no poller),
 * so the period follows how fast they fill: at the rate the last drain saw (fill, in
 * 1/1024ths of a ring, written in since_ns), at most the time a quarter of a ring takes,
 * and never more than DRAIN_PERF_MAX_MS: a 1 MiB ring fills in 25 ms only past ~40 MB/s,
 * twice what one CPU's context switches wrote at their fastest here (bench_sched pinned to
 * a CPU: ~490k switches/s, ~20 MB/s), so a burst that starts during a long sleep is
 * drained in time, and the next periods are shorter. A ring that overflows anyway counts
 * its lost records, as always. */
#define DRAIN_PERF_MAX_MS 25
#define DRAIN_MIN_MS 1
/* Without switch records the perf rings fill at a known highest rate (CPU samples, at
 * most hz a second on a CPU): while nothing else flows (others: the pass's records from
 * other rings), the sleep is what a quarter ring takes at that rate, up to 100 ms
 * (ct_perf_max_sleep_ms). An idle or 99 Hz program's collector then wakes 10 times a
 * second instead of 40. With another mode on, no longer than any idle sleep: a burst of
 * hook records wakes no one (hookring.c). */
static int perf_period(int period_ms, size_t others, uint32_t fill, uint64_t since_ns)
{
	uint32_t bound = ct_perf_max_sleep_ms();
	if (ct_cfg.modes != CT_MODE_CPU && bound > DRAIN_IDLE_MS)
		bound = DRAIN_IDLE_MS;
	if (bound > DRAIN_PERF_MAX_MS && !others)
		period_ms = (int)bound;
	else if (period_ms > DRAIN_PERF_MAX_MS)
		period_ms = DRAIN_PERF_MAX_MS;
	if (fill) {
		uint64_t quarter_ms = since_ns * 256 / fill / 1000000u;
		if (quarter_ms < (uint64_t)period_ms)
			period_ms = quarter_ms < DRAIN_MIN_MS ? DRAIN_MIN_MS : (int)quarter_ms;
	}
	return period_ms;
}

static uint64_t passes; /* the collector's, for CTRACE_VERBOSE */

static void *collector_main(void *arg)
{
	(void)arg;
	ct_tls_guard = 1;
	int period = DRAIN_BUSY_MS;
	uint64_t last_drain = ct_now();
	while (!atomic_load_explicit(&stop_flag, memory_order_acquire)) {
		/* Read before the pass: a wake-up during it makes the next sleep return at once. */
		uint32_t seen = atomic_load_explicit(&wake_seq, memory_order_seq_cst);
		pass_begin();
		size_t from_perf, n = drain_all(&from_perf);
		uint64_t now = ct_now(), since = now - last_drain;
		last_drain = now;
		pass_done();
		struct timespec cpu;
		if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
			collector_cpu_ns =
				(uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
		period = n			      ? DRAIN_BUSY_MS
			 : period * 2 > DRAIN_IDLE_MS ? DRAIN_IDLE_MS
						      : period * 2;
		run_calls(0);
		if (ct_flush_requested()) {
			/* A terminating signal: stop, drain, write everything now. */
			run_calls(1);
			ct_flush_begin();
			drain_all(NULL);
			ct_flush_end();
			return NULL;
		}
		if (ct_engine_get() == CT_ENGINE_PERF)
			period = perf_period(period, n - from_perf, ct_perf_fill(), since);
		if (atomic_load_explicit(&ct_perf_small_rings, memory_order_relaxed) &&
		    period > DRAIN_SMALL_RINGS_MS)
			period = DRAIN_SMALL_RINGS_MS;
		passes++;
		collector_sleep(seen, period);
	}
	drain_all(NULL);
	run_calls(1);
	ct_log("collector: %llu passes", (unsigned long long)passes);
	uint64_t da, df, dfb;
	ct_heap_divert_stats(&da, &df, &dfb);
	if (da || df || dfb)
		ct_log("stack captures: %llu allocations from the arena, %llu frees put aside, "
		       "%llu allocations the full arena left to the allocator",
		       (unsigned long long)da, (unsigned long long)df, (unsigned long long)dfb);
	return NULL;
}

static int start_thread(void)
{
	int r = ct_sig_thread_create(&thread, collector_main, "ctrace-collect");
	if (r)
		return r;
	running = 1;
	pthread_mutex_lock(&call_mu);
	accepting = 1;
	pthread_mutex_unlock(&call_mu);
	return 0;
}

int ct_collector_start(void)
{
	rings = ct_ringset_create(ct_cfg.ring_bytes);
	if (!rings)
		return -errno;
	if (ct_hook_ring_init() < 0)
		ct_log("no thread rings for hook records: they take the shared rings");
	for (const ct_source *const *s = __start_ct_sources; s < __stop_ct_sources; s++)
		if (source_enabled(*s) && (*s)->start && (*s)->start() < 0)
			ct_log("source %s failed to start", (*s)->name);
	subscribe_all();
	return start_thread();
}

uint64_t ct_collector_cpu_ns(void)
{
	return collector_cpu_ns;
}

void ct_collector_stop(void)
{
	if (!running)
		return;
	atomic_store_explicit(&stop_flag, 1, memory_order_release);
	ct_collector_wake();
	pthread_join(thread, NULL);
	running = 0;
	if (ct_hook_ring_full())
		ct_log("hook rings: %llu records took the shared rings (their thread's ring was "
		       "full)",
		       (unsigned long long)ct_hook_ring_full());
}

void ct_sources_finish(void)
{
	for (const ct_source *const *s = __start_ct_sources; s < __stop_ct_sources; s++)
		if (source_enabled(*s) && (*s)->finish)
			(*s)->finish();
}

uint64_t ct_collector_dropped(void)
{
	uint64_t n = atomic_load_explicit(&emit_drops, memory_order_relaxed);
	if (rings) {
		ct_ring_stats st;
		ct_ringset_get_stats(rings, &st);
		n += st.dropped;
	}
	return n;
}

int ct_collector_fork_child(void)
{
	/* Only the forking thread exists now. The parent's rings may hold records other
	 * threads reserved but never committed: start from fresh ones. */
	running = 0;
	atomic_store_explicit(&stop_flag, 0, memory_order_relaxed); /* single-threaded here */
	/* The parent's server thread may have held call_mu at the fork, its collector
	 * pass_mu. */
	pthread_mutex_init(&call_mu, NULL);
	pthread_mutex_init(&pass_mu, NULL);
	pthread_cond_init(&pass_cv, NULL);
	pass_begun = pass_gen = 0; /* the parent's may have been mid-pass */
	pthread_cond_init(&call_cv, NULL);
	call_pending = NULL;
	accepting = 0;
	in_fork_child = 1;
	if (rings && ct_ringset_fork_reset(rings) < 0) {
		ct_ringset *old = rings;
		rings = NULL;
		ct_ringset_destroy(old);
	}
	ct_hook_ring_fork_child();
	if (!rings)
		rings = ct_ringset_create(ct_cfg.ring_bytes);
	if (!rings)
		return -errno;
	for (const ct_source *const *s = __start_ct_sources; s < __stop_ct_sources; s++)
		if (source_enabled(*s))
			(*s)->fork_child();
	subscribe_all();
	return start_thread();
}
