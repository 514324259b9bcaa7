/*
 * waitreason.h — why a thread waited: the one vocabulary shared by the agent's hooks (the
 * block profile's `reason` label), the scheduler-event trace (a Waiting state's reason) and
 * every reader and view of either. Values are stored in trace.ctr: append, never renumber.
 *
 * Thread-safety: pure functions over constant tables; async-signal-safe.
 */
#ifndef CT_WAITREASON_H
#define CT_WAITREASON_H

#include <stdbool.h>

typedef enum {
	CT_WAIT_MUTEX,	/* pthread mutex (lock, timedlock, clocklock) */
	CT_WAIT_RWLOCK, /* pthread rwlock, read or write side */
	CT_WAIT_SPIN,	/* pthread spin lock */
	CT_WAIT_SEM,	/* POSIX semaphore */
	CT_WAIT_COND,	/* condition variable */
	CT_WAIT_JOIN,	/* pthread_join and its timed forms */
	CT_WAIT_NET,	/* epoll/poll/select, socket calls */
	CT_WAIT_SLEEP,	/* sleep, usleep, nanosleep, clock_nanosleep */
	CT_WAIT_FUTEX,	/* a raw futex wait made through syscall() */
	CT_WAIT_IO,	/* read/write/fsync family on files and pipes */
	CT_WAIT_KERNEL, /* a voluntary switch with no hook active (page fault, other syscall) */
	CT_WAIT_NREASONS
} ct_wait_reason;

/* The reason's name ("mutex", "net", ...); "unknown" for a value out of range. */
const char *ct_wait_reason_name(ct_wait_reason r);

/* Parses a name back; -1 when it names no reason. */
int ct_wait_reason_parse(const char *name);

/* Whether the reason waits on a synchronization object (mutex, rwlock, spin, sem, cond,
 * futex): such waits are labelled with the object as `lock` and form the trace's `sync`
 * profile. */
bool ct_wait_reason_is_sync(ct_wait_reason r);

#endif
