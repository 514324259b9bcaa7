/*
 * lockprof.h — what the lock/block hooks share with the lock profile source.
 *
 * agent/lockhooks.c (pthread locks, semaphores, cond waits), agent/wakehooks.c (joins,
 * cond signals, sem_post), agent/iohooks.c (epoll, poll, select, sleeps),
 * agent/fdhooks.c (file and socket calls) and agent/futexhook.c (futex waits) bracket
 * each call that may block with ct_lk_wait_begin/ct_lk_wait_end, which capture the
 * waiter's stack at entry, keep the wait in a per-thread registry while it lasts
 * (agent/waitreg.c: threads still blocked at exit) and append the finished wait; a
 * release of a contended lock captures the holder's stack (ct_lk_stack) and hands it with
 * the delay its waiters suffered to ct_lk_hold_record(), and — for the scheduler trace —
 * the release of a waiter to ct_lk_unblock(). Stacks have the agent's own frames trimmed.
 * agent/lockprof.c aggregates the records on the collector thread and writes mutex.pb.gz
 * (delay charged to the holder) and block.pb.gz (time charged to the waiter, labelled
 * with the reason).
 */
#ifndef CT_LOCKPROF_H
#define CT_LOCKPROF_H

#include <stdint.h>

#include "agent/agent.h"
#include "libtrace/clock.h"

/* Records: CT_EV_LOCK_WAIT (ct_ev_lock_wait) and CT_EV_LOCK_HOLD (ct_ev_lock_hold), in
 * agent/events.h; reasons: ct_wait_reason (libtrace/waitreason.h). */

/* Minimum wait recorded in the block profile, ns (CTRACE_BLOCK_MIN_NS, default 0). */
extern uint64_t ct_lk_block_min_ns;

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
 * (CT_LK_WAIT_MODES); the block profile counts them only when it is on. While a wait is
 * open its thread is listed by ct_lk_open_waits (reason, object, begin, stack at entry). */
#define CT_LK_WAIT_MODES (CT_MODE_BLOCK | CT_MODE_SCHED)

enum {
	/* A hot call that rarely blocks (read, write, ...): no stack at entry; it is a wait only
	 * when it lasted at least ct_lk_io_min_ns, and then its stack is captured at the end. */
	CT_LK_LAZY = 1,
	/* obj is a file descriptor: a CT_WAIT_IO wait on a socket is recorded as CT_WAIT_NET. */
	CT_LK_FD = 2,
};

/* Shortest CT_LK_LAZY call that counts as a wait, ns (CTRACE_IO_MIN_NS, default 10000). */
extern uint64_t ct_lk_io_min_ns;

/* One wait of the calling thread, on its stack between begin and end. */
typedef struct {
	uint64_t begin; /* ct_now() at entry: every hook times its call with it */
	uint64_t obj;
	uintptr_t ra; /* CT_LK_LAZY: the hook's return address, the stack while open */
	uint32_t stack;
	uint32_t reason; /* ct_wait_reason */
	uint16_t flags;	 /* CT_LK_* */
	uint16_t slot;	 /* 1 when this wait holds the thread's registry slot */
} ct_lk_wait;

/* Starts a wait of the calling thread: reads the clock into w->begin and, when waits are
 * recorded, captures the stack once (unless CT_LK_LAZY) and registers the wait. Call only
 * when ct_lk_recording() allowed it; nothing is held across the real call (a thread
 * cancelled inside it just leaves its registry slot open until its exit). Allocation-free;
 * preserves errno. */
void ct_lk_wait_begin(ct_lk_wait *w, ct_wait_reason reason, uint64_t obj, unsigned flags,
		      uintptr_t ra);

/* Ends w at time end: unregisters it and, when waited (the call did wait: not an error
 * that returned at once), emits its CT_EV_LOCK_WAIT record — when the trace is on, or the
 * block profile is and it lasted at least ct_lk_block_min_ns. Preserves errno. */
void ct_lk_wait_end(ct_lk_wait *w, uint64_t end, int waited);

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
 * captured now. ct_lk_capture enters the guard itself (0 if it cannot) and preserves errno;
 * ct_lk_capture_guarded is for a caller that holds the guard. */
uint32_t ct_lk_capture(void);
uint32_t ct_lk_capture_guarded(void);

/* The calling thread's stack for a later ct_lk_hold_record or ct_lk_unblock; 0 when
 * neither the mutex profile nor the trace is on. Same guard and errno rules. */
uint32_t ct_lk_stack(void);

/* Records that the holder whose stack is `stack` (from ct_lk_stack) made waiters of lock
 * obj wait delay ns, count of them new contentions, charged at time now. Called by the
 * releasing thread, or by a waiter for the wake-up time after that release. Summed per
 * thread with the charges to the same (obj, stack) of the next 10 ms, emitted as one
 * record (the rest at the thread's end or the exit). Same guard and errno rules. */
void ct_lk_hold_record(const void *obj, uint32_t stack, uint32_t count, uint64_t delay,
		       uint64_t now);

/* The calling thread is ending (the agent's TSD destructor): emits its batched holds. */
void ct_lk_hold_thread_exit(void);

/* Records that the calling thread, whose stack is `stack` (0: captured here), releases a
 * waiter of obj (the woken thread's tid, 0 if unknown): CT_EV_UNBLOCK, when the trace is
 * on. Called before the release, so the edge precedes the waiter's wake-up. Same guard
 * and errno rules. */
void ct_lk_unblock(uint64_t obj, uint32_t stack, uint32_t woken);

/* True when a hook on this thread may record now for one of the CT_MODE_* bits in
 * modes: the agent is active, the mode on, and the thread not inside the agent. A hook
 * checks this before timing a call; the guard itself is entered only around the
 * recording, never across the real (blocking, maybe cancelled) call. */
static inline int ct_lk_recording(unsigned modes)
{
	return !ct_tls_guard && ct_active() && (ct_cfg.modes & modes);
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
	static __typeof__(fn) *ct_lk_real_##fn;                                                    \
	static inline void resolve_##fn(void)                                                      \
	{                                                                                          \
		__atomic_store_n(&ct_lk_real_##fn, (__typeof__(fn) *)ct_lk_resolve(#fn, ver),      \
				 __ATOMIC_RELAXED);                                                \
	}                                                                                          \
	static inline __typeof__(fn) *real_##fn(void)                                              \
	{                                                                                          \
		__typeof__(fn) *f = __atomic_load_n(&ct_lk_real_##fn, __ATOMIC_RELAXED);           \
		if (__builtin_expect(f == NULL, 0)) {                                              \
			resolve_##fn();                                                            \
			f = __atomic_load_n(&ct_lk_real_##fn, __ATOMIC_RELAXED);                   \
			if (!f)                                                                    \
				ct_lk_missing(#fn);                                                \
		}                                                                                  \
		return f;                                                                          \
	}

#endif
