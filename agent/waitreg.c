/*
 * waitreg.c — the waits in progress: which blocking hook each thread is inside now, since
 * when, on what object and from which stack (lockprof.h: ct_lk_wait_begin/_end,
 * ct_lk_open_waits).
 *
 * The scheduler trace learns a finished wait from its CT_EV_LOCK_WAIT record (start and
 * delay); a wait that never finishes — a thread blocked forever at exit, the thread
 * analogue of a leaked goroutine — has no record, so the exit path asks this registry.
 *
 * Each thread that waits keeps its open wait in a record in its own TLS and owns one slot
 * of a fixed table that points to that record, claimed on its first wait (a
 * compare-and-swap of its tid into a free slot) and released at its exit (the agent's TSD
 * destructor: ct_lk_thread_exit). Only the owner writes its record, under a sequence count
 * (odd while it writes), so that a reader on another thread — or in a signal handler —
 * sees a consistent record or retries; a reader copies it with process_vm_readv, which
 * fails rather than faults should the thread be gone, and gives up on a record after a
 * few retries (its owner may be the very thread the reader interrupted). No allocation,
 * no lock: the table is static, bounded (a thread finding it full just has no entry), and
 * reading it is async-signal-safe. A wait that starts while another is open on the same
 * thread (a signal handler's write during a blocked read) leaves the record to the outer
 * wait.
 *
 * Stacks come from the per-thread stack cache (stackcache.h), keyed by the hook's call site:
 * a wait repeated from one call chain — an event loop's epoll_wait — costs a few loads.
 * With the trace on, a wait's stack is taken at its entry, once (the same one its
 * finished-wait record carries). With the block profile alone it is taken at the end and
 * only for a wait that won the profile's coin (below), so a wait that lost it costs the
 * two clock reads and this registry's stores. A readiness wait (CT_LK_POLL: an event loop's
 * epoll_wait) shorter than ct_lk_io_min_ns is not sent to the trace either, so it takes its
 * stack at the end too, only when it is recorded: one that did not block and lost the coin
 * costs no more — except a deferred one (below), which takes it at its entry: it ends in
 * another hook, elsewhere on the stack. Hooks on hot calls that rarely block (read, write:
 * CT_LK_LAZY) take it at the end and only when the call did block. A slot without a stack carries
 * the hook's return address, which the reader interns as a one-frame stack when the wait is still
 * open — except a readiness wait's, which also carries its caller's stack pointer: its
 * thread sleeps in the call, so the reader unwinds a copy of that stack (wr_frozen_stack).
 *
 * The file, socket and readiness hooks time their calls with the cheap clock (CT_LK_TICKS:
 * ct_fast_now, one rdtsc) once the collector measured the tick rate; their records and
 * registry slots carry ticks, which the collector converts (ct_lk_wait_ns,
 * ct_lk_open_waits).
 *
 * The coin (Go's block profile sampling): a wait of d ns is kept with probability
 * p = min(1, d / ct_lk_block_rate), drawn from a per-thread xorshift generator; the
 * collector weights a kept wait by 1/p (lockprof.c), so the profile's totals are unbiased.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent/forkguard.h"
#include "agent/internal.h"
#include "agent/lockprof.h"

#define WR_SLOTS 4096 /* threads with a slot at once; power of two */
#define WR_RETRIES 64 /* a reader's attempts at one slot */

/* A thread's open wait, in the thread's own TLS. Fields other than seq are written by the
 * owner only, with relaxed atomic stores between the two increments of seq (release); a
 * reader copies seq, the record and seq again (wr_peek: it may be another thread's TLS
 * that is going away), the usual sequence lock. */
typedef struct {
	_Atomic uint32_t seq; /* odd while the owner writes */
	uint32_t tid;	      /* the owner, set when it claims its slot */
	uint32_t reason;
	uint32_t stack;
	uint64_t obj;
	uint64_t begin; /* 0 = not inside a wait */
	uint64_t ra;	/* a wait without a stack: the hook's return address */
	uint64_t sp;	/* a CT_LK_POLL wait: the hook's caller's stack pointer, else 0 */
} wr_rec;

