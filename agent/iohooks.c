/*
 * iohooks.c — the hooks of calls that wait for file descriptors (epoll, poll, select:
 * reason "net") or for time (the sleeps: reason "sleep").
 *
 * Each hook reads the cheap clock (CT_LK_TICKS), makes the real call and records the wait with the
 * caller's stack for the block profile. A call that cannot block (a zero timeout) is not recorded:
 * it is a poll of readiness, not a wait. The readiness waits (reason "net") are
 * CT_LK_POLL: the trace gets one only when it lasted at least CTRACE_IO_MIN_NS, since an
 * event loop's epoll_wait mostly returns at once with ready events. epoll_wait, epoll_pwait and
 * poll are deferred on a thread whose next hook follows their returns promptly (lockprof.h:
 * ct_lk_poll_defer): the hook opens the wait and jumps to the real call, and the thread's
 * next hook ends it. Nothing of the agent is held
 * across the real call — every one of these is a cancellation point — and return value and errno
 * are the real call's (ct_lk_wait_end preserves errno; reading the clock does not touch it).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "agent/lockprof.h"

/* glibc's fortified poll entry points (_FORTIFY_SOURCE builds call these, not poll). */
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *ss,
		size_t fdslen);

CT_LK_DEFINE_REAL(epoll_wait, NULL)
CT_LK_DEFINE_REAL(epoll_pwait, NULL)
CT_LK_DEFINE_REAL(epoll_pwait2, NULL)
CT_LK_DEFINE_REAL(poll, NULL)
CT_LK_DEFINE_REAL(ppoll, NULL)
CT_LK_DEFINE_REAL(__poll_chk, NULL)
CT_LK_DEFINE_REAL(__ppoll_chk, NULL)
CT_LK_DEFINE_REAL(select, NULL)
CT_LK_DEFINE_REAL(pselect, NULL)
CT_LK_DEFINE_REAL(nanosleep, NULL)
CT_LK_DEFINE_REAL(clock_nanosleep, NULL)
CT_LK_DEFINE_REAL(usleep, NULL)
CT_LK_DEFINE_REAL(sleep, NULL)

__attribute__((constructor)) static void io_resolve_all(void)
{
	resolve_epoll_wait();
	resolve_epoll_pwait();
	resolve_epoll_pwait2();
	resolve_poll();
	resolve_ppoll();
	resolve___poll_chk();
	resolve___ppoll_chk();
	resolve_select();
	resolve_pselect();
	resolve_nanosleep();
	resolve_clock_nanosleep();
	resolve_usleep();
	resolve_sleep();
}

/* Start of a wait that may block: w->begin, or 0 when it is not to be recorded. */
static inline uint64_t io_begin(ct_lk_wait *w, int may_block, ct_wait_reason reason, uint64_t obj,
				ct_lk_site site)
{
	if (!may_block || !ct_lk_recording(CT_LK_WAIT_MODES))
		return 0;
	ct_lk_wait_begin(w, reason, obj, CT_LK_TICKS | (reason == CT_WAIT_NET ? CT_LK_POLL : 0),
			 site);
	return w->begin;
}

static inline void io_end(ct_lk_wait *w, uint64_t t0)
{
	/* ct_lk_wait_begin kept CT_LK_TICKS only on the TSC: no need to ask ct_fast_now. */
	if (t0)
		ct_lk_wait_end(w, (w->flags & CT_LK_TICKS) ? ct_tsc() : ct_now(), 1);
}

static inline int io_ts_nonzero(const struct timespec *ts)
{
	return !ts || ts->tv_sec != 0 || ts->tv_nsec != 0;
}

/* A readiness hook: its timed call (a function of its own, given the hook's call site, like
 * the file hooks': the hook itself then has no local whose address escapes, and calls
 * the real function with a jump), and the exported hook, which asks ct_lk_poll_defer
 * first (lockprof.h: a deferred wait does not return through the agent). A zero timeout
 * polls and cannot block: not a wait. ATTR: CT_HOT_FN for the calls event loops make. */
#define IO_POLL_HOOK(ATTR, name, obj, PARAMS, ARGS)                                                \
	static __attribute__((noinline)) int name##_timed IO_WITH_SITE PARAMS                      \
	{                                                                                          \
		ct_lk_wait w;                                                                      \
		uint64_t t0 = io_begin(&w, 1, CT_WAIT_NET, obj, site);                             \
		int rc = real_##name() ARGS;                                                       \
		io_end(&w, t0);                                                                    \
		return rc;                                                                         \
	}                                                                                          \
	ATTR CT_EXPORT int name PARAMS                                                             \
	{                                                                                          \
		if (timeout != 0 && ct_lk_recording(CT_LK_WAIT_MODES)) {                           \
			ct_lk_site site = CT_LK_SITE();                                            \
			if (!ct_lk_poll_defer(CT_WAIT_NET, obj, site))                             \
				return name##_timed IO_PASS_SITE ARGS;                             \
		}                                                                                  \
		return real_##name() ARGS;                                                         \
	}
