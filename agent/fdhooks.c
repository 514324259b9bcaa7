/*
 * fdhooks.c — the hooks of file and socket calls that may block: read/write and their
 * positional and vector forms, fsync/fdatasync (reason "io" for files and pipes, "net" for
 * sockets), recv/send/accept/connect and their variants (reason "net").
 *
 * A call on a descriptor known to be non-blocking (agent/fdnb.h), or a recv/send with
 * MSG_DONTWAIT, cannot wait: the hook calls straight through. The others are hot calls that
 * usually do not block either (a read of cached data, a write into a pipe with room), so a
 * hook costs its caller two reads of the cheap clock (CT_LK_TICKS) and the wait registry's
 * stores (agent/waitreg.c; the stack
 * is not captured at entry: CT_LK_LAZY). A call is a wait only when it took at least
 * ct_lk_io_min_ns (CTRACE_IO_MIN_NS, default 10 µs; and CTRACE_BLOCK_MIN_NS and the sampling coin
 * for the block profile) and did not fail with EAGAIN (a non-blocking descriptor that was not
 * ready); then its stack is taken — still inside the hook, so it is the caller's, from the stack
 * cache — and, for an io-reason call, the descriptor's type decides between io and net (one fstat,
 * only for calls that waited). Return values, errno and short counts are the real call's; nothing
 * of the agent is held across it (each is a cancellation point). Calls glibc makes internally
 * (stdio's reads) do not go through these hooks.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent/fdnb.h"
#include "agent/lockprof.h"

/* glibc's fortified entry points (_FORTIFY_SOURCE builds call these). */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *restrict buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *restrict addr, socklen_t *restrict alen);
/* The 64-bit offset names, which _FILE_OFFSET_BITS=64 programs call (the same functions
 * on x86-64). */
ssize_t pread64(int fd, void *buf, size_t n, off_t off);
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off);

CT_LK_DEFINE_REAL(read, NULL)
CT_LK_DEFINE_REAL(write, NULL)
CT_LK_DEFINE_REAL(pread, NULL)
CT_LK_DEFINE_REAL(pwrite, NULL)
CT_LK_DEFINE_REAL(pread64, NULL)
CT_LK_DEFINE_REAL(pwrite64, NULL)
CT_LK_DEFINE_REAL(readv, NULL)
CT_LK_DEFINE_REAL(writev, NULL)
CT_LK_DEFINE_REAL(__read_chk, NULL)
CT_LK_DEFINE_REAL(__pread_chk, NULL)
CT_LK_DEFINE_REAL(__pread64_chk, NULL)
CT_LK_DEFINE_REAL(fsync, NULL)
CT_LK_DEFINE_REAL(fdatasync, NULL)
CT_LK_DEFINE_REAL(recv, NULL)
CT_LK_DEFINE_REAL(recvfrom, NULL)
CT_LK_DEFINE_REAL(recvmsg, NULL)
CT_LK_DEFINE_REAL(__recv_chk, NULL)
CT_LK_DEFINE_REAL(__recvfrom_chk, NULL)
CT_LK_DEFINE_REAL(send, NULL)
CT_LK_DEFINE_REAL(sendto, NULL)
CT_LK_DEFINE_REAL(sendmsg, NULL)
CT_LK_DEFINE_REAL(accept, NULL)
CT_LK_DEFINE_REAL(accept4, NULL)
CT_LK_DEFINE_REAL(connect, NULL)

__attribute__((constructor)) static void fd_resolve_all(void)
{
	resolve_read();
	resolve_write();
	resolve_pread();
	resolve_pwrite();
	resolve_pread64();
	resolve_pwrite64();
	resolve_readv();
	resolve_writev();
	resolve___read_chk();
	resolve___pread_chk();
	resolve___pread64_chk();
	resolve_fsync();
	resolve_fdatasync();
	resolve_recv();
	resolve_recvfrom();
	resolve_recvmsg();
	resolve___recv_chk();
	resolve___recvfrom_chk();
	resolve_send();
	resolve_sendto();
	resolve_sendmsg();
	resolve_accept();
	resolve_accept4();
	resolve_connect();
}