/* The table of threads with a record: claimed by a compare-and-swap of the tid, then the
 * record's address; both cleared at the thread's exit. */
typedef struct {
	_Atomic uint32_t tid; /* the owner; 0 = free */
	_Atomic(wr_rec *) rec;
} wr_slot;

static wr_slot wr_table[WR_SLOTS] CT_PAGE_ALIGNED;
/* Bit p: a slot on page p of the table was claimed. The readers skip the others: reading
 * a page never written faults it in (~16 faults at each process's exit). */
#define WR_PAGE(i) ((i) * sizeof(wr_slot) / 4096)
static _Atomic uint32_t wr_pages;
_Static_assert(WR_PAGE(WR_SLOTS) <= 32, "a bit per page of wr_table");
static int wr_table_fresh; /* zeroed by the fork itself (forkguard.h) */
/* The thread's own state: its slot; its record; whether a wait of the thread holds the
 * record (set before the record is written, so that a signal handler's wait in between
 * leaves it alone); the coin's generator (xorshift64, seeded on first use). The record is
 * thread-local, not in the shared table: after a system call — every hook's real call —
 * a table slot's page missed the TLB on these machines (the costliest stores of a hook
 * that did not wait), while thread-local data sits beside the thread's control block,
 * whose page libc touches around every call anyway. One object, reached through an offset
 * kept on the hot page (hot.h), so that no GOT load precedes it. */
typedef struct {
	wr_slot *self;
	int busy;
	int *err; /* the thread's errno, once known: __errno_location is a call into libc */
	uint64_t rng;
	wr_rec rec;
	/* Deferred readiness waits (below): the wait whose call has not been seen to return
	 * (pending), the calibration that ended a timed one at calib_end (in calib_ticks'
	 * clock) and waits for the thread's next hook, and the trust they earned. */
	ct_lk_wait pend;
	int pending, calib_due, calib_ticks, in_defer;
	uint32_t calls, good, deferred; /* deferred: not yet added to wr_deferred */
	uint64_t calib_end;
} wr_tls_t;
static __thread wr_tls_t wr_tls __attribute__((tls_model("initial-exec")));
static intptr_t wr_tls_off CT_HOT_DATA; /* set by wr_init; relaxed: either value works */

static inline wr_tls_t *wr_me(void)
{
	intptr_t off = __atomic_load_n(&wr_tls_off, __ATOMIC_RELAXED);
	return __builtin_expect(off != 0, 1) ? (wr_tls_t *)ct_tls_at(off) : &wr_tls;
}

#define WR_SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
/* A slot's reason with this bit: its begin is in ticks (a CT_LK_TICKS wait). */
#define WR_REASON_TICKS 0x80000000u

