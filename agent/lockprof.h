/*
 * lockprof.h — what the lock/block hooks share with the lock profile source.
 *
 * agent/lockhooks.c (pthread and semaphore hooks) and agent/iohooks.c (epoll, poll,
 * select, sleeps) time the calls that block and hand each finished wait to
 * ct_lk_wait_record(), which captures the waiter's stack; a release of a contended lock
 * captures the holder's stack (ct_lk_stack) and hands it with the delay its waiters
 * suffered to ct_lk_hold_record(). Stacks have the agent's own frames trimmed. Each call
 * appends one record; agent/lockprof.c aggregates them on the collector thread and writes
 * mutex.pb.gz (delay charged to the holder) and block.pb.gz (time charged to the waiter,
 * labelled with the reason).
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

/* Whether the block / the mutex profile is on (one load each). */
static inline int ct_lk_block_on(void)
{
	return (ct_cfg.modes & CT_MODE_BLOCK) != 0;
}
static inline int ct_lk_lock_on(void)
{
	return (ct_cfg.modes & CT_MODE_LOCK) != 0;
}

/* Records a wait [start, end) of the calling thread when the block profile is on and it
 * lasted at least ct_lk_block_min_ns. Enters the guard itself (does nothing if it cannot)
 * and preserves errno. Not for signal handlers. */
void ct_lk_wait_record(ct_wait_reason reason, uint64_t obj, uint64_t start, uint64_t end);

/* The calling thread's stack (the agent's frames trimmed), interned, for a later
 * ct_lk_hold_record; 0 when the mutex profile is off or the thread may not record now.
 * Enters the guard itself and preserves errno. */
uint32_t ct_lk_stack(void);

/* Records that the holder whose stack is `stack` (from ct_lk_stack) made waiters of lock
 * obj wait delay ns, count of them new contentions. Called by the releasing thread, or by
 * a waiter for the wake-up time after that release. Same guard and errno rules. */
void ct_lk_hold_record(const void *obj, uint32_t stack, uint32_t count, uint64_t delay);

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