/* Starts timing a call on fd: its begin time, or 0 when waits are not recorded. site is
 * the hook's call site (its return address is the stack while the wait is open). */
static inline uint64_t fd_begin(ct_lk_wait *w, ct_wait_reason reason, int fd, ct_lk_site site)
{
	if (!ct_lk_recording(CT_LK_WAIT_MODES))
		return 0;
	ct_lk_wait_begin(w, reason, (uint64_t)fd, CT_LK_LAZY | CT_LK_FD | CT_LK_TICKS, site);
	return w->begin;
}

/* Ends it: a wait when the call did not fail with EAGAIN (the threshold is applied by
 * ct_lk_wait_end for CT_LK_LAZY waits). */
static inline void fd_end(ct_lk_wait *w, int failed)
{
	/* ct_lk_wait_begin kept CT_LK_TICKS only on the TSC: no need to ask ct_fast_now. */
	ct_lk_wait_end(w, (w->flags & CT_LK_TICKS) ? ct_tsc() : ct_now(),
		       !(failed && (errno == EAGAIN || errno == EWOULDBLOCK)));
}

/* (ct_lk_site site, PARAMS...) and (site, ARGS...): a hook's parameters and arguments with
 * its call site first. */
#define FD_WITH_SITE(...) (ct_lk_site site, __VA_ARGS__)
#define FD_PASS_SITE(...) (site, __VA_ARGS__)

/* One hook: T name(PARAMS) calling the real name(ARGS), timed as a wait of reason on fd
 * unless the call cannot wait (nb true: a non-blocking descriptor, MSG_DONTWAIT), when it
 * goes straight through; then the statement after, which may read rc. The timed call is a
 * function of its own (name_timed, given the hook's call site), outside the hot text: the
 * exported hook is then a few instructions, so that the hooks an event loop calls for
 * every request fit on one page (hot.h). */
#define FD_HOOK_NB(T, name, reason, nb, after, PARAMS, ARGS)                                       \
	static __attribute__((noinline)) T name##_timed FD_WITH_SITE PARAMS                        \
	{                                                                                          \
		ct_lk_wait w;                                                                      \
		uint64_t t0 = fd_begin(&w, reason, fd, site);                                      \
		T rc = real_##name() ARGS;                                                         \
		if (t0)                                                                            \
			fd_end(&w, rc < 0);                                                        \
		return rc;                                                                         \
	}                                                                                          \
	CT_EXPORT T name PARAMS                                                                    \
	{                                                                                          \
		T rc;                                                                              \
		ct_lk_settle();                                                                    \
		if (nb) {                                                                          \
			rc = real_##name() ARGS;                                                   \
		} else {                                                                           \
			ct_lk_site site = CT_LK_SITE();                                            \
			rc = name##_timed FD_PASS_SITE ARGS;                                       \
		}                                                                                  \
		after;                                                                             \
		return rc;                                                                         \
	}
#define FD_HOOK(T, name, reason, PARAMS, ARGS)                                                     \
	FD_HOOK_NB(T, name, reason, ct_fdnb_is(fd), (void)0, PARAMS, ARGS)
/* recv and send with flags: MSG_DONTWAIT cannot wait either. */
#define FD_HOOK_FL(T, name, PARAMS, ARGS)                                                          \
	FD_HOOK_NB(T, name, CT_WAIT_NET, ct_fdnb_is(fd) || (flags & MSG_DONTWAIT), (void)0,        \
		   PARAMS, ARGS)

/* What an event loop calls for every request: with the other hot hooks (agent/hot.h). */
CT_HOT_FN ssize_t read(int fd, void *buf, size_t n);
CT_HOT_FN ssize_t write(int fd, const void *buf, size_t n);
CT_WARM_FN ssize_t recv(int fd, void *buf, size_t n, int flags);
CT_WARM_FN ssize_t send(int fd, const void *buf, size_t n, int flags);