/* Claims a slot for the calling thread: NULL when the table is full. */
static __attribute__((noinline)) wr_slot *wr_slot_claim(wr_tls_t *me)
{
	uint32_t tid = ct_gettid();
	me->rec.tid = tid;
	for (uint32_t i = 0; i < WR_SLOTS; i++) {
		wr_slot *s = &wr_table[(tid + i) & (WR_SLOTS - 1)];
		uint32_t free_tid = 0;
		/* Relaxed: the slot's fields are published by its sequence count. */
		if (atomic_load_explicit(&s->tid, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong_explicit(
			    &s->tid, &free_tid, tid, memory_order_relaxed, memory_order_relaxed)) {
			/* Release: a reader that finds the record finds its tid. */
			atomic_store_explicit(&s->rec, &me->rec, memory_order_release);
			atomic_fetch_or_explicit(&wr_pages, 1u << WR_PAGE(s - wr_table),
						 memory_order_relaxed);
			me->self = s;
			return s;
		}
	}
	return NULL;
}

/* The calling thread's slot, claimed on first use; NULL when the table is full. */
static inline wr_slot *wr_slot_get(void)
{
	wr_tls_t *me = wr_me();
	if (__builtin_expect(me->self != NULL, 1))
		return me->self;
	return wr_slot_claim(me);
}

/* Opens the slot for w, unless another wait of this thread holds it. Inlined: in the
 * general text it is one more page to walk after a system call. */
static inline __attribute__((always_inline)) void wr_open(ct_lk_wait *w)
{
	wr_tls_t *me = wr_me();
	w->slot = 0;
	if (me->busy)
		return;
	me->busy = 1;
	atomic_signal_fence(memory_order_seq_cst); /* busy before the slot changes */
	wr_slot *s = wr_slot_get();
	if (!s) {
		atomic_signal_fence(memory_order_seq_cst);
		me->busy = 0;
		return;
	}
	wr_rec *r = &me->rec;
	uint32_t q = atomic_load_explicit(&r->seq, memory_order_relaxed); /* only we write it */
	atomic_store_explicit(&r->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release); /* odd before the fields change */
	WR_SET(r->reason, w->reason | (w->flags & CT_LK_TICKS ? WR_REASON_TICKS : 0));
	WR_SET(r->stack, w->stack);
	WR_SET(r->obj, w->obj);
	WR_SET(r->ra, (uint64_t)w->site.ra);
	WR_SET(r->sp, w->flags & CT_LK_POLL ? (uint64_t)w->site.slot + sizeof(uintptr_t) : 0);
	WR_SET(r->begin, w->begin ? w->begin : 1);
	atomic_store_explicit(&r->seq, q + 2, memory_order_release); /* fields, then even */
	w->slot = 1;
}

/* Closes w's slot (when w opened it). */
static void wr_close(const ct_lk_wait *w)
{
	wr_tls_t *me = wr_me();
	if (!w->slot)
		return;
	wr_rec *r = &me->rec;
	uint32_t q = atomic_load_explicit(&r->seq, memory_order_relaxed);
	atomic_store_explicit(&r->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	WR_SET(r->begin, 0);
	atomic_store_explicit(&r->seq, q + 2, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst); /* the record closed, then free for others */
	me->busy = 0;
}

uint64_t ct_lk_io_min_ns = 10000; /* set by wr_init (constructor); read-only afterwards */
uint64_t ct_lk_block_rate = CT_LK_BLOCK_RATE; /* likewise */

/* What ct_lk_wait_begin and _end read on every call, in one cache line: after the hook's
 * system call every separate global was a cache miss of its own (perf annotate of an event
 * loop's epoll_wait). tick_ns_q32 is written by the collector (relaxed: below); the copies
 * of ct_lk_io_min_ns and ct_lk_block_rate by wr_init. */
static struct {
	_Alignas(64) uint64_t tick_ns_q32;
	uint64_t io_min_ns, block_rate;
} wr_hot CT_HOT_DATA = {0, 10000, CT_LK_BLOCK_RATE};

static int wr_is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* ---- the tick rate ----
 * CT_LK_TICKS waits compare their delay with the thresholds (ns) and toss the coin in ns;
 * timestamps are converted exactly by the collector (ct_fast_to_ns), but the hot path needs
 * only a rate: ns per tick in 32.32 fixed point, measured by the collector between a pair
 * taken at its first tick and one at each later tick (while the span is under a minute),
 * published once the span is 20 ms (a pair's uncertainty, ~50 ns, is then 2.5 ppm of it).
 * 0 until then, and where ct_fast_now reads clock_gettime: waits use ct_now. */
static ct_tick_pair wr_pair0; /* the collector's */

static void wr_rate_tick(uint64_t now)
{
	(void)now;
	if (!ct_fast_tsc)
		return;
	ct_tick_pair p;
	ct_tick_pair_take(&p);
	if (!wr_pair0.ticks || p.ticks <= wr_pair0.ticks || p.ns <= wr_pair0.ns) {
		wr_pair0 = p;
		return;
	}
	uint64_t span = p.ns - wr_pair0.ns;
	if (span < 20000000u || (span > 60000000000u && wr_hot.tick_ns_q32))
		return;
	uint64_t q = (uint64_t)(((unsigned __int128)span << 32) / (p.ticks - wr_pair0.ticks));
	/* Stored only when it moved by more than 0.1% (the hooks use it for thresholds and
	 * the coin): each store takes the hooks' line away from the program's threads. */
	uint64_t old = __atomic_load_n(&wr_hot.tick_ns_q32, __ATOMIC_RELAXED);
	uint64_t diff = q > old ? q - old : old - q;
	if (!old || diff > old >> 10)
		__atomic_store_n(&wr_hot.tick_ns_q32, q, __ATOMIC_RELAXED);
}

/* The child keeps the rate (the counter runs on). */
static void wr_rate_fork_child(void) {}

static const ct_subscription wr_rate_subs[] = {{0, NULL}};

CT_SOURCE(wait_rate_source) = {
	.name = "waitrate",
	.mode = CT_LK_WAIT_MODES,
	.subs = wr_rate_subs,
	.tick = wr_rate_tick,
	.fork_child = wr_rate_fork_child,
};

void ct_lk_wait_ns(const ct_event *ev, ct_ev_lock_wait *w)
{
	if (!(ev->flags & CT_LK_EV_TICKS))
		return;
	uint64_t start = ct_fast_to_ns(w->start), end = ct_fast_to_ns(w->start + w->delay);
	w->start = start;
	w->delay = end > start ? end - start : 0;
}

/* Whether a wait of delay ns is kept by the block profile: always when delay >= rate,
 * else with probability delay / rate. Hot: a few instructions, no call. */
static inline int wr_coin(uint64_t delay)
{
	wr_tls_t *me = wr_me();
	uint64_t rate = wr_hot.block_rate;
	if (delay >= rate || rate <= 1)
		return 1;
	uint64_t x = me->rng;
	if (__builtin_expect(x == 0, 0))
		x = ((uint64_t)ct_gettid() << 32 ^ (uintptr_t)&x ^ ct_now()) | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	me->rng = x;
	/* A uniform draw in [0, rate): the high half of x * rate. */
	return (uint64_t)(((unsigned __int128)x * rate) >> 64) < delay;
}

/* The stack at a wait's entry (the trace's, for a wait that is not CT_LK_LAZY or
 * CT_LK_POLL, and a deferred wait's), from the stack cache; 0 when the guard cannot be
 * entered. The stack cache preserves errno (stackcache.h): only a full capture (no call
 * site) is bracketed, as in wr_record — errno's page and libc's __errno_location were
 * nearly all of a deferred wait's capture (perf annotate, redis-server). */
static CT_HOT_FN __attribute__((noinline)) uint32_t wr_entry_stack(ct_lk_site site)
{
	if (!ct_guard_enter())
		return 0;
	uint32_t stack;
	if (site.ra) {
		stack = ct_lk_site_stack(site);
	} else {
		int saved = errno;
		stack = ct_lk_site_stack(site);
		errno = saved;
	}
	ct_guard_exit();
	return stack;
}

CT_WARM_FN void ct_lk_wait_begin(ct_lk_wait *w, ct_wait_reason reason, uint64_t obj, unsigned flags,
				 ct_lk_site site)
{
	ct_lk_settle();
	if ((flags & CT_LK_TICKS) && !__atomic_load_n(&wr_hot.tick_ns_q32, __ATOMIC_RELAXED))
		flags &= ~(unsigned)CT_LK_TICKS;
	w->reason = reason;
	w->obj = obj;
	w->stack = 0;
	w->flags = (uint16_t)flags;
	w->site = site;
	w->slot = 0;
	/* A CT_LK_TICKS wait is kept only once the rate is known, which is only on the TSC. */
	w->begin = (flags & CT_LK_TICKS) ? ct_tsc() : ct_now();
	if (!(ct_cfg.modes & CT_LK_WAIT_MODES))
		return;
	if (!(flags & (CT_LK_LAZY | CT_LK_POLL)) && ct_lk_sched_on())
		w->stack = wr_entry_stack(site);
	wr_open(w);
}

/* ---- deferred readiness waits ----
 * An event loop's readiness wait returns into the hook, which then ends the wait: on these
 * machines, with the TLB emptied by the system call, that return alone cost the program
 * about a point of its CPU profile (redis-server: 2.3% with it, 1.3% when the hook jumps to
 * libc instead of calling it), and ending the wait after it another. So once a thread has
 * shown that its next hook follows its readiness waits' returns promptly, the hook only
 * opens the wait (time, registry, stack from the stack cache) and jumps to the real call;
 * the wait ends at the thread's next hook that may block or does file I/O (ct_lk_settle),
 * or at its next readiness wait, its exit or the agent's. The end is then late by the time
 * from the call's return to that hook, which the thread keeps measuring: every
 * WR_DEFER_EVERY-th readiness wait is timed as before, and the time from its return to
 * the next hook (the gap) must stay under WR_DEFER_GAP_NS for WR_DEFER_TRUST timed waits
 * in a row before waits are deferred again; one gap over it stops deferral. Each further
 * WR_DEFER_TRUST good gaps in a row double the interval, up to WR_DEFER_EVERY_MAX: a timed
 * wait returns through its hook, and at every 16th that was about a tenth of a point of
 * redis-server's CPU profile. So a thread that stops being prompt has at most that many
 * waits ended late before deferral stops. A thread whose readiness waits are followed by
 * work without hooks (a script interpreter's callbacks) keeps timing every wait. */
#define WR_DEFER_GAP_NS CT_LK_DEFER_GAP_NS
#define WR_DEFER_TRUST 4
#define WR_DEFER_EVERY 16
#define WR_DEFER_EVERY_MAX 64

/* Set while the thread has a deferred wait or a calibration to settle: the one flag the
 * other hooks test (ct_lk_settle), in the thread's TLS, its offset on the hot page. */
__thread int ct_lk_unsettled __attribute__((tls_model("initial-exec")));
intptr_t ct_lk_unsettled_off CT_HOT_DATA;
/* Readiness waits deferred, timed for calibration, and calibrations whose gap was over
 * WR_DEFER_GAP_NS: for the exit log. Relaxed. */
static _Atomic uint64_t wr_deferred, wr_calibrations, wr_late;

static inline int *wr_unsettled(void)
{
	intptr_t off = __atomic_load_n(&ct_lk_unsettled_off, __ATOMIC_RELAXED);
	return __builtin_expect(off != 0, 1) ? (int *)ct_tls_at(off) : &ct_lk_unsettled;
}

/* A timed readiness wait ended at end: when it was a calibration, the next hook measures
 * the gap. */
static CT_WARM_FN void wr_calibrate(const ct_lk_wait *w, uint64_t end)
{
	wr_tls_t *me = wr_me();
	if (!me->calib_due)
		return;
	me->calib_due = 0;
	me->calib_end = end;
	me->calib_ticks = (w->flags & CT_LK_TICKS) != 0;
	atomic_signal_fence(memory_order_seq_cst);
	*wr_unsettled() = 1;
	atomic_fetch_add_explicit(&wr_calibrations, 1, memory_order_relaxed);
}

static inline uint64_t wr_ticks_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * wr_hot.tick_ns_q32) >> 32);
}

