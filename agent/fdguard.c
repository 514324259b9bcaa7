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
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/fdguard.h"
#include "agent/fdnb.h"
#include "libtrace/clock.h"

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

/* Uses of our fds in flight (ct_fdg_pin). */
static _Atomic int pinned;

/* A forked child has only the forking thread: no other thread's pin is left in flight. */
static void fdg_fork_child(void)
{
	atomic_store_explicit(&pinned, 0, memory_order_relaxed);
}

__attribute__((constructor)) static void fdg_resolve(void)
{
	__atomic_store_n(&real_close_fn, (int (*)(int))ct_real("close"), __ATOMIC_RELAXED);
	pthread_atfork(NULL, NULL, fdg_fork_child);
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

/* Forgets the slot's fd if it is still fd (never closes it: the number is the program's);
 * false when the slot holds another number by now (moved away meanwhile). */
static bool forget(int s, int fd)
{
	return atomic_compare_exchange_strong(&slots[s].fd, &fd, -1);
}

/* Takes a free slot for a file of identity st (and perf event id), its fd not yet set. */
static int take_slot(int kind, const struct stat *st, uint64_t id)
{
	pthread_mutex_lock(&adopt_lock);
	int s = 0;
	while (s < MAX_SLOTS && atomic_load(&slots[s].used))
		s++;
	if (s < MAX_SLOTS) {
		slots[s].kind = kind;
		slots[s].dev = st->st_dev;
		slots[s].ino = st->st_ino;
		slots[s].perf_id = id;
		atomic_store(&slots[s].fd, -1);
		atomic_store_explicit(&slots[s].used, 1, memory_order_release);
		if (s >= atomic_load(&nslots))
			atomic_store(&nslots, s + 1);
	}
	pthread_mutex_unlock(&adopt_lock);
	return s < MAX_SLOTS ? s : -EMFILE;
}

/* Gives slot s the number fd. Release: a hook that finds the fd sees the identity written
 * before it; lo_fd is lowered first, so that no hook skips the number as below ours. */
static void publish(int s, int fd)
{
	lower_lo(fd);
	atomic_store_explicit(&slots[s].fd, fd, memory_order_release);
}

/* The identity is taken from the fd we were given, before it is copied to a high number,
 * and never read again: a number the program took over at any moment is found out by the
 * next check, never mistaken for ours. Between the copy (F_DUPFD) and its publication in
 * the slot, the program's dup2 onto that number does not know it is ours and replaces it
 * (or meets EBUSY while the kernel installs it: dup_common retries). So the copy is checked
 * once published, and made again while it was lost that way. */
#define ADOPT_TRIES 8
int ct_fdg_adopt(int fd, int kind)
{
	if (fd < 0)
		return -EBADF;
	struct stat st;
	uint64_t id = 0;
	if (fstat(fd, &st) < 0 || (kind == CT_FDG_PERF && ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)) {
		int e = errno;
		real_close(fd);
		return -e;
	}
	int s = take_slot(kind, &st, id);
	if (s < 0) {
		real_close(fd);
		return s;
	}
	for (int i = 0; i < ADOPT_TRIES; i++) {
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, high_base());
		if (hi < 0)
			break;
		publish(s, hi);
		/* Still ours, or moved away by the program's dup2 since (then the slot holds
		 * another number, which the move checked). */
		if (same_file(&slots[s], hi) || !forget(s, hi)) {
			/* The low number is closed only while it is still the same file: a program
			 * that closed everything with a raw close_range may already own it again.
			 */
			if (same_file(&slots[s], fd))
				real_close(fd);
			return s;
		}
		/* The program's now: left alone. */
		if (!same_file(&slots[s], fd))
			break; /* the original is gone too */
	}
	/* No high copy: the slot keeps the original number while it is still ours. */
	if (same_file(&slots[s], fd))
		publish(s, fd);
	return s;
}

