/*
 * tracewin.c — window traces (see tracewin.h): the extra writers the sched source feeds
 * while a /debug/pprof/trace request or a CTRACE_PERIOD window is open.
 *
 * Opening writes the header and names every program thread alive now (read from
 * /proc/self/task; the agent's own "ctrace-*" threads are left out, as in the main trace),
 * so a thread that stays idle through the window still has a named lane from its start.
 * A write error stops only that window (its writer is freed and the error kept for the
 * close); the main trace goes on.
 *
 * Regions open when a window opens (a thread inside a long region of the program's) are
 * begun in it at its start: where windows may be asked for (CTRACE_PERIOD, CTRACE_HTTP),
 * the regions the trace writes are followed per thread (ct_win_region), and those of the
 * threads still alive are written as the window opens. Without that a window showed their
 * ends with no region open, and none of their time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/fdguard.h"
#include "agent/internal.h"
#include "agent/lockprof.h"
#include "agent/tracewin.h"
#include "libtrace/traceann.h"
#include "libtrace/tracebuf.h"

ct_trace_window ct_trace_win[CT_TRACE_WINDOWS];

void ct_win_result(ct_trace_window *win, int rc)
{
	if (rc >= 0 || rc == -EINVAL) /* a refused event (as the main trace counts it) */
		return;
	ct_log("trace: a window trace stops: %s", strerror(-rc));
	win->failed = rc;
	ct_tw_free(win->w);
	win->w = NULL;
}

/* The window's file descriptor, checked (the program may have closed or replaced ours). */
static int win_fd(ct_trace_window *win)
{
	int fd = ct_fdg_check(win->slot);
	if (fd < 0)
		ct_win_result(win, -EBADF);
	else
		ct_tw_set_fd(win->w, fd);
	return fd;
}

/* Names the program's threads alive now: every lane of the window is named from its start. */
static void name_threads(ct_trace_window *win, uint64_t now)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && win->w && (e = readdir(d))) {
		char path[300], name[32] = "";
		long tid = strtol(e->d_name, NULL, 10);
		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", tid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		name[n] = 0;
		name[strcspn(name, "\n")] = 0;
		if (strncmp(name, "ctrace-", 7) != 0)
			ct_win_result(win, ct_tw_name(win->w, (uint32_t)tid, now, name));
	}
	if (d)
		closedir(d);
}

/* The regions open now, in the order they began (so each thread's outermost first). */
typedef struct {
	uint32_t tid, depth, stack;
	uint64_t task;
	char *name;
} open_region;
static open_region *open_regions;
static size_t nopen, open_cap;
static int tracking = -1; /* unknown, 0, 1: whether a window may ever open */

void ct_win_region(uint32_t tid, int begin, const char *name, uint64_t task, uint32_t depth,
		   uint32_t stack)
{
	if (tracking < 0)
		tracking = (getenv("CTRACE_PERIOD") && *getenv("CTRACE_PERIOD")) ||
			   (getenv("CTRACE_HTTP") && *getenv("CTRACE_HTTP"));
	if (!tracking)
		return;
	if (!begin) { /* the innermost, or those at depth and deeper (their ends were lost) */
		for (size_t i = nopen; i-- > 0;) {
			if (open_regions[i].tid != tid || (depth && open_regions[i].depth < depth))
				continue;
			free(open_regions[i].name);
			memmove(&open_regions[i], &open_regions[i + 1],
				(nopen - i - 1) * sizeof(*open_regions));
			nopen--;
			if (!depth)
				break;
		}
		return;
	}
	char *copy = strdup(name);
	if (!copy || ct_grow((void **)&open_regions, &open_cap, nopen + 1, sizeof(*open_regions))) {
		free(copy);
		return; /* a window then misses this one's start */
	}
	open_regions[nopen++] = (open_region){tid, depth, stack, task, copy};
}

/* Begins in win, at its start, the regions open now of the threads still alive; forgets
 * those of threads gone. */