CT_HOT_FN __attribute__((noinline)) void ct_lk_settle_slow(void)
{
	wr_tls_t *me = wr_me();
	/* Inside the agent, or interrupting this very code (a signal handler's hook): the
	 * thread's next hook settles. */
	if (*ct_guard_word() || me->in_defer)
		return;
	me->in_defer = 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (me->calib_end) {
		uint64_t now = me->calib_ticks ? ct_tsc() : ct_now();
		uint64_t gap = now - me->calib_end;
		if (me->calib_ticks)
			gap = wr_ticks_ns(gap);
		me->calib_end = 0;
		if (gap <= WR_DEFER_GAP_NS) {
			if (me->good < UINT32_MAX)
				me->good++;
		} else {
			me->good = 0;
			atomic_fetch_add_explicit(&wr_late, 1, memory_order_relaxed);
		}
	}
	if (me->pending) {
		ct_lk_wait w = me->pend;
		me->pending = 0;
		ct_lk_wait_end(&w, (w.flags & CT_LK_TICKS) ? ct_tsc() : ct_now(), 1);
	}
	*wr_unsettled() = 0;
	atomic_signal_fence(memory_order_seq_cst);
	me->in_defer = 0;
}

/* The interval between timed waits of a thread with good gaps in a row (a power of two). */
static inline uint32_t wr_defer_every(uint32_t good)
{
	uint32_t every = WR_DEFER_EVERY;
	for (uint32_t g = good - WR_DEFER_TRUST; g >= WR_DEFER_TRUST && every < WR_DEFER_EVERY_MAX;
	     g -= WR_DEFER_TRUST)
		every *= 2;
	return every;
}

