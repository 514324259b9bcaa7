/*
 * liveperiod.c — continuous profiling to disk: with CTRACE_PERIOD=DURATION, every period
 * the agent writes DIR/<UTC start of the window>/ holding that window's CPU profile, the
 * heap at the window's end, the window's mutex and block deltas and, with the sched mode,
 * the window's trace.ctr (a window trace: agent/tracewin.h); CTRACE_KEEP=N keeps
 * the newest N windows (older ones are removed when a new one is written). At exit the
 * last, partial window is written too (and kept), before the usual whole-run files.
 *
 * One thread ("ctrace-period", started with the live server, before the sampler: no perf
 * event, guard set, signals blocked) sleeps a period, takes every source's cumulative
 * snapshot on the collector thread (ct_collector_call) and subtracts the previous one
 * (libtrace/profdelta.h); the same collector call closes the window's trace and opens the
 * next one's (written to DIR/.trace-window-N.ctr, renamed into the folder once complete), so
 * that no event falls between two windows. Each window's cpu.pb.gz says in a comment how much CPU
 * time the run had used before it, so that a reader can check that windows add up to the run. A
 * forked child writes no windows. Window folders are named YYYYMMDDTHHMMSS.mmmZ: they sort by time,
 * and `ctrace symbolize DIR` / `ctrace report` read the profiles inside them like any other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/fdguard.h"
#include "agent/internal.h"
#include "agent/live.h"
#include "agent/sighooks.h"
#include "agent/tracewin.h"
#include "libtrace/pprof.h"
#include "libtrace/profdelta.h"
#include "libtrace/units.h"

enum { W_CPU, W_HEAP, W_MUTEX, W_BLOCK, W_N };
static const char *const files[W_N] = {CT_FILE_CPU, CT_FILE_HEAP, CT_FILE_MUTEX, CT_FILE_BLOCK};

static uint64_t period_ns;
static int keep;
/* Under win_mu: the cumulative snapshots at the current window's start (the heap is not
 * a delta: no base), that start's wall time, and whether the final window was written. */
static pthread_mutex_t win_mu = PTHREAD_MUTEX_INITIALIZER;
static ct_profile *base[W_N];
static int64_t start_wall;
static int finished;

static int64_t wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The current window's trace (collector thread, or the exit path after it stopped): its
 * id (-1: none), the slot and temporary path of its file, and a counter naming those. */
static struct {
	int id, slot;
	unsigned seq;
	char tmp[4200];
} cur_trace = {.id = -1, .slot = -1};

/* Every source's cumulative profile, twice for the deltas (one is written, one becomes
 * the next window's base), and the ending window's trace: its file, 0 when complete. */
typedef struct {
	ct_profile *cur[W_N], *next[W_N];
	int open_next;	/* in: start the next window's trace */
	int trace_rc;	/* out: the closed trace's result (-ENOENT: there was none) */
	int trace_slot; /* out: its file's slot, released by whoever writes the window */
	char tmp[4200]; /* out: its temporary path */
} snaps;

/* Starts the next window's trace in a new temporary file. 0 or -errno (-EAGAIN: the engine
 * is not chosen yet). */
