/*
 * fdguard.c — the agent's own file descriptors (see fdguard.h for the contract).
 *
 * Programs close every fd at start (daemons), dup2 over numbers they think are free, and
 * reuse numbers at once. The agent's fds must neither be taken from under it nor ever
 * hit the program's files: so they live at high numbers, each use is preceded by an
 * identity check (one fstat, plus an ioctl for perf fds), and the program's libc calls
 * that close or replace fd numbers see ours as not open — which is what they would see
 * without the agent. The cost for the program is one comparison per close/dup2 below the
 * lowest number we hold (ours are high, so that is nearly every call).
 *
 * libunwind opens a pipe once and validates addresses by writing memory into it; it
 * would later read from and write to whatever file got those numbers. Its GOT entries
 * for pipe2/open/read/write/syscall/close are pointed at wrappers here: the pipe is
 * adopted, reads and writes go only to fds it opened and that are still ours, and when
 * a check fails libunwind's own error path reopens a fresh pipe.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/fdguard.h"
#include "agent/fdnb.h"

#define MAX_SLOTS 1100 /* one perf fd per CPU (up to 1024) and a few pipes */
#define HIGH_TOP 2048  /* highest number used: small fd tables stay small */

typedef struct {
	_Atomic int used; /* 0 free, 1 held by a caller (fd may be -1 once lost) */
	_Atomic int fd;
	int kind;
	dev_t dev;
	ino_t ino;
	uint64_t perf_id;
} slot_t;

static slot_t slots[MAX_SLOTS];
static _Atomic int nslots;	    /* high-water mark of slots ever used */
static _Atomic int lo_fd = INT_MAX; /* no slot's fd is below this */
static pthread_mutex_t adopt_lock = PTHREAD_MUTEX_INITIALIZER;
static int (*real_close_fn)(int);

static int real_close(int fd)
{
	int (*f)(int) = __atomic_load_n(&real_close_fn, __ATOMIC_RELAXED);
	return f ? f(fd) : (int)syscall(SYS_close, fd);
}

__attribute__((constructor)) static void fdg_resolve(void)
{
	__atomic_store_n(&real_close_fn, (int (*)(int))ct_real("close"), __ATOMIC_RELAXED);
}

/* The CPU count high_base reserves room for, read once: sysconf(_SC_NPROCESSORS_CONF)
 * opens a file under /sys each time, and high_base runs in the program's dup2 hook — a
 * transient descriptor at the lowest free number is just what this module must not make. */
static _Atomic long ncpu_conf;

/* Lowest number we move fds to: far above what programs use, within RLIMIT_NOFILE. */
static int high_base(void)
{
	struct rlimit rl;
	long top = HIGH_TOP;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)top)
		top = (long)rl.rlim_cur;
	long ncpu = atomic_load_explicit(&ncpu_conf, memory_order_relaxed);
	if (!ncpu) {
		ncpu = sysconf(_SC_NPROCESSORS_CONF);
		ncpu = ncpu > 0 ? ncpu : 1;
		atomic_store_explicit(&ncpu_conf, ncpu, memory_order_relaxed);
	}
	long need = ncpu + 16;
	return top - need > 3 ? (int)(top - need) : 3;
}

static int same_file(const slot_t *s, int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != s->dev || st.st_ino != s->ino)
		return 0;
	uint64_t id;
	if (s->kind == CT_FDG_PERF && (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0 || id != s->perf_id))
		return 0;
	return 1;
}

static void lower_lo(int fd)
{
	int lo = atomic_load_explicit(&lo_fd, memory_order_relaxed);
	while (fd < lo && !atomic_compare_exchange_weak(&lo_fd, &lo, fd))
		;
}

int ct_fdg_adopt(int fd, int kind)
{
	if (fd < 0)
		return -EBADF;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, high_base());
	if (hi >= 0) {
		/* The low number is closed only while it is still the same file: a program that
		 * closed everything with a raw close_range meanwhile may already own it again. */
		struct stat a, b;
		if (fstat(hi, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			real_close(fd);
		fd = hi;
	}
	struct stat st;
	uint64_t id = 0;
	if (fstat(fd, &st) < 0 || (kind == CT_FDG_PERF && ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)) {
		int e = errno;
		real_close(fd);
		return -e;
	}
	pthread_mutex_lock(&adopt_lock);
	int s = 0;
	while (s < MAX_SLOTS && atomic_load(&slots[s].used))
		s++;
	if (s == MAX_SLOTS) {
		pthread_mutex_unlock(&adopt_lock);
		real_close(fd);
		return -EMFILE;
	}
	slots[s].kind = kind;
	slots[s].dev = st.st_dev;
	slots[s].ino = st.st_ino;
	slots[s].perf_id = id;
	lower_lo(fd);
	/* Release: a hook that finds the fd sees the identity written before it. */
	atomic_store_explicit(&slots[s].fd, fd, memory_order_release);
	atomic_store_explicit(&slots[s].used, 1, memory_order_release);
	if (s >= atomic_load(&nslots))
		atomic_store(&nslots, s + 1);
	pthread_mutex_unlock(&adopt_lock);
	return s;
}

/* Forgets the slot's fd if it is still fd (never closes it: the number is the program's). */
static void forget(int s, int fd)
{
	atomic_compare_exchange_strong(&slots[s].fd, &fd, -1);
}

int ct_fdg_check(int slot)
{
	if (slot < 0 || slot >= MAX_SLOTS)
		return -1;
	int fd = atomic_load_explicit(&slots[slot].fd, memory_order_acquire);
	if (fd < 0)
		return -1;
	if (same_file(&slots[slot], fd))
		return fd;
	forget(slot, fd);
	ct_log("fd %d is no longer the agent's: forgotten", fd);
	return -1;
}

int ct_fdg_get(int slot)
{
	if (slot < 0 || slot >= MAX_SLOTS)
		return -1;
	return atomic_load_explicit(&slots[slot].fd, memory_order_acquire);
}

void ct_fdg_release(int slot)
{
	if (slot < 0 || slot >= MAX_SLOTS)
		return;
	int fd = ct_fdg_check(slot);
	atomic_store(&slots[slot].fd, -1);
	atomic_store_explicit(&slots[slot].used, 0, memory_order_release);
	if (fd >= 0)
		real_close(fd);
}

int ct_fdg_check_all(void)
{
	int lost = 0, n = atomic_load(&nslots);
	for (int s = 0; s < n; s++)
		if (atomic_load(&slots[s].used) && ct_fdg_get(s) >= 0 && ct_fdg_check(s) < 0)
			lost++;
	return lost;
}

int ct_fdg_owned(int fd)
{
	if (fd < atomic_load_explicit(&lo_fd, memory_order_relaxed))
		return -1;
	int n = atomic_load_explicit(&nslots, memory_order_acquire);
	for (int s = 0; s < n; s++)
		if (atomic_load_explicit(&slots[s].fd, memory_order_acquire) == fd)
			return ct_fdg_check(s) == fd ? s : -1;
	return -1;
}

/* The program is about to make slot s's number its own: move ours to another number. */
static void move_away(int s)
{
	int fd = ct_fdg_get(s);
	int nfd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, high_base());
	if (nfd < 0) {
		forget(s, fd);
		return;
	}
	lower_lo(nfd);
	if (!atomic_compare_exchange_strong(&slots[s].fd, &fd, nfd))
		real_close(nfd);
}

