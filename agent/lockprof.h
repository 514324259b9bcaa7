/*
 * lockprof.h — what the lock/block hooks share with the lock profile source.
 *
 * agent/lockhooks.c (pthread locks, semaphores, cond waits), agent/wakehooks.c (joins,
 * cond signals, sem_post), agent/iohooks.c (epoll, poll, select, sleeps),
 * agent/fdhooks.c (file and socket calls) and agent/futexhook.c (futex waits) bracket
 * each call that may block with ct_lk_wait_begin/ct_lk_wait_end, which keep the wait in a
 * per-thread registry while it lasts (agent/waitreg.c: threads still blocked at exit) and
 * append the finished wait; a release of a contended lock captures the holder's stack
 * (ct_lk_stack) and hands it with the delay its waiters suffered to ct_lk_hold_record(),
 * and — for the scheduler trace — the release of a waiter to ct_lk_unblock(). Stacks start
 * at the hook's caller (the agent's frames are not in them) and come from the per-thread
 * stack cache (agent/stackcache.h), keyed by the hook's call site (ct_lk_site), so a wait
 * or wake repeated from one call chain costs a few loads, not an unwind.
 *
 * The block profile samples short waits as Go's does: a wait of d ns is kept with
 * probability min(1, d / CTRACE_BLOCK_RATE) and weighted by 1/p by the aggregation, so
 * totals stay unbiased; the coin is tossed when the wait ends, before any stack is taken.
 * agent/lockprof.c aggregates the records on the collector thread and writes mutex.pb.gz
 * (delay charged to the holder) and block.pb.gz (time charged to the waiter, labelled
 * with the reason).
 */
#ifndef CT_LOCKPROF_H
#define CT_LOCKPROF_H

#include <stdint.h>

#include "agent/agent.h"
#include "agent/fastclock.h"
#include "agent/hot.h"
#include "libtrace/clock.h"

/* Records: CT_EV_LOCK_WAIT (ct_ev_lock_wait) and CT_EV_LOCK_HOLD (ct_ev_lock_hold), in
 * agent/events.h; reasons: ct_wait_reason (libtrace/waitreason.h). */

/* Minimum wait recorded in the block profile, ns (CTRACE_BLOCK_MIN_NS, default 0). */
extern uint64_t ct_lk_block_min_ns;

/* The block profile's sampling rate, ns (CTRACE_BLOCK_RATE, default CT_LK_BLOCK_RATE): a
 * wait of d ns is kept with probability min(1, d / rate); 0 or 1 keeps every wait. */
#define CT_LK_BLOCK_RATE 100000
extern uint64_t ct_lk_block_rate;

/* The flag of a CT_EV_LOCK_WAIT record whose wait won the block profile's coin (records
 * without it were emitted for the trace only). */
#define CT_LK_EV_SAMPLED 1
/* The flag of a CT_EV_LOCK_WAIT record whose start and delay are ct_fast_now() ticks (a
 * CT_LK_TICKS wait): readers convert them with ct_lk_wait_ns before using them. */
#define CT_LK_EV_TICKS 2

/* Collector thread (or the exit path after it stopped): w, read from ev, in
 * CLOCK_MONOTONIC ns whatever clock its hook read. */
void ct_lk_wait_ns(const ct_event *ev, ct_ev_lock_wait *w);

/* Where a hook was called from: its return address and the stack slot that holds it (the
 * hook's CFA - 8) — the key of the stack cache. CT_LK_SITE() must be evaluated in the
 * exported hook's own body, not in a helper it calls. */
typedef struct {
	uintptr_t ra, slot;
} ct_lk_site;
#define CT_LK_SITE()                                                                               \
	((ct_lk_site){(uintptr_t)__builtin_return_address(0),                                      \
		      (uintptr_t)__builtin_dwarf_cfa() - sizeof(uintptr_t)})

