/*
 * fdnb.h — which of the program's file descriptors are known to be non-blocking sockets,
 * pipes or terminals: a read, write, recv, send, accept or connect on one of them cannot
 * wait, so the fd hooks (agent/fdhooks.c) call straight through without reading the clock
 * or touching the wait registry (an event loop's hundreds of thousands of calls a second).
 *
 * The table is filled by the calls that create or flag descriptors (agent/fdnb.c: socket,
 * socketpair, pipe2, accept4 with the non-blocking flag, fcntl F_SETFL and ioctl FIONBIO
 * on a socket, pipe or character device) and cleared by those that close or replace them
 * (close, dup2, dup3, close_range, closefrom, fdopen, dup, F_DUPFD, fds received with
 * SCM_RIGHTS). O_NONBLOCK belongs to the open file description, which dup'ed fds share:
 * when a description stops being non-blocking (F_SETFL without O_NONBLOCK or FIONBIO 0 on
 * an fd that had it) every entry is forgotten at once (a generation count). Unknown fds are
 * timed as before; a number closed behind the agent's back (a raw close syscall) and then
 * reused by a libc-internal open (fopen) keeps its stale entry until closed again.
 *
 * Lock-free; entries are relaxed atomics (a stale read makes a hook time a call or skip one
 * the program itself races on). ct_fdnb_is is async-signal-safe.
 */
#ifndef CT_AGENT_FDNB_H
#define CT_AGENT_FDNB_H

#include <stdint.h>

#define CT_FDNB_MAX 65536 /* fds at or above this are never known */

/* The entries of fds below this are on the hooks' hot page (agent/hot.h), beside the
 * generation: the fds an event loop reads and writes on every request. */
#define CT_FDNB_LOW 1024

/* An entry equal to the current generation: the fd is non-blocking. 0 is no generation.
 * Hidden, so that the hooks address them directly rather than through the GOT's page. */
#define CT_FDNB_HIDDEN __attribute__((visibility("hidden")))
extern CT_FDNB_HIDDEN uint8_t ct_fdnb_gen;
extern CT_FDNB_HIDDEN uint8_t ct_fdnb_low[CT_FDNB_LOW];
extern CT_FDNB_HIDDEN uint8_t ct_fdnb_high[CT_FDNB_MAX - CT_FDNB_LOW];

/* fd's entry; fd < CT_FDNB_MAX. */
static inline uint8_t *ct_fdnb_entry(unsigned fd)
{
	return fd < CT_FDNB_LOW ? &ct_fdnb_low[fd] : &ct_fdnb_high[fd - CT_FDNB_LOW];
}

/* Whether fd is known to be a non-blocking socket, pipe or terminal. Hot: two loads. */
static inline int ct_fdnb_is(int fd)
{
	return (unsigned)fd < CT_FDNB_MAX &&
	       __atomic_load_n(ct_fdnb_entry((unsigned)fd), __ATOMIC_RELAXED) ==
		       __atomic_load_n(&ct_fdnb_gen, __ATOMIC_RELAXED);
}

/* fd now is (nonblocking 1) or may not be (0) a non-blocking socket, pipe or terminal. */
void ct_fdnb_set(int fd, int nonblocking);

/* fds first..last were closed or replaced. */
void ct_fdnb_forget_range(unsigned first, unsigned last);

#endif