CT_HOT_FN __attribute__((noinline)) int ct_lk_poll_defer(ct_wait_reason reason, uint64_t obj,
							 ct_lk_site site)
{
	ct_lk_settle();
	wr_tls_t *me = wr_me();
	/* busy: inside another wait (a signal handler's); the tick rate unknown: no cheap
	 * clock to settle with. */
	if (me->in_defer || me->busy || !__atomic_load_n(&wr_hot.tick_ns_q32, __ATOMIC_RELAXED))
		return 0;
	if (me->good < WR_DEFER_TRUST || (++me->calls & (wr_defer_every(me->good) - 1)) == 0) {
		me->calib_due = 1;
		return 0;
	}
	me->in_defer = 1;
	atomic_signal_fence(memory_order_seq_cst);
	ct_lk_wait *w = &me->pend;
	*w = (ct_lk_wait){
		.obj = obj, .site = site, .reason = reason, .flags = CT_LK_POLL | CT_LK_TICKS};
	/* The stack now: when the wait ends the thread is elsewhere. */
	w->stack = wr_entry_stack(site);
	w->begin = ct_tsc();
	wr_open(w);
	me->pending = 1;
	atomic_signal_fence(memory_order_seq_cst);
	*wr_unsettled() = 1;
	me->in_defer = 0;
	if (++me->deferred == 1024) {
		atomic_fetch_add_explicit(&wr_deferred, me->deferred, memory_order_relaxed);
		me->deferred = 0;
	}
	return 1;
}