/* Whether the block / the mutex profile / the scheduler trace is on (one load each). */
static inline int ct_lk_block_on(void)
{
	return (ct_cfg.modes & CT_MODE_BLOCK) != 0;
}
static inline int ct_lk_lock_on(void)
{
	return (ct_cfg.modes & CT_MODE_LOCK) != 0;
}
static inline int ct_lk_sched_on(void)
{
	return (ct_cfg.modes & CT_MODE_SCHED) != 0;
}

/* ---- waits (agent/waitreg.c) ----
 * Every blocking hook brackets the real call with ct_lk_wait_begin and ct_lk_wait_end.
 * Waits are recorded when the block profile or the scheduler trace is on
 * (CT_LK_WAIT_MODES). The trace gets every wait (reason, object, times) and, except for
 * CT_LK_LAZY and CT_LK_POLL calls, its stack, taken at entry from the stack cache (theirs
 * at the end, when the wait is recorded); the block profile
 * gets the waits that won its coin (CT_LK_EV_SAMPLED), and with the trace off a wait that
 * lost it costs two clock reads and the registry's stores. While a wait is open its
 * thread is listed by ct_lk_open_waits (reason, object, begin, stack at entry; for a
 * CT_LK_POLL wait, unwound then from the sleeping thread's stack). */
#define CT_LK_WAIT_MODES (CT_MODE_BLOCK | CT_MODE_SCHED)

enum {
	/* A hot call that rarely blocks (read, write, ...): no stack at entry; it is a wait only
	 * when it lasted at least ct_lk_io_min_ns, and then its stack is taken at the end. */
	CT_LK_LAZY = 1,
	/* obj is a file descriptor: a CT_WAIT_IO wait on a socket is recorded as CT_WAIT_NET. */
	CT_LK_FD = 2,
	/* A readiness wait (epoll, poll, select) that an event loop makes for every batch of
	 * events, most of them returning at once: the trace gets it only when it lasted at
	 * least ct_lk_io_min_ns (a shorter one was not switched out, so it labels no waiting
	 * state); the block profile's coin applies as to every wait. Its stack is taken at the
	 * end, when the wait is recorded (at its entry when deferred: ct_lk_poll_defer). */
	CT_LK_POLL = 4,
	/* Timed with the cheap clock (ct_fast_now ticks: no clock_gettime, whose kvm-clock page
	 * a system call leaves cold), converted by the collector (CT_LK_EV_TICKS). The caller
	 * ends the wait with ct_lk_wait_now(w). Dropped by ct_lk_wait_begin until the tick rate
	 * is known (the collector's first ticks) or where ct_fast_now reads clock_gettime. */
	CT_LK_TICKS = 8,
};

/* Shortest CT_LK_LAZY call that counts as a wait, ns (CTRACE_IO_MIN_NS, default 10000). */
extern uint64_t ct_lk_io_min_ns;

/* One wait of the calling thread, on its stack between begin and end. */
typedef struct {
	uint64_t begin; /* ct_now() at entry (ticks for CT_LK_TICKS): the hook times its call */
	uint64_t obj;
	ct_lk_site site; /* the hook's call site; ra is the stack of an open wait without one */
	uint32_t stack;
	uint32_t reason; /* ct_wait_reason */
	uint16_t flags;	 /* CT_LK_* */
	uint16_t slot;	 /* 1 when this wait holds the thread's registry slot */
} ct_lk_wait;

/* Starts a wait of the calling thread: reads the clock into w->begin and, when waits are
 * recorded, registers the wait and — when the trace is on and not CT_LK_LAZY — takes its
 * stack from the stack cache. Call only when ct_lk_recording() allowed it; nothing is held
 * across the real call (a thread cancelled inside it just leaves its registry slot open
 * until its exit). Preserves errno. */
void ct_lk_wait_begin(ct_lk_wait *w, ct_wait_reason reason, uint64_t obj, unsigned flags,
		      ct_lk_site site);

/* The time to end w with, in w's clock (ticks for a CT_LK_TICKS wait). */
static inline uint64_t ct_lk_wait_now(const ct_lk_wait *w)
{
	return (w->flags & CT_LK_TICKS) ? ct_fast_now() : ct_now();
}