static void begin_open_regions(ct_trace_window *win, uint64_t now)
{
	size_t kept = 0;
	for (size_t i = 0; i < nopen; i++) {
		open_region *r = &open_regions[i];
		if (syscall(SYS_tgkill, getpid(), (pid_t)r->tid, 0) < 0 && errno == ESRCH) {
			free(r->name);
			continue;
		}
		if (win->w)
			ct_win_result(win, ct_tw_region_begin(win->w, r->tid, now, r->name, r->task,
							      r->depth, r->stack));
		open_regions[kept++] = *r;
	}
	nopen = kept;
}

int ct_win_open(int slot, const ct_tw_info *info, uint64_t now)
{
	int id = 0;
	while (id < CT_TRACE_WINDOWS && ct_trace_win[id].used)
		id++;
	if (id == CT_TRACE_WINDOWS)
		return -EBUSY;
	int fd = ct_fdg_check(slot);
	if (fd < 0)
		return -EBADF;
	ct_trace_window *win = &ct_trace_win[id];
	*win = (ct_trace_window){.slot = slot};
	ct_tw_info in = *info;
	in.floor_ns = now; /* what began before the window is seen from its start */
	int rc = ct_tw_open(&win->w, fd, &in);
	if (rc < 0)
		return rc;
	win->used = 1;
	name_threads(win, now);
	begin_open_regions(win, now);
	return id;
}

static void write_open_wait(const ct_lk_open_wait *ow, void *arg)
{
	ct_trace_window *win = arg;
	if (win->w)
		ct_win_result(win, ct_tw_wait(win->w, ow->tid, ow->begin, CT_TW_OPEN,
					      (ct_wait_reason)ow->reason, ow->obj, ow->stack));
}

int ct_win_close(int id, uint64_t now)
{
	if (id < 0 || id >= CT_TRACE_WINDOWS || !ct_trace_win[id].used)
		return -EINVAL;
	ct_trace_window *win = &ct_trace_win[id];
	/* Threads inside a blocking hook now: their waits, open-ended (the finished-wait
	 * records come after the window). */
	ct_lk_open_waits(write_open_wait, win);
	if (win->w && win_fd(win) >= 0) {
		int rc = ct_tw_close(win->w, now);
		win->w = NULL;
		if (rc < 0)
			win->failed = rc;
	}
	int rc = win->failed;
	*win = (ct_trace_window){0};
	return rc;
}

void ct_win_flush(uint64_t now)
{
	for (int i = 0; i < CT_TRACE_WINDOWS; i++) {
		ct_trace_window *win = &ct_trace_win[i];
		if (win->w && win_fd(win) >= 0)
			ct_win_result(win, ct_tw_flush(win->w, now));
	}
}

void ct_win_drop(int free_writers)
{
	if (!free_writers) /* a forked child: the parent's threads and regions are not its */
		nopen = 0;
	for (int i = 0; i < CT_TRACE_WINDOWS; i++) {
		if (free_writers)
			ct_tw_free(ct_trace_win[i].w);
		ct_trace_win[i] = (ct_trace_window){0};
	}
}

/* The command line, from /proc/self/cmdline, into buf; argv points into it. */
static uint32_t read_argv(char *buf, size_t cap, const char **argv, uint32_t max)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, cap - 1) : -1;
	if (fd >= 0)
		close(fd);
	uint32_t argc = 0;
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (ssize_t i = 0; i < n && argc < max; i += (ssize_t)strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	return argc;
}

ct_tw_info ct_trace_header(char *args, size_t cap, const char **argv, uint32_t max)
{
	ct_engine e = ct_engine_get();
	ct_tw_info info = {.pid = (int32_t)getpid(),
			   .engine = ct_engine_name(e),
			   .has_switches = e == CT_ENGINE_PERF,
			   .sample_period_ns = (ct_cfg.modes & CT_MODE_CPU) && e != CT_ENGINE_OFF
						       ? 1000000000ull / (unsigned)ct_cfg.hz
						       : 0,
			   .anchor = ct_start_clock,
			   .stacks = ct_stack_table()};
	info.argc = read_argv(args, cap, argv, max);
	info.argv = argv;
	return info;
}