void ct_lk_settle_thread(void)
{
	ct_lk_settle_slow();
	wr_tls_t *me = wr_me();
	atomic_fetch_add_explicit(&wr_deferred, me->deferred, memory_order_relaxed);
	me->deferred = 0;
}

void ct_lk_defer_stats(uint64_t *deferred, uint64_t *calibrations, uint64_t *late)
{
	*deferred = atomic_load_explicit(&wr_deferred, memory_order_relaxed);
	*calibrations = atomic_load_explicit(&wr_calibrations, memory_order_relaxed);
	*late = atomic_load_explicit(&wr_late, memory_order_relaxed);
}

/* Emits the record of w, which waited delay (in its clock), for the trace and — when
 * sampled — the block profile; its stack is taken now when it has none. errno is the
 * real call's: the stack cache preserves it (stackcache.h), and the record makes no
 * system call but a thread's first ring mapping, which saves it (hookring.c); only a full
 * capture (no call site) and the socket check are bracketed here. Not reading it
 * otherwise matters: errno lies on a page of the thread's TLS that nothing else here
 * touches, a page walk per recorded wait after its system call. */
static CT_WARM_FN void wr_record(ct_lk_wait *w, uint64_t delay, int sampled)
{
	if (!ct_guard_enter())
		return;
	int *err = NULL, saved = 0;
	if (!w->site.ra || (w->flags & CT_LK_FD)) {
		wr_tls_t *me = wr_me();
		if (__builtin_expect(!me->err, 0))
			me->err = &errno;
		err = me->err;
		saved = *err;
	}
	if (!w->stack)
		w->stack = ct_lk_site_stack(w->site);
	if ((w->flags & CT_LK_FD) && w->reason == CT_WAIT_IO && wr_is_socket((int)w->obj))
		w->reason = CT_WAIT_NET;
	ct_ev_lock_wait ev = {.stack = w->stack,
			      .reason = w->reason,
			      .obj = w->obj,
			      .start = w->begin,
			      .delay = delay};
	ct_emit(CT_EV_LOCK_WAIT,
		(sampled ? CT_LK_EV_SAMPLED : 0) | (w->flags & CT_LK_TICKS ? CT_LK_EV_TICKS : 0),
		&ev, sizeof(ev));
	if (err)
		*err = saved;
	ct_guard_exit();
}