/* Ends w at time end: unregisters it and, when waited (the call did wait: not an error
 * that returned at once), emits its CT_EV_LOCK_WAIT record — when the trace is on (for a
 * CT_LK_POLL wait: and it lasted at least ct_lk_io_min_ns), or when the block profile is,
 * the wait lasted at least ct_lk_block_min_ns and it won the coin (then flagged
 * CT_LK_EV_SAMPLED). Preserves errno. */
void ct_lk_wait_end(ct_lk_wait *w, uint64_t end, int waited);

/* ---- deferred readiness waits (agent/waitreg.c) ----
 * A readiness hook (epoll_wait, epoll_pwait, poll) asks ct_lk_poll_defer first: 1 when it
 * opened the wait (time, registry, stack) to be ended by the thread's next hook — the hook
 * then jumps to the real call and does not come back — and 0 when the hook must time the
 * call itself (ct_lk_wait_begin/_end): the thread's calibration is due or it has not shown
 * that its next hook follows its waits' returns promptly. Call only when ct_lk_recording()
 * allowed it. */
int ct_lk_poll_defer(ct_wait_reason reason, uint64_t obj, ct_lk_site site);
/* The longest gap from a readiness wait's return to the thread's next hook that keeps its
 * waits deferred, ns. */
#define CT_LK_DEFER_GAP_NS 2000

/* The flag of a thread with a deferred wait or a calibration to settle (TLS), and its
 * offset from the thread pointer (on the hot page; 0 until the constructor). */
extern __thread int ct_lk_unsettled __attribute__((tls_model("initial-exec")));
extern intptr_t ct_lk_unsettled_off;
void ct_lk_settle_slow(void);

/* At the entry of a hook that may block or does file I/O: ends the thread's deferred wait
 * (and measures a calibration's gap). One TLS load when there is none. Preserves errno. */
static inline void ct_lk_settle(void)
{
	intptr_t off = __atomic_load_n(&ct_lk_unsettled_off, __ATOMIC_RELAXED);
	int *u = __builtin_expect(off != 0, 1) ? (int *)ct_tls_at(off) : &ct_lk_unsettled;
	if (__builtin_expect(*u != 0, 0))
		ct_lk_settle_slow();
}

/* The calling thread is ending, or the agent is: settles its deferred wait and adds its
 * count to the exit log's. */
void ct_lk_settle_thread(void);

/* Readiness waits deferred, timed as calibrations, and calibrations whose gap was late. */
void ct_lk_defer_stats(uint64_t *deferred, uint64_t *calibrations, uint64_t *late);

/* A wait in progress, as ct_lk_open_waits reports it. */
typedef struct {
	uint32_t tid, reason, stack;
	uint64_t obj, begin;
} ct_lk_open_wait;

/* Collector thread or exit path only: calls fn for every thread currently inside a
 * blocking hook. stack is the stack at the wait's entry (for a CT_LK_LAZY wait, its call
 * site as a one-frame stack); an io wait on a socket is reported as net. Lock-free and
 * async-signal-safe; a slot its owner is writing at that moment (after a few retries) is
 * skipped. */
void ct_lk_open_waits(void (*fn)(const ct_lk_open_wait *w, void *arg), void *arg);

/* The calling thread is ending (the agent's TSD destructor): releases its registry slot. */
void ct_lk_open_waits_release(void);

/* The calling thread is ending (the agent's TSD destructor): the unblock edge for a
 * thread that waits to join it (agent/wakehooks.c). */
void ct_lk_thread_exit(void);

/* ---- stacks and holders (agent/lockprof.c) ---- */

/* The calling thread's stack (the agent's frames trimmed), interned; 0 when it cannot be
 * captured now. For a caller that holds the guard. A full unwind: for calls that have no
 * hook's call site to key the stack cache with (a thread's exit). */
uint32_t ct_lk_capture_guarded(void);

/* The stack of the hook's caller at site, from the stack cache (stackcache.h), or a full
 * capture when site.ra is 0 (no hook: a thread's exit); the caller holds the guard. */