static int open_trace(void)
{
	if (!(ct_cfg.modes & CT_MODE_SCHED))
		return -ENOENT;
	snprintf(cur_trace.tmp, sizeof(cur_trace.tmp), "%s/.trace-window-%u.ctr", ct_cfg.out_dir,
		 cur_trace.seq++);
	unlink(cur_trace.tmp);
	int fd = open(cur_trace.tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	cur_trace.slot = fd < 0 ? -errno : ct_fdg_adopt(fd, CT_FDG_FILE);
	cur_trace.id = cur_trace.slot < 0 ? cur_trace.slot : ct_trace_window_open(cur_trace.slot);
	if (cur_trace.id >= 0)
		return 0;
	int rc = cur_trace.id;
	if (cur_trace.slot >= 0)
		ct_fdg_release(cur_trace.slot);
	unlink(cur_trace.tmp);
	cur_trace.id = cur_trace.slot = -1;
	return rc;
}

static void first_trace(void *arg)
{
	*(int *)arg = open_trace();
}

/* Closes the current window's trace into s, and opens the next one's when asked. */
static void swap_trace(snaps *s)
{
	s->trace_rc = cur_trace.id >= 0 ? ct_trace_window_close(cur_trace.id) : -ENOENT;
	s->trace_slot = cur_trace.slot;
	snprintf(s->tmp, sizeof(s->tmp), "%s", cur_trace.tmp);
	cur_trace.id = cur_trace.slot = -1;
	if (s->open_next)
		open_trace();
}

/* Moves s's trace into the window folder dir when it is complete (ok), else removes it. */
static void place_trace(snaps *s, const char *dir, int ok)
{
	if (s->trace_slot < 0)
		return;
	ct_fdg_release(s->trace_slot);
	s->trace_slot = -1;
	char path[4096 + 128];
	snprintf(path, sizeof(path), "%s/%s", dir, CT_FILE_TRACE);
	if (!ok || s->trace_rc < 0 || rename(s->tmp, path) < 0)
		unlink(s->tmp);
}

static void take_all(void *arg)
{
	snaps *s = arg;
	swap_trace(s);
	s->cur[W_CPU] = ct_cpu_profile_now();
	s->next[W_CPU] = ct_cpu_profile_now();
	s->cur[W_HEAP] = ct_heap_profile_now();
	s->cur[W_MUTEX] = ct_lock_profile_now(0);
	s->next[W_MUTEX] = ct_lock_profile_now(0);
	s->cur[W_BLOCK] = ct_lock_profile_now(1);
	s->next[W_BLOCK] = ct_lock_profile_now(1);
}

static int64_t total(const ct_profile *p, int value)
{
	int64_t t = 0;
	for (size_t i = 0; p && i < p->nsamples; i++)
		t += p->samples[i].values[value];
	return t;
}

static int is_window_name(const char *n)
{
	return strlen(n) == 20 && n[8] == 'T' && n[15] == '.' && n[19] == 'Z' &&
	       strspn(n, "0123456789") == 8 && strspn(n + 9, "0123456789") == 6;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Removes the oldest window folders beyond `keep` (only our files in them, then the
 * folder: anything else put there keeps it). */
static void prune(void)
{
	struct dirent **ents;
	int n = scandir(ct_cfg.out_dir, &ents, NULL, by_name), windows = 0;
	for (int i = 0; i < n; i++)
		windows += is_window_name(ents[i]->d_name);
	for (int i = 0; i < n; i++) {
		if (is_window_name(ents[i]->d_name) && windows-- > keep) {
			char path[4096 + 512];
			for (int f = 0; f <= W_N; f++) {
				snprintf(path, sizeof(path), "%s/%s/%s", ct_cfg.out_dir,
					 ents[i]->d_name, f < W_N ? files[f] : CT_FILE_TRACE);
				unlink(path);
			}
			snprintf(path, sizeof(path), "%s/%s", ct_cfg.out_dir, ents[i]->d_name);
			rmdir(path);
		}
		free(ents[i]);
	}
	if (n > 0)
		free(ents);
}

/* Writes the window [start_wall, end) from s, then makes s->next the new base. Under
 * win_mu. */
static void write_window(snaps *s, int64_t end)
{
	time_t sec = (time_t)(start_wall / 1000000000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	char name[64], dir[4096 + 80], path[4096 + 128];
	snprintf(name, sizeof(name), "%04d%02d%02dT%02d%02d%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(start_wall / 1000000 % 1000));
	snprintf(dir, sizeof(dir), "%s/%s", ct_cfg.out_dir, name);
	int ok = mkdir(dir, 0777) == 0 || errno == EEXIST;
	for (int w = 0; w < W_N; w++) {
		ct_profile *p = s->cur[w];
		if (!p)
			continue;
		if (base[w] && ct_profile_subtract(p, base[w]) < 0)
			ok = 0;
		if (w == W_CPU) {
			char c[128];
			snprintf(c, sizeof(c), "ctrace window: cpu before this window %lld ns",
				 (long long)total(base[w], 1));
			ct_profile_add_comment(p, c);
		}
		p->time_nanos = start_wall;
		p->duration_nanos = end - start_wall;
		snprintf(path, sizeof(path), "%s/%s", dir, files[w]);
		if (ok && ct_pprof_write_file(p, path) < 0)
			ct_log("period: cannot write %s", path);
		ct_profile_free(p);
		ct_profile_free(base[w]);
		base[w] = s->next[w];
	}
	place_trace(s, dir, ok);
	start_wall = end;
}

static void *period_main(void *arg)
{
	(void)arg;
	ct_tls_guard = 1;
	int rc = -EAGAIN;
	for (int i = 0; i < 200 && rc == -EAGAIN; i++) { /* the engine is chosen after us */
		struct timespec ms10 = {.tv_nsec = 10000000};
		if (i)
			nanosleep(&ms10, NULL);
		if (ct_collector_call(first_trace, &rc) < 0)
			return NULL;
	}
	for (;;) {
		struct timespec ts = {.tv_sec = (time_t)(period_ns / 1000000000u),
				      .tv_nsec = (long)(period_ns % 1000000000u)};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		snaps s = {.open_next = 1, .trace_slot = -1};
		if (ct_collector_call(take_all, &s) < 0)
			return NULL; /* the recording stopped: the exit path writes the last one */
		int64_t end = wall_now();
		pthread_mutex_lock(&win_mu);
		if (!finished) {
			write_window(&s, end);
			prune();
		}
		pthread_mutex_unlock(&win_mu);
		if (finished) {
			place_trace(&s, "", 0);
			for (int w = 0; w < W_N; w++) {
				ct_profile_free(s.cur[w]);
				ct_profile_free(s.next[w]);
			}
			return NULL;
		}
	}
}

void ct_period_final(void)
{
	if (!period_ns)
		return;
	pthread_mutex_lock(&win_mu);
	if (!finished) {
		finished = 1;
		snaps s = {.trace_slot = -1};
		take_all(&s); /* the collector has stopped: this thread owns the aggregates */
		write_window(&s, wall_now());
	}
	pthread_mutex_unlock(&win_mu);
}

/* A forked child records into its own directory without windows (the thread is not
 * there, and the parent's bases are not the child's). */
static void at_fork_child(void)
{
	period_ns = 0;
	pthread_mutex_init(&win_mu, NULL);
	cur_trace.id = cur_trace.slot = -1; /* the parent's window and its file */
}

int ct_period_start(void)
{
	const char *v = getenv("CTRACE_PERIOD");
	if (!v || !*v)
		return 0;
	int64_t ns = ct_units_parse_duration(v);
	period_ns = ns > 0 ? (uint64_t)ns : 0;
	if (period_ns < 100000000u) {
		ct_config_warn("CTRACE_PERIOD=%s: not a duration of at least 100ms; no windows", v);
		period_ns = 0;
		return -EINVAL;
	}
	uint64_t k = 0; /* 0: keep all */
	ct_env_u64("CTRACE_KEEP", 0, 1 << 30, &k);
	keep = k ? (int)k : 1 << 30;
	start_wall = wall_now();
	pthread_t t;
	int r = ct_sig_thread_create(&t, period_main, "ctrace-period");
	if (r) {
		period_ns = 0;
		return r;
	}
	pthread_detach(t);
	pthread_atfork(NULL, NULL, at_fork_child);
	return 0;
}