CT_HOT_FN void ct_lk_wait_end(ct_lk_wait *w, uint64_t end, int waited)
{
	wr_close(w);
	if (__builtin_expect((w->flags & CT_LK_POLL) != 0, 0))
		wr_calibrate(w, end);
	if (!waited || !(ct_cfg.modes & CT_LK_WAIT_MODES))
		return;
	uint64_t delay = end - w->begin, ns = delay;
	if (w->flags & CT_LK_TICKS) /* approximate: for the thresholds and the coin only */
		ns = (uint64_t)(((unsigned __int128)delay * wr_hot.tick_ns_q32) >> 32);
	if ((w->flags & CT_LK_LAZY) && ns < wr_hot.io_min_ns)
		return;
	/* The coin first: ct_lk_block_min_ns is then read only for the few waits it kept. */
	int sampled = ct_lk_block_on() && wr_coin(ns) && ns >= ct_lk_block_min_ns;
	int traced = ct_lk_sched_on() && (!(w->flags & CT_LK_POLL) || ns >= wr_hot.io_min_ns);
	if (sampled || traced)
		wr_record(w, delay, sampled);
}

void ct_lk_open_waits_release(void)
{
	wr_tls_t *me = wr_me();
	wr_slot *s = me->self;
	if (!s)
		return;
	me->self = NULL;
	me->busy = 1; /* no slot any more: a later wait of this thread (a TSD destructor's) is
		       * not listed */
	wr_rec *r = &me->rec;
	uint32_t q = atomic_load_explicit(&r->seq, memory_order_relaxed);
	atomic_store_explicit(&r->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	WR_SET(r->begin, 0);
	atomic_store_explicit(&r->seq, q + 2, memory_order_release);
	atomic_store_explicit(&s->rec, NULL, memory_order_relaxed);
	/* Release: a later owner's claim sees the slot closed. */
	atomic_store_explicit(&s->tid, 0, memory_order_release);
}

/* Copies n bytes at src, which may be another thread's TLS or stack and may be going away
 * (its thread exiting): process_vm_readv fails rather than faults. Where it is refused (a
 * seccomp filter), a plain copy: the record's owner unregisters it before its TLS goes. 0
 * when all n bytes were copied. */
static int wr_peek(void *dst, const void *src, size_t n)
{
	struct iovec local = {dst, n}, remote = {(void *)(uintptr_t)src, n};
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
		memcpy(dst, src, n);
		return 0;
	}
	return got == (ssize_t)n ? 0 : -1;
}

/* A consistent copy of slot s's record into *w, its return address and stack pointer into
 * *ra and *sp, and where it lies and the sequence count it was read at into *rec and *seq:
 * 1 when its owner is inside a wait, 0 when not, when the record is gone or another
 * thread's now, or when it stayed busy for every retry. */
static int wr_read(wr_slot *s, ct_lk_open_wait *w, uint64_t *ra, uint64_t *sp, const wr_rec **rec,
		   uint32_t *seq)
{
	uint32_t tid = atomic_load_explicit(&s->tid, memory_order_acquire);
	const wr_rec *r = atomic_load_explicit(&s->rec, memory_order_acquire);
	if (!tid || !r)
		return 0;
	for (int i = 0; i < WR_RETRIES; i++) {
		uint32_t q, q2;
		wr_rec c;
		/* Three copies, three system calls: each ordered after the one before. */
		if (wr_peek(&q, &r->seq, sizeof(q)) < 0)
			return 0;
		if (q & 1)
			continue;
		if (wr_peek(&c, r, sizeof(c)) < 0 || wr_peek(&q2, &r->seq, sizeof(q2)) < 0)
			return 0;
		if (q2 != q)
			continue;
		if (c.tid != tid)
			return 0;
		*w = (ct_lk_open_wait){.tid = c.tid,
				       .reason = c.reason,
				       .stack = c.stack,
				       .obj = c.obj,
				       .begin = c.begin};
		*ra = c.ra;
		*sp = c.sp;
		*rec = r;
		*seq = q;
		return c.begin != 0;
	}
	return 0;
}

/* The stack of a readiness wait still open, which took none at its entry (CT_LK_POLL: it
 * is taken when a wait is recorded, at its end): unwound here, off its thread, from a copy
 * of the thread's stack above the hook's caller's stack pointer sp — frozen while the
 * thread sleeps in the call — with the return address ra as the first frame, as the stack
 * cache would give it. 0 when it cannot be read or the wait ended meanwhile (its slot's
 * count moved from seq: the copy may hold a stack in use). */