uint32_t ct_lk_site_stack(ct_lk_site site);

/* The calling thread's stack (its hook called from site) for a later ct_lk_hold_record or
 * ct_lk_unblock; 0 when neither the mutex profile nor the trace is on. Enters the guard
 * itself (0 if it cannot) and preserves errno. */
uint32_t ct_lk_stack(ct_lk_site site);

/* Records that the holder whose stack is `stack` (from ct_lk_stack) made waiters of lock
 * obj wait delay ns, count of them new contentions, charged at time now. Called by the
 * releasing thread, or by a waiter for the wake-up time after that release. Summed per
 * thread with the charges to the same (obj, stack) of the next 10 ms, emitted as one
 * record (the rest at the thread's end or the exit). Same guard and errno rules. */
void ct_lk_hold_record(const void *obj, uint32_t stack, uint32_t count, uint64_t delay,
		       uint64_t now);

/* The calling thread is ending (the agent's TSD destructor): emits its batched holds. */
void ct_lk_hold_thread_exit(void);

/* Records that the calling thread, whose stack is `stack` (0: taken here for the hook
 * called from site), releases a waiter of obj (the woken thread's tid, 0 if unknown):
 * CT_EV_UNBLOCK, when the trace is on. Called before the release, so the edge precedes
 * the waiter's wake-up. Same guard and errno rules. */
void ct_lk_unblock(uint64_t obj, uint32_t stack, uint32_t woken, ct_lk_site site);

/* True when a hook on this thread may record now for one of the CT_MODE_* bits in
 * modes: the agent is active, the mode on, and the thread not inside the agent. A hook
 * checks this before timing a call; the guard itself is entered only around the
 * recording, never across the real (blocking, maybe cancelled) call. */
static inline int ct_lk_recording(unsigned modes)
{
	return !*ct_guard_word() && ct_active() && (ct_cfg.modes & modes);
}

/* The real function name (version ver when not NULL) after the agent: dlvsym, else
 * ct_real. NULL when this libc has no such function. */
void *ct_lk_resolve(const char *name, const char *ver);

/* Called when a hook finds no real function to call: prints and aborts. Unreachable for
 * a program that linked, since its libc defines every name it calls. */
__attribute__((noreturn, cold)) void ct_lk_missing(const char *name);

/* Defines resolve_NAME(), which looks the real NAME up once (in a constructor: a libc
 * without it is fine until the program calls it), and real_NAME(), which returns it,
 * resolving on first use when a hook runs before the constructors. The pointer is read
 * with a relaxed load: it is only ever set to the same value, and the code it points to
 * was mapped before any thread could find it. */
#define CT_LK_DEFINE_REAL(fn, ver)                                                                 \
	static __typeof__(fn) *ct_lk_real_##fn CT_HOT_DATA;                                        \
	static inline void resolve_##fn(void)                                                      \
	{                                                                                          \
		__atomic_store_n(&ct_lk_real_##fn, (__typeof__(fn) *)ct_lk_resolve(#fn, ver),      \
				 __ATOMIC_RELAXED);                                                \
	}                                                                                          \
	/* Out of line (cold): the hooks' hot text stays small. */                                 \
	static __attribute__((cold, noinline)) __typeof__(fn) *real_slow_##fn(void)                \
	{                                                                                          \
		resolve_##fn();                                                                    \
		__typeof__(fn) *f = __atomic_load_n(&ct_lk_real_##fn, __ATOMIC_RELAXED);           \
		if (!f)                                                                            \
			ct_lk_missing(#fn);                                                        \
		return f;                                                                          \
	}                                                                                          \
	static inline __typeof__(fn) *real_##fn(void)                                              \
	{                                                                                          \
		__typeof__(fn) *f = __atomic_load_n(&ct_lk_real_##fn, __ATOMIC_RELAXED);           \
		return __builtin_expect(f != NULL, 1) ? f : real_slow_##fn();                      \
	}

#endif