/* ---- the wake-up pipe ---- */

static _Atomic int wake_r = -1, wake_w = -1;

int ct_fdg_wake_open(void)
{
	ct_fdg_release(atomic_exchange(&wake_r, -1));
	ct_fdg_release(atomic_exchange(&wake_w, -1));
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	int r = ct_fdg_adopt(p[0], CT_FDG_FILE);
	int w = ct_fdg_adopt(p[1], CT_FDG_FILE);
	if (r < 0 || w < 0) {
		ct_fdg_release(r);
		ct_fdg_release(w);
		return r < 0 ? r : w;
	}
	atomic_store(&wake_w, w);
	atomic_store(&wake_r, r);
	return 0;
}

int ct_fdg_wake_poll_fd(void)
{
	int fd = ct_fdg_check(atomic_load(&wake_r));
	if (fd >= 0 && ct_fdg_check(atomic_load(&wake_w)) >= 0)
		return fd;
	if (ct_fdg_wake_open() < 0)
		return -1;
	return ct_fdg_get(atomic_load(&wake_r));
}

void ct_fdg_wake_signal(void)
{
	int saved = errno;
	int fd = ct_fdg_check(atomic_load(&wake_w));
	char one = 1;
	if (fd >= 0 && write(fd, &one, 1) < 0)
		ct_log("wake-up pipe: %s", strerror(errno)); /* full: a wake-up is pending */
	errno = saved;
}

void ct_fdg_wake_drain(void)
{
	int fd = ct_fdg_check(atomic_load(&wake_r));
	char buf[64];
	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* ---- the program's calls that close or replace fd numbers ---- */

CT_EXPORT int close(int fd)
{
	if (ct_fdg_owned(fd) >= 0) {
		errno = EBADF; /* not the program's: as if it were not open */
		return -1;
	}
	int rc = real_close(fd);
	ct_fdnb_set(fd, 0); /* after: a number reused meanwhile is only forgotten */
	return rc;
}

static int dup_common(int oldfd, int newfd, long nr, int flags)
{
	if (ct_fdg_owned(oldfd) >= 0) {
		errno = EBADF;
		return -1;
	}
	int s = ct_fdg_owned(newfd);
	if (s >= 0)
		move_away(s);
	int rc = nr == SYS_dup2 ? (int)syscall(SYS_dup2, oldfd, newfd)
				: (int)syscall(SYS_dup3, oldfd, newfd, flags);
	if (rc >= 0)
		ct_fdnb_set(newfd, ct_fdnb_is(oldfd)); /* the same description */
	return rc;
}

CT_EXPORT int dup2(int oldfd, int newfd)
{
	return dup_common(oldfd, newfd, SYS_dup2, 0);
}

CT_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_common(oldfd, newfd, SYS_dup3, flags);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Closes [first, last] except our fds: the sub-ranges between them. */
CT_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int ours[64], k = 0, n = atomic_load(&nslots);
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		ct_fdnb_forget_range(first, last);
	if (!(flags & CLOSE_RANGE_CLOEXEC) && last >= (unsigned)atomic_load(&lo_fd))
		for (int s = 0; s < n && k < 64; s++) {
			int fd = ct_fdg_get(s);
			if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last &&
			    ct_fdg_check(s) == fd)
				ours[k++] = fd;
		}
	if (k == 0)
		return (int)syscall(SYS_close_range, first, last, flags);
	qsort(ours, (size_t)k, sizeof(int), cmp_int);
	unsigned from = first;
	int rc = 0;
	for (int i = 0; i <= k && rc == 0; i++) {
		unsigned to = i < k ? (unsigned)ours[i] - 1 : last;
		if (i < k && (unsigned)ours[i] == from) {
			from++;
			continue;
		}
		if (from <= to)
			rc = (int)syscall(SYS_close_range, from, to, flags);
		if (i < k)
			from = (unsigned)ours[i] + 1;
	}
	return rc;
}
