/*
 * fdnb.c — the table of the program's non-blocking descriptors (contract in fdnb.h) and the
 * hooks that keep it: the calls that make a descriptor (socket, socketpair, pipe, pipe2,
 * dup, fcntl F_DUPFD) or change its O_NONBLOCK flag (fcntl F_SETFL, ioctl FIONBIO), and
 * those that hand it to code the agent does not see close it (fdopen: stdio closes it
 * inside libc; closefrom). close, dup2, dup3 and close_range live in fdguard.c, accept,
 * accept4 and recvmsg in fdhooks.c; they call ct_fdnb_set / ct_fdnb_forget_range.
 *
 * Only sockets, pipes and character devices are marked: O_NONBLOCK does not keep a read of
 * a regular file or a block device from waiting for the disk. Every hook returns the real
 * call's value and errno; what it adds is a table store, and for fcntl(F_SETFL) /
 * ioctl(FIONBIO) that clear the flag one F_GETFL first (was the description non-blocking,
 * so that every entry must be forgotten?) — calls an event loop makes once per connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/fdnb.h"
#include "agent/lockprof.h"

/* Not in every libc's headers. */
int fcntl64(int fd, int cmd, ...);
void closefrom(int lowfd);

CT_HOT_DATA uint8_t ct_fdnb_gen = 1;
CT_HOT_DATA uint8_t ct_fdnb_low[CT_FDNB_LOW];
uint8_t ct_fdnb_high[CT_FDNB_MAX - CT_FDNB_LOW];

CT_LK_DEFINE_REAL(fcntl, NULL)
CT_LK_DEFINE_REAL(fcntl64, NULL)
CT_LK_DEFINE_REAL(ioctl, NULL)
CT_LK_DEFINE_REAL(socket, NULL)
CT_LK_DEFINE_REAL(socketpair, NULL)
CT_LK_DEFINE_REAL(pipe, NULL)
CT_LK_DEFINE_REAL(pipe2, NULL)
CT_LK_DEFINE_REAL(dup, NULL)
CT_LK_DEFINE_REAL(fdopen, NULL)
CT_LK_DEFINE_REAL(closefrom, NULL)

__attribute__((constructor)) static void nb_resolve_all(void)
{
	resolve_fcntl();
	resolve_fcntl64();
	resolve_ioctl();
	resolve_socket();
	resolve_socketpair();
	resolve_pipe();
	resolve_pipe2();
	resolve_dup();
	resolve_fdopen();
	resolve_closefrom();
}

/* Generations run 1..NB_GEN_LAST; NB_GEN_CLEARING is the generation while the table is
 * cleared at the wrap, which no entry ever holds (ct_fdnb_set does not mark then). */
#define NB_GEN_LAST 254
#define NB_GEN_CLEARING 255

void ct_fdnb_set(int fd, int nonblocking)
{
	if ((unsigned)fd >= CT_FDNB_MAX)
		return;
	uint8_t g = nonblocking ? __atomic_load_n(&ct_fdnb_gen, __ATOMIC_SEQ_CST) : 0;
	if (g == NB_GEN_CLEARING)
		g = 0;
	__atomic_store_n(ct_fdnb_entry((unsigned)fd), g, __ATOMIC_SEQ_CST);
	/* A forget-all between the load and the store: the mark may outlive the wrap's
	 * clearing and match a later generation, so drop it (unknown is safe). */
	if (g && __atomic_load_n(&ct_fdnb_gen, __ATOMIC_SEQ_CST) != g)
		__atomic_store_n(ct_fdnb_entry((unsigned)fd), 0, __ATOMIC_RELAXED);
}

void ct_fdnb_forget_range(unsigned first, unsigned last)
{
	for (unsigned fd = first; fd <= last && fd < CT_FDNB_MAX; fd++)
		__atomic_store_n(ct_fdnb_entry((unsigned)fd), 0, __ATOMIC_RELAXED);
}

/* A description stopped being non-blocking: any fd may share it, so every entry is
 * forgotten at once by moving to the next generation. At the wrap the clearing generation,
 * which no entry matches, holds while the table is zeroed; a forget-all meanwhile has
 * nothing left to do. Lock-free: fcntl may be called from a signal handler. */