FD_HOOK(ssize_t, read, CT_WAIT_IO, (int fd, void *buf, size_t n), (fd, buf, n))
FD_HOOK(ssize_t, write, CT_WAIT_IO, (int fd, const void *buf, size_t n), (fd, buf, n))
FD_HOOK(ssize_t, pread, CT_WAIT_IO, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off))
FD_HOOK(ssize_t, pwrite, CT_WAIT_IO, (int fd, const void *buf, size_t n, off_t off),
	(fd, buf, n, off))
FD_HOOK(ssize_t, pread64, CT_WAIT_IO, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off))
FD_HOOK(ssize_t, pwrite64, CT_WAIT_IO, (int fd, const void *buf, size_t n, off_t off),
	(fd, buf, n, off))
FD_HOOK(ssize_t, readv, CT_WAIT_IO, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt))
FD_HOOK(ssize_t, writev, CT_WAIT_IO, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt))
FD_HOOK(ssize_t, __read_chk, CT_WAIT_IO, (int fd, void *buf, size_t n, size_t buflen),
	(fd, buf, n, buflen))
FD_HOOK(ssize_t, __pread_chk, CT_WAIT_IO, (int fd, void *buf, size_t n, off_t off, size_t buflen),
	(fd, buf, n, off, buflen))
FD_HOOK(ssize_t, __pread64_chk, CT_WAIT_IO, (int fd, void *buf, size_t n, off_t off, size_t buflen),
	(fd, buf, n, off, buflen))
/* O_NONBLOCK does not make a flush to disk return early. */
FD_HOOK_NB(int, fsync, CT_WAIT_IO, 0, (void)0, (int fd), (fd))
FD_HOOK_NB(int, fdatasync, CT_WAIT_IO, 0, (void)0, (int fd), (fd))
FD_HOOK_FL(ssize_t, recv, (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags))
FD_HOOK_FL(ssize_t, recvfrom,
	   (int fd, void *restrict buf, size_t n, int flags, struct sockaddr *restrict addr,
	    socklen_t *restrict alen),
	   (fd, buf, n, flags, addr, alen))
FD_HOOK_FL(ssize_t, __recv_chk, (int fd, void *buf, size_t n, size_t buflen, int flags),
	   (fd, buf, n, buflen, flags))
FD_HOOK_FL(ssize_t, __recvfrom_chk,
	   (int fd, void *restrict buf, size_t n, size_t buflen, int flags,
	    struct sockaddr *restrict addr, socklen_t *restrict alen),
	   (fd, buf, n, buflen, flags, addr, alen))
FD_HOOK_FL(ssize_t, send, (int fd, const void *buf, size_t n, int flags), (fd, buf, n, flags))
FD_HOOK_FL(ssize_t, sendto,
	   (int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
	    socklen_t alen),
	   (fd, buf, n, flags, addr, alen))
FD_HOOK_FL(ssize_t, sendmsg, (int fd, const struct msghdr *msg, int flags), (fd, msg, flags))
FD_HOOK(int, connect, CT_WAIT_NET, (int fd, const struct sockaddr *addr, socklen_t alen),
	(fd, addr, alen))

/* The hooks that return new descriptors, whose numbers fdnb.h must learn (a number the
 * program had closed may come back): descriptors received with SCM_RIGHTS are unknown. */
static void fd_forget_rights(const struct msghdr *msg)
{
	if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int rfd;
			memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			ct_fdnb_set(rfd, 0);
		}
	}
}

FD_HOOK_NB(ssize_t, recvmsg, CT_WAIT_NET, ct_fdnb_is(fd) || (flags & MSG_DONTWAIT),
	   if (rc >= 0) fd_forget_rights(msg), (int fd, struct msghdr *msg, int flags),
	   (fd, msg, flags))
FD_HOOK_NB(int, accept, CT_WAIT_NET, ct_fdnb_is(fd), ct_fdnb_set(rc, 0),
	   (int fd, struct sockaddr *restrict addr, socklen_t *restrict alen), (fd, addr, alen))
FD_HOOK_NB(int, accept4, CT_WAIT_NET, ct_fdnb_is(fd), ct_fdnb_set(rc, (flags & SOCK_NONBLOCK) != 0),
	   (int fd, struct sockaddr *restrict addr, socklen_t *restrict alen, int flags),
	   (fd, addr, alen, flags))