int ct_fdg_check(int slot)
{
	if (slot < 0 || slot >= MAX_SLOTS)
		return -1;
	/* Seq_cst: the pin's order with a moving hook (ct_fdg_pin); acquire for the identity. */
	int fd = atomic_load_explicit(&slots[slot].fd, memory_order_seq_cst);
	if (fd < 0)
		return -1;
	if (same_file(&slots[slot], fd))
		return fd;
	forget(slot, fd);
	ct_log("fd %d is no longer the agent's: forgotten", fd);
	return -1;
}

/* A pin counts an agent thread between ct_fdg_pin and ct_fdg_unpin: a check passed and the
 * fd is in use. The program's dup2/dup3 onto a number in our range waits for no pin to be
 * left before it replaces the number (after moving ours away), so a use that checked the
 * old number never lands in the file the program puts there. Seq_cst with the hook's store
 * of the moved number and its load of the count: either the hook sees the pin and waits,
 * or the pinning thread's check sees the new number. */
int ct_fdg_pin(int slot)
{
	atomic_fetch_add_explicit(&pinned, 1, memory_order_seq_cst);
	int fd = ct_fdg_check(slot);
	if (fd < 0)
		atomic_fetch_sub_explicit(&pinned, 1, memory_order_seq_cst);
	return fd;
}

void ct_fdg_unpin(void)
{
	atomic_fetch_sub_explicit(&pinned, 1, memory_order_seq_cst);
}

/* Waits, at most PIN_WAIT_NS (a pinning thread that never comes back: a signal handler
 * on it calling dup2 onto our range), until no use of our fds is in flight. */
#define PIN_WAIT_NS 1000000000L
static void wait_unpinned(void)
{
	if (!atomic_load_explicit(&pinned, memory_order_seq_cst))
		return;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load_explicit(&pinned, memory_order_seq_cst)) {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > PIN_WAIT_NS)
			return;
	}
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

/* When move_away last ran (ct_now; 0: never). Relaxed. */
static _Atomic uint64_t last_move_ns;

uint64_t ct_fdg_last_move_ns(void)
{
	return atomic_load_explicit(&last_move_ns, memory_order_relaxed);
}

/* The program is about to make slot s's number its own: move ours to another number. */
static void move_away(int s)
{
	atomic_store_explicit(&last_move_ns, ct_now(), memory_order_relaxed);
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

#define DUP_BUSY_TRIES 1000
static int dup_common(int oldfd, int newfd, long nr, int flags)
{
	if (ct_fdg_owned(oldfd) >= 0) {
		errno = EBADF;
		return -1;
	}
	/* EBUSY: the kernel is installing a file at newfd for another thread — the agent
	 * copying one of its own fds to a high number (ct_fdg_adopt, move_away). A moment
	 * later it is installed, and ours is moved away like any other; the program never
	 * sees EBUSY that only the agent's fds caused. */
	int rc;
	for (int tries = 0;; tries++) {
		int s = ct_fdg_owned(newfd);
		if (s >= 0)
			move_away(s);
		if (newfd >= atomic_load_explicit(&lo_fd, memory_order_seq_cst))
			wait_unpinned(); /* ours, or ours until a raw close: no use still on it */
		rc = nr == SYS_dup2 ? (int)syscall(SYS_dup2, oldfd, newfd)
				    : (int)syscall(SYS_dup3, oldfd, newfd, flags);
		if (rc >= 0 || errno != EBUSY || tries == DUP_BUSY_TRIES)
			break;
		sched_yield();
	}
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

int ct_fdg_held(void)
{
	int n = 0, hi = atomic_load(&nslots);
	for (int s = 0; s < hi && s < MAX_SLOTS; s++)
		n += atomic_load(&slots[s].used) && atomic_load(&slots[s].fd) >= 0;
	return n;
}

void ct_fdg_warning(char *buf, size_t len)
{
	struct rlimit rl;
	int held = ct_fdg_held();
	if (held && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < CT_FDG_FEW)
		ct_warning_add(buf, len,
			       "RLIMIT_NOFILE is %llu: the agent held %d of those file descriptors "
			       "(perf events, the trace), which the program could not open",
			       (unsigned long long)rl.rlim_cur, held);
}