static void nb_forget_all(void)
{
	uint8_t g = __atomic_load_n(&ct_fdnb_gen, __ATOMIC_SEQ_CST), next;
	do {
		if (g == NB_GEN_CLEARING)
			return;
		next = g >= NB_GEN_LAST ? NB_GEN_CLEARING : (uint8_t)(g + 1);
	} while (!__atomic_compare_exchange_n(&ct_fdnb_gen, &g, next, 0, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	if (next != NB_GEN_CLEARING)
		return;
	for (unsigned fd = 0; fd < CT_FDNB_MAX; fd++)
		__atomic_store_n(ct_fdnb_entry((unsigned)fd), 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_fdnb_gen, 1, __ATOMIC_SEQ_CST);
}

/* fd was just made non-blocking: marked when it is a socket, pipe or character device. */
static void nb_mark(int fd)
{
	int saved = errno;
	struct stat st;
	if (fstat(fd, &st) == 0 &&
	    (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
		ct_fdnb_set(fd, 1);
	errno = saved;
}

/* Whether fd's description is non-blocking now (1 when that cannot be told). */
static int nb_was_nonblocking(int fd)
{
	int saved = errno;
	int fl = real_fcntl()(fd, F_GETFL);
	errno = saved;
	return fl < 0 || (fl & O_NONBLOCK);
}

/* fcntl and fcntl64 (the same function on x86-64): the third argument is an int or a
 * pointer, passed on as one register-sized value as glibc's own fcntl does. */
static int nb_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int clears = cmd == F_SETFL && !((uintptr_t)arg & O_NONBLOCK);
	int was = clears && nb_was_nonblocking(fd);
	int rc = real(fd, cmd, arg);
	if (rc < 0)
		return rc;
	if (cmd == F_SETFL && !clears)
		nb_mark(fd);
	else if (cmd == F_SETFL && was)
		nb_forget_all();
	else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		ct_fdnb_set(rc, ct_fdnb_is(fd)); /* the same description */
	return rc;
}

CT_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return nb_fcntl(real_fcntl(), fd, cmd, arg);
}

CT_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return nb_fcntl(real_fcntl64(), fd, cmd, arg);
}

CT_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (req != FIONBIO)
		return real_ioctl()(fd, req, arg);
	int was = nb_was_nonblocking(fd);
	int rc = real_ioctl()(fd, req, arg);
	/* *arg is read only after the kernel did: a bad pointer fails the call, not the hook. */
	if (rc == 0 && *(const int *)arg)
		nb_mark(fd);
	else if (rc == 0 && was)
		nb_forget_all();
	return rc;
}

CT_EXPORT int socket(int domain, int type, int proto)
{
	int rc = real_socket()(domain, type, proto);
	ct_fdnb_set(rc, (type & SOCK_NONBLOCK) != 0);
	return rc;
}

CT_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
	int rc = real_socketpair()(domain, type, proto, sv);
	if (rc == 0) {
		ct_fdnb_set(sv[0], (type & SOCK_NONBLOCK) != 0);
		ct_fdnb_set(sv[1], (type & SOCK_NONBLOCK) != 0);
	}
	return rc;
}

CT_EXPORT int pipe(int p[2])
{
	int rc = real_pipe()(p);
	if (rc == 0) {
		ct_fdnb_set(p[0], 0);
		ct_fdnb_set(p[1], 0);
	}
	return rc;
}

CT_EXPORT int pipe2(int p[2], int flags)
{
	int rc = real_pipe2()(p, flags);
	if (rc == 0) {
		ct_fdnb_set(p[0], (flags & O_NONBLOCK) != 0);
		ct_fdnb_set(p[1], (flags & O_NONBLOCK) != 0);
	}
	return rc;
}

CT_EXPORT int dup(int fd)
{
	int rc = real_dup()(fd);
	ct_fdnb_set(rc, ct_fdnb_is(fd));
	return rc;
}

/* stdio will close fd inside libc, where close is not hooked: forget it now. */
CT_EXPORT FILE *fdopen(int fd, const char *mode)
{
	ct_fdnb_set(fd, 0);
	return real_fdopen()(fd, mode);
}

CT_EXPORT void closefrom(int lowfd)
{
	if (lowfd >= 0)
		ct_fdnb_forget_range((unsigned)lowfd, CT_FDNB_MAX - 1);
	real_closefrom()(lowfd);
}
