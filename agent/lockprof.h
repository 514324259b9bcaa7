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

/* Record types, within CT_REC_LOCK_FIRST..CT_REC_LOCK_LAST. */
enum {
	CT_REC_LOCK_WAIT = CT_REC_LOCK_FIRST, /* ct_lk_wait payload: block profile */
	CT_REC_LOCK_HOLD,		      /* ct_lk_hold payload: mutex profile */
};

/* Why a thread waited; the block profile's `reason` label and the trace's wait reason. */
typedef enum {
	CT_LK_MUTEX,
	CT_LK_RWLOCK,
	CT_LK_SPIN,
	CT_LK_SEM,
	CT_LK_COND,
	CT_LK_JOIN,
	CT_LK_NET,
	CT_LK_SLEEP,
	CT_LK_NREASONS
} ct_lk_reason;

/* Label value of each reason ("mutex", "net", ...). */
const char *ct_lk_reason_name(ct_lk_reason r);

/* One finished wait. The record's own time stamp (ct_emit) is when it was emitted. */
typedef struct {
	uint32_t stack;	 /* interned waiter stack, 0 if none */
	uint32_t reason; /* ct_lk_reason */
	uint64_t obj;	 /* lock/cond/sem address, epoll fd, joined thread; 0 if none */
	uint64_t start;	 /* ct_now() when the wait began */
	uint64_t delay;	 /* ns waited */
} ct_lk_wait;

/* Delay a lock holder caused: charged when it released a lock others waited for (by the
 * releasing thread), or the wake-up time of a waiter that then acquired it (by that
 * waiter, with count 0, to the releasing holder's stack). */
typedef struct {
	uint32_t stack; /* interned holder stack (at the release), 0 if none */
	uint32_t count; /* contentions: waiters that started waiting during this hold */
	uint64_t obj;	/* lock address */
	uint64_t delay; /* ns the waiters spent waiting during this hold */
} ct_lk_hold;

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
void ct_lk_wait_record(ct_lk_reason reason, uint64_t obj, uint64_t start, uint64_t end);

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
	return !ct_tls_guard && ct_agent_active && (ct_cfg.modes & modes);
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