static uint32_t wr_frozen_stack(const wr_rec *r, uint32_t seq, uint64_t ra, uint64_t sp)
{
	static uint8_t copy[32768]; /* one caller at a time (see ct_lk_open_waits) */
	struct iovec local = {copy, sizeof(copy)}, remote = {(void *)(uintptr_t)sp, sizeof(copy)};
	/* Partial at the end of the stack's mapping; fails (no fault) where nothing is there. */
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	uint32_t q;
	if (got < (ssize_t)sizeof(uintptr_t) || wr_peek(&q, &r->seq, sizeof(q)) < 0 || q != seq)
		return 0;
	uint64_t regs[CT_NREGS] = {0};
	regs[CT_REG_RIP] = ra;
	regs[CT_REG_RSP] = sp;
	uintptr_t pcs[CT_MAX_FRAMES];
	int n = ct_unwind(regs, copy, (size_t)got, pcs, CT_MAX_FRAMES);
	return n > 0 ? ct_stack_intern(pcs, n) : 0;
}

void ct_lk_open_waits(void (*fn)(const ct_lk_open_wait *w, void *arg), void *arg)
{
	pid_t pid = getpid();
	int saved = errno;
	uint32_t pages = atomic_load_explicit(&wr_pages, memory_order_relaxed);
	for (uint32_t i = 0; i < WR_SLOTS; i++) {
		ct_lk_open_wait w;
		uint64_t ra, sp;
		const wr_rec *rec;
		uint32_t seq;
		if (!(pages >> WR_PAGE(i) & 1) ||
		    !atomic_load_explicit(&wr_table[i].tid, memory_order_relaxed) ||
		    !wr_read(&wr_table[i], &w, &ra, &sp, &rec, &seq))
			continue;
		/* A thread that ended without the agent's exit path (raw clone) left its
		 * slot: skip threads that no longer exist. */
		if (syscall(SYS_tgkill, pid, (pid_t)w.tid, 0) < 0 && errno == ESRCH)
			continue;
		if (!w.stack && ra && sp)
			w.stack = wr_frozen_stack(rec, seq, ra, sp);
		if (!w.stack && ra) {
			uintptr_t pc = (uintptr_t)ra;
			w.stack = ct_stack_intern(&pc, 1);
		}
		if (w.reason & WR_REASON_TICKS) {
			w.reason &= ~WR_REASON_TICKS;
			w.begin = ct_fast_to_ns(w.begin);
		}
		/* Only file-descriptor waits have reason io: a socket's is a network wait. */
		if (w.reason == CT_WAIT_IO && wr_is_socket((int)w.obj))
			w.reason = CT_WAIT_NET;
		fn(&w, arg);
	}
	errno = saved;
}

/* In a forked child only the forking thread exists (and it is not waiting). */
static void wr_child_reset(void)
{
	if (!wr_table_fresh)
		memset(wr_table, 0, sizeof(wr_table));
	atomic_store_explicit(&wr_pages, 0, memory_order_relaxed);
	memset(&wr_tls, 0, sizeof(wr_tls));
	ct_lk_unsettled = 0;
}

__attribute__((constructor)) static void wr_init(void)
{
	ct_env_u64("CTRACE_IO_MIN_NS", 0, UINT64_MAX, &ct_lk_io_min_ns);
	ct_env_u64("CTRACE_BLOCK_RATE", 1, UINT64_MAX, &ct_lk_block_rate);
	__atomic_store_n(&wr_tls_off, ct_tls_offset(&wr_tls), __ATOMIC_RELAXED);
	__atomic_store_n(&ct_lk_unsettled_off, ct_tls_offset(&ct_lk_unsettled), __ATOMIC_RELAXED);
	wr_hot.io_min_ns = ct_lk_io_min_ns;
	wr_hot.block_rate = ct_lk_block_rate;
	wr_table_fresh = ct_fork_fresh(wr_table, sizeof(wr_table));
	pthread_atfork(NULL, NULL, wr_child_reset);
}