#define IO_WITH_SITE(...) (ct_lk_site site, __VA_ARGS__)
#define IO_PASS_SITE(...) (site, __VA_ARGS__)

IO_POLL_HOOK(CT_HOT_FN, epoll_wait, (uint64_t)epfd,
	     (int epfd, struct epoll_event *ev, int max, int timeout), (epfd, ev, max, timeout))

IO_POLL_HOOK(CT_WARM_FN, epoll_pwait, (uint64_t)epfd,
	     (int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *ss),
	     (epfd, ev, max, timeout, ss))

CT_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
			   const struct timespec *timeout, const sigset_t *ss)
{
	ct_lk_wait w;
	uint64_t t0 =
		io_begin(&w, io_ts_nonzero(timeout), CT_WAIT_NET, (uint64_t)epfd, CT_LK_SITE());
	int rc = real_epoll_pwait2()(epfd, ev, max, timeout, ss);
	io_end(&w, t0);
	return rc;
}

IO_POLL_HOOK(CT_WARM_FN, poll, 0, (struct pollfd * fds, nfds_t nfds, int timeout),
	     (fds, nfds, timeout))

IO_POLL_HOOK(, __poll_chk, 0, (struct pollfd * fds, nfds_t nfds, int timeout, size_t fdslen),
	     (fds, nfds, timeout, fdslen))

CT_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
		    const sigset_t *ss)
{
	ct_lk_wait w;
	uint64_t t0 = io_begin(&w, io_ts_nonzero(timeout), CT_WAIT_NET, 0, CT_LK_SITE());
	int rc = real_ppoll()(fds, nfds, timeout, ss);
	io_end(&w, t0);
	return rc;
}

CT_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
			  const sigset_t *ss, size_t fdslen)
{
	ct_lk_wait w;
	uint64_t t0 = io_begin(&w, io_ts_nonzero(timeout), CT_WAIT_NET, 0, CT_LK_SITE());
	int rc = real___ppoll_chk()(fds, nfds, timeout, ss, fdslen);
	io_end(&w, t0);
	return rc;
}

CT_EXPORT int select(int nfds, fd_set *restrict rd, fd_set *restrict wr, fd_set *restrict ex,
		     struct timeval *restrict timeout)
{
	/* Read before the call: Linux updates *timeout with the time not slept. */
	int may_block = !timeout || timeout->tv_sec != 0 || timeout->tv_usec != 0;
	ct_lk_wait w;
	uint64_t t0 = io_begin(&w, may_block, CT_WAIT_NET, 0, CT_LK_SITE());
	int rc = real_select()(nfds, rd, wr, ex, timeout);
	io_end(&w, t0);
	return rc;
}

CT_EXPORT int pselect(int nfds, fd_set *restrict rd, fd_set *restrict wr, fd_set *restrict ex,
		      const struct timespec *restrict timeout, const sigset_t *restrict ss)
{
	ct_lk_wait w;
	uint64_t t0 = io_begin(&w, io_ts_nonzero(timeout), CT_WAIT_NET, 0, CT_LK_SITE());
	int rc = real_pselect()(nfds, rd, wr, ex, timeout, ss);
	io_end(&w, t0);
	return rc;
}

CT_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	ct_lk_wait w;
	uint64_t t0 = io_begin(&w, 1, CT_WAIT_SLEEP, 0, CT_LK_SITE());
	int rc = real_nanosleep()(req, rem);
	io_end(&w, t0);
	return rc;
}

CT_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			      struct timespec *rem)
{
	ct_lk_wait w;
	uint64_t t0 = io_begin(&w, 1, CT_WAIT_SLEEP, 0, CT_LK_SITE());
	int rc = real_clock_nanosleep()(clk, flags, req, rem);
	io_end(&w, t0);
	return rc;
}

CT_EXPORT int usleep(useconds_t us)
{
	ct_lk_wait w;
	uint64_t t0 = io_begin(&w, us != 0, CT_WAIT_SLEEP, 0, CT_LK_SITE());
	int rc = real_usleep()(us);
	io_end(&w, t0);
	return rc;
}

CT_EXPORT unsigned int sleep(unsigned int s)
{
	ct_lk_wait w;
	uint64_t t0 = io_begin(&w, s != 0, CT_WAIT_SLEEP, 0, CT_LK_SITE());
	unsigned int rc = real_sleep()(s);
	io_end(&w, t0);
	return rc;
}
