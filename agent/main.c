/*
 * main.c — the agent's life cycle: constructor, exit paths, threads, fork, signals.
 *
 * Start: read config, claim the output directory, load libunwind, start the collector,
 * then the sampler (perf, else timer), in that order so the collector thread never
 * inherits the perf events. Exit: exit()/return from main reach our atexit handler,
 * _exit/_Exit are interposed, and a terminating signal whose disposition the program left
 * at default (SIGINT, SIGTERM, SIGHUP, SIGSEGV, SIGABRT, ...) makes the collector flush
 * before the signal is re-raised with the default action, so the program dies exactly as
 * it would have (an asynchronous one that finds the flush blocked is deferred until the
 * flush ends: on_terminating_signal). A forked child records into DIR/<pid>/ (made only
 * if it has data; DIR/.children says how it ended); an exec ends the image's recording
 * (exechooks.c). Exits that skip all this (SIGKILL, raw exit_group) leave the periodic
 * checkpoints (checkpoint.c) for `ctrace record` to finish. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/fdguard.h"
#include "agent/heap.h"
#include "agent/internal.h"
#include "agent/lastthread.h"
#include "agent/lifecycle.h"
#include "agent/live.h"
#include "agent/lockprof.h"
#include "agent/procinfo.h"
#include "agent/sighooks.h"
#include "agent/tid.h"
#include "libtrace/clock.h"

__thread int ct_tls_guard __attribute__((tls_model("initial-exec")));
__thread uintptr_t ct_tls_stack_top __attribute__((tls_model("initial-exec")));
__thread uintptr_t ct_tls_stack_lo __attribute__((tls_model("initial-exec")));

_Atomic int ct_agent_active CT_HOT_DATA; /* agent.h: set here, read by every hook */
intptr_t ct_tls_guard_off CT_HOT_DATA;	 /* agent.h: set by the constructor; relaxed */
uintptr_t ct_main_stack_top;		 /* set by the constructor, read-only afterwards */
/* The engine: set by the constructor or the atfork child handler, read by the collector. */
static _Atomic ct_engine engine = CT_ENGINE_OFF;
static _Atomic int engine_known;	    /* release by the chooser, acquire by ct_engine_known */
char ct_engine_reason[256] = "not started"; /* written with engine, read at exit */
ct_clock_snapshot ct_start_clock; /* set by the constructor / atfork child, read at exit */
uint64_t ct_stop_mono;		  /* set by finish_all, read by the writers after it */

static pthread_key_t thread_key;  /* created by the constructor; its destructor runs per thread */
static _Atomic int finished;	  /* finish_all ran (or is running) */
static _Atomic int flush_request; /* a signal handler asks the collector to flush */
static _Atomic int flush_done;
/* A flush (exit path or signal) is writing files: a terminating signal that arrives now
 * waits for it (bounded) or, on the flushing thread itself, is re-raised when it ends. */
static _Atomic int flushing;
static _Atomic uint32_t flusher_tid;
static _Atomic int pending_signal;
static int is_fork_child;
/* Writing to a folder of its own, DIR/<pid> (a forked child, or a program a traced
 * process exec'd): made only if the process has something to write. */
static int own_folder;
/* The process this agent records. A vfork child shares our memory but runs no atfork
 * handlers: when getpid() differs, ct_shutdown must not touch the parent's state. */
static pid_t agent_pid;
static const int flush_signals[] = {SIGINT,  SIGTERM,	SIGHUP,	 SIGQUIT, SIGSEGV, SIGBUS,
				    SIGABRT, SIGFPE,	SIGILL,	 SIGUSR1, SIGUSR2, SIGPIPE,
				    SIGALRM, SIGVTALRM, SIGXCPU, SIGXFSZ};
#define NFLUSH (sizeof(flush_signals) / sizeof(flush_signals[0]))

void ct_engine_set(ct_engine e)
{
	/* Release: the engine's rings and timers, set up before, are visible to the collector
	 * once it sees the engine (ct_engine_get's acquire). */
	atomic_store_explicit(&engine, e, memory_order_release);
	/* Samples read their thread's labels (the timer's handler, labelsig.c): no records. */
	int reads = e == CT_ENGINE_TIMER || (e == CT_ENGINE_PERF && ct_perf_label_signal());
	atomic_store_explicit(&ct_ann_sample_labels, reads, memory_order_relaxed);
}

ct_engine ct_engine_get(void)
{
	return atomic_load_explicit(&engine, memory_order_acquire);
}

int ct_engine_known(void)
{
	return atomic_load_explicit(&engine_known, memory_order_acquire);
}

const char *ct_engine_name(ct_engine e)
{
	return e == CT_ENGINE_PERF ? "perf" : e == CT_ENGINE_TIMER ? "timer" : "off";
}

void *ct_real(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* Whether a thread learns its stack bounds as it starts: only where a signal handler needs
 * them (the timer engine's samples, the live server's thread dumps); else at first need
 * (ct_stack_bounds): pthread_getattr_np costs a system call and an allocation, which a
 * storm of short threads paid for every thread. Set by the constructor, read by threads. */
static int eager_bounds;
/* Whether threads made without attributes get a stack under CT_SMALL_STACK: glibc sizes
 * them by RLIMIT_STACK (`ulimit -s 64`). Set by the constructor. */
static int default_stack_small;

static void stack_bounds(void)
{
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	void *lo;
	size_t size;
	if (pthread_attr_getstack(&a, &lo, &size) == 0) {
		ct_tls_stack_lo = (uintptr_t)lo;
		ct_tls_stack_top = (uintptr_t)lo + size;
	}
	pthread_attr_destroy(&a);
}

void ct_stack_bounds(void)
{
	static __thread int tried __attribute__((tls_model("initial-exec")));
	if (!ct_tls_stack_top && !tried) {
		tried = 1; /* pthread_getattr_np failing once fails again: ask once */
		stack_bounds();
	}
}

void ct_thread_started(int small_stack)
{
	ct_tls_guard = 1;
	if (eager_bounds || small_stack)
		stack_bounds();
	pthread_setspecific(thread_key, (void *)1);
	ct_stack_thread_tls();
	ct_lt_started();
	ct_timer_arm_thread();
	/* No warming of libunwind's cache (~1 ms a thread): only a first capture pays it, and a
	 * thread's end captures nothing (lifecycle.h: ct_th_routine_stack). */
	ct_tls_guard = 0;
}

static void thread_gone(void *unused)
{
	(void)unused;
	if (atomic_load(&ct_sandboxed))
		return; /* no system call: the filter may not allow it (sandbox.c) */
	ct_th_exit();
	ct_timer_disarm_thread();
}

/* Writes DIR/summary.txt: what `ctrace record` prints. 0 or -errno. */
static int write_summary(void)
{
	ct_summary s = {.pid = (int)getpid(),
			.samples = ct_cpu_samples(),
			.lost = ct_cpu_lost_count(),
			.events_lost = ct_collector_dropped(),
			.threads = ct_cpu_threads(),
			.collector_cpu_ms = (double)ct_collector_cpu_ns() / 1e6};
	uint64_t ck_ns, ck_max;
	ct_ckpt_stats(&s.checkpoints, &ck_ns, &ck_max);
	s.checkpoint_cpu_ms = (double)ck_ns / 1e6;
	s.checkpoint_max_ms = (double)ck_max / 1e6;
	if (!ct_read_command(s.cmd, sizeof(s.cmd)))
		snprintf(s.cmd, sizeof(s.cmd), "%s", program_invocation_short_name);
	snprintf(s.engine, sizeof(s.engine), "%s", ct_engine_name(ct_engine_get()));
	snprintf(s.reason, sizeof(s.reason), "%s", ct_engine_reason);
	snprintf(s.errors, sizeof(s.errors), "%s", ct_out_errors());
	snprintf(s.http, sizeof(s.http), "%s", ct_http_status());
	ct_warnings_all(s.warning, sizeof(s.warning));
	ct_ann_misuse_line(s.annotate_misuse, sizeof(s.annotate_misuse));
	snprintf(s.heap_incomplete, sizeof(s.heap_incomplete), "%s", ct_heap_incomplete());
	snprintf(s.config, sizeof(s.config), "%s", ct_config_warnings());
	int rc = ct_summary_write(ct_cfg.out_dir, &s);
	if (rc)
		ct_log("cannot write %s: %s", CT_FILE_SUMMARY, strerror(-rc));
	return rc;
}

/* Stops sampling. Once, on whichever thread comes first (exit path, or collector). */
static void finish_all(void)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&finished, &expected, 1))
		return;
	atomic_store_explicit(&ct_agent_active, 0, memory_order_relaxed); /* hooks just stop */
	ct_stop_mono = ct_now();
	if (ct_engine_get() == CT_ENGINE_PERF)
		ct_perf_stop();
	else if (ct_engine_get() == CT_ENGINE_TIMER)
		ct_timer_stop();
}

/* Anything to write: a profile event, annotation misuse, or only the trace was asked for. */
static int has_data(void)
{
	char misuse[8];
	return ct_ckpt_has_data() ||
	       !(ct_cfg.modes & (CT_MODE_CPU | CT_MODE_HEAP | CT_MODE_LOCK | CT_MODE_BLOCK)) ||
	       ct_ann_misuse(misuse, sizeof(misuse)) > 0;
}

/* A process with a folder of its own that recorded nothing leaves none: what was streamed
 * there (the trace) and any temporary file go, then the folder if it is empty. */
static void remove_own_folder(void)
{
	DIR *d = opendir(ct_cfg.out_dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (ct_outdir_is_ours(e->d_name) || ct_outdir_is_temp(e->d_name))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(ct_cfg.out_dir);
}

/* The terminating signal that asked for the flush (0: an exit), for the .children note. */
static _Atomic int flush_signal;

/* A process with a folder of its own says in DIR/.children how it ended. */
static void note_end(const char *outcome, int rc)
{
	if (!own_folder)
		return;
	char b[400];
	int sig = atomic_load(&flush_signal);
	int n = snprintf(b, sizeof(b), "end %s", outcome);
	if (rc < 0)
		n += snprintf(b + n, sizeof(b) - (size_t)n, " %s: %s", ct_cfg.out_dir,
			      strerror(-rc));
	if (sig && n < (int)sizeof(b))
		snprintf(b + n, sizeof(b) - (size_t)n, " (then killed by signal %d, %s)", sig,
			 strsignal(sig));
	ct_out_child_note(b);
}

static void write_all(void)
{
	ct_out_release_fd();
	ct_period_final(); /* the last CTRACE_PERIOD window, before the sources free theirs */
	if (own_folder && !has_data()) {
		remove_own_folder();
		note_end("nothing recorded: no samples or events, no folder written", 0);
		return;
	}
	int rc = ct_out_dir_create();
	if (rc < 0) {
		note_end("cannot write its folder", rc); /* a forked child's is made only now */
		return;
	}
	ct_sources_finish();
	ct_perfmap_copy();
	rc = write_summary();
	if (rc == 0)
		ct_ckpt_done(); /* the final files are there: the checkpoints are moot */
	note_end(rc == 0 ? "written" : "cannot write its summary", rc);
}

static void reraise(int sig)
{
	ct_sig_die_default(sig);
}

static void flush_started(void)
{
	atomic_store(&flusher_tid, ct_gettid());
	atomic_store(&flushing, 1);
}

/* A terminating signal the handler let the program go on with (see on_terminating_signal):
 * whoever ends the flush, or the handler itself if the flush ended meanwhile, takes it
 * (atomic exchange: exactly one of them) and dies of it. */
static _Atomic int deferred_signal;

/* The files are written: let a terminating signal that came meanwhile take its course. */
static void flush_finished(void)
{
	atomic_store(&flush_done, 1);
	syscall(SYS_futex, &flush_done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
	atomic_store(&flushing, 0);
	int sig = atomic_exchange(&pending_signal, 0);
	if (!sig)
		sig = atomic_exchange(&deferred_signal, 0);
	if (sig)
		reraise(sig);
}

/* Waits (bounded: ms) for the flush to have written the files: woken by its end, and
 * under the guard, so that the agent's own wait is not a wait of the program's. */
static void wait_flush_done(int ms)
{
	int g = ct_tls_guard;
	ct_tls_guard = 1;
	uint64_t end = ct_now() + (uint64_t)ms * 1000000u, now;
	while (!atomic_load(&flush_done) && (now = ct_now()) < end) {
		struct timespec ts = {(time_t)((end - now) / 1000000000u),
				      (long)((end - now) % 1000000000u)};
		syscall(SYS_futex, &flush_done, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	}
	ct_tls_guard = g;
}

static void on_terminating_signal(int sig); /* below: ct_shutdown names it */
/* The exit path's work, on the agent's stack: this thread's may be small (stack.c). */
static void shutdown_write(void)
{
	finish_all();
	ct_collector_stop(); /* final drain */
	write_all();
}

void ct_shutdown(void)
{
	/* Exiting while a terminating signal waits for the collector's flush (deferred, or
	 * its handler still waiting on another thread): the process dies of the signal, as
	 * it would have without the agent, not of this exit. */
	int sig = atomic_load(&deferred_signal) ? atomic_load(&deferred_signal)
						: atomic_load(&flush_signal);
	if (sig && !is_fork_child && getpid() == agent_pid) {
		wait_flush_done(5000);
		atomic_store(&deferred_signal, 0);
		reraise(sig);
	}
	if (is_fork_child || atomic_load(&finished) || getpid() != agent_pid)
		return;
	/* This thread's deferred wait (waitreg.c), before the guard below: under it the
	 * settle would leave it to a next hook that never comes (listed open at exit). */
	ct_lk_settle_thread();
	int g = ct_tls_guard;
	ct_tls_guard = 1;
	/* Sent, not yet taken: the process dies of it once the files are written. */
	sig = ct_sig_pending_fatal(flush_signals, NFLUSH, on_terminating_signal);
	flush_started();
	ct_on_agent_stack(shutdown_write);
	ct_tls_guard = g;
	flush_finished();
	if (sig)
		reraise(sig);
}

void ct_flush_for_exec(int ms)
{
	if (is_fork_child || getpid() != agent_pid || atomic_load(&finished) || !ct_active())
		return;
	atomic_store(&flush_request, 1);
	ct_collector_wake();
	wait_flush_done(ms);
}

/* Called by the collector between drains: a signal handler wants everything written. */
int ct_flush_requested(void)
{
	return atomic_load(&flush_request);
}
static int flush_owner;
void ct_flush_begin(void)
{
	flush_owner = !atomic_load(&finished);
	if (flush_owner)
		flush_started();
	finish_all();
}
/* Without ownership the exit path is writing the files and ends the flush itself. A
 * deferred signal is raised here, on the collector: ct_sig_die_default unblocks it on this
 * thread first, and its default action ends the process. */
void ct_flush_end(void)
{
	if (!flush_owner)
		return;
	write_all();
	flush_finished();
}

/* Signals that a thread's own fault or abort() raises: the handler must not return. */
static int is_synchronous(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	       sig == SIGABRT || sig == SIGPIPE ||
	       sig == SIGXFSZ; /* raised by the write that failed */
}

/* A terminating signal the program left at its default action: write the files, then die
 * of it. If a flush is already under way (the program is exiting), it is let finish: on
 * another thread we wait for it; on this very thread (the signal interrupted the flush)
 * the signal is re-raised when the flush ends. Files are never left half-written.
 *
 * The flush runs on the collector, which allocates and takes stdio's locks: if the
 * signal interrupted the program inside malloc or stdio, waiting here holds those locks
 * and the flush cannot finish (the bounded wait then ran out and the process died with no
 * files: the pool worker of issue 9 #3 that wrote nothing). So an asynchronous signal
 * (SIGTERM, SIGINT, ...) waits only a second here; if the flush has not ended by then the
 * handler returns and the program goes on, as if the signal were still on its way, until
 * the flush ends and the process dies of it. A fault (SIGSEGV, SIGABRT, ...) cannot
 * return: it waits up to 5 s, as before. */
static void on_terminating_signal(int sig)
{
	int saved = errno;
	if (!is_fork_child && getpid() == agent_pid) {
		if (atomic_load(&flushing) && atomic_load(&flusher_tid) == ct_gettid()) {
			atomic_store(&pending_signal, sig);
			errno = saved;
			return;
		}
		int wait = atomic_load(&flushing);
		if (!wait && !atomic_load(&finished) && ct_active()) {
			atomic_store(&flush_signal, sig);
			atomic_store(&flush_request, 1);
			ct_collector_wake();
			wait = 1;
		}
		if (wait && !is_synchronous(sig)) {
			wait_flush_done(1000);
			if (!atomic_load(&flush_done)) {
				atomic_store(&deferred_signal, sig);
				if (!atomic_load(&flush_done) ||
				    !atomic_exchange(&deferred_signal, 0)) {
					errno = saved;
					return; /* the flush's end raises it */
				}
			}
		} else if (wait) {
			wait_flush_done(5000);
		}
	}
	errno = saved;
	reraise(sig);
}

static void install_flush_handlers(void)
{
	for (size_t i = 0; i < NFLUSH; i++) {
		struct sigaction old;
		if (sigaction(flush_signals[i], NULL, &old) < 0)
			continue;
		if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
			continue; /* the program's (or ignored): leave it alone */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_terminating_signal;
		sa.sa_flags = SA_RESTART; /* stays ours until reraise(): a second one waits too */
		sigemptyset(&sa.sa_mask);
		ct_sig_claim(flush_signals[i], &sa, NULL); /* hidden from the program */
	}
}

/* "start <cmd>" in DIR/.children, while it may still write there (before a setuid). */
static void note_start(void)
{
	char b[300] = "start ";
	if (!ct_read_command(b + 6, sizeof(b) - 6))
		snprintf(b + 6, sizeof(b) - 6, "%s", program_invocation_short_name);
	ct_out_child_note(b);
}

/* A forked child gets its own recording in DIR/<pid>/: fresh rings and aggregates, its
 * own perf events or timer, a new collector thread. Sources that cannot start over are
 * off in the child. If anything fails the child simply records nothing. */
static void at_fork_child(void)
{
	ct_tid_forked();
	ct_lt_fork_child();
	agent_pid = getpid();
	if (!ct_active() || atomic_load_explicit(&finished, memory_order_relaxed)) {
		is_fork_child = 1;
		return;
	}
	atomic_store_explicit(&ct_agent_active, 0, memory_order_relaxed); /* single-threaded */
	int g = ct_tls_guard;
	ct_tls_guard = 1;
	ct_engine parent_engine = ct_engine_get();
	ct_engine_set(CT_ENGINE_OFF);
	atomic_store_explicit(&engine_known, 0, memory_order_relaxed); /* single-threaded */
	/* DIR/<pid> is made by the child's first write: none for one that execs or dies. */
	size_t len = strlen(ct_cfg.out_dir);
	snprintf(ct_cfg.out_dir + len, sizeof(ct_cfg.out_dir) - len, "/%d", (int)getpid());
	own_folder = 1;
	ct_clock_snapshot_take(&ct_start_clock);
	ct_unwind_stats_reset();
	if (ct_collector_fork_child() < 0) {
		is_fork_child = 1;
		ct_tls_guard = g;
		return;
	}
	if (parent_engine == CT_ENGINE_PERF) {
		char why[256];
		ct_perf_forget();
		if (ct_perf_start(why, sizeof(why)) == 0)
			ct_engine_set(CT_ENGINE_PERF);
		else
			snprintf(ct_engine_reason, sizeof(ct_engine_reason), "child: %.200s", why);
	} else if (parent_engine == CT_ENGINE_TIMER) {
		ct_engine_set(CT_ENGINE_TIMER);
		ct_timer_fork_child();
	}
	atomic_store_explicit(&engine_known, 1, memory_order_release);
	note_start();
	/* Release: the child's rings, sources and engine are ready (see ct_active). */
	atomic_store_explicit(&ct_agent_active, 1, memory_order_release);
	ct_collector_sync(); /* its files opened before the child may close every fd */
	ct_tls_guard = g;
}

/* The output folder (exechooks.c: ct_out_claim): a folder of its own says so in .children. */
static void claim_out_dir(void)
{
	if (ct_out_claim() > 0) {
		own_folder = 1; /* made by its first write, if it has any */
		note_start();
	}
}

/* The perf engine serves the cpu and the sched modes; the timer engine only cpu (it has no
 * scheduler records), as the fallback or on request. */
static void start_sampler(void)
{
	if (!(ct_cfg.modes & (CT_MODE_CPU | CT_MODE_SCHED))) {
		snprintf(ct_engine_reason, sizeof(ct_engine_reason), "cpu profiling not selected");
		return;
	}
	char why[256] = "";
	if (ct_cfg.sampler != CT_SAMPLER_TIMER || !(ct_cfg.modes & CT_MODE_CPU)) {
		if (ct_perf_start(why, sizeof(why)) == 0) {
			snprintf(ct_engine_reason, sizeof(ct_engine_reason), "%s", why);
			ct_engine_set(CT_ENGINE_PERF);
			return;
		}
		ct_log("perf engine unavailable: %s", why);
	}
	if (!(ct_cfg.modes & CT_MODE_CPU)) {
		snprintf(ct_engine_reason, sizeof(ct_engine_reason),
			 "%.200s (no scheduler records without perf_event)", why);
		return;
	}
	char why2[256] = "";
	if (ct_timer_start(why2, sizeof(why2)) == 0) {
		ct_engine_set(CT_ENGINE_TIMER);
		if (ct_cfg.sampler == CT_SAMPLER_TIMER)
			snprintf(ct_engine_reason, sizeof(ct_engine_reason), "%s (requested)",
				 why2);
		else
			snprintf(ct_engine_reason, sizeof(ct_engine_reason),
				 "%s (fallback: %.120s)", why2, why);
		return;
	}
	snprintf(ct_engine_reason, sizeof(ct_engine_reason), "%.120s; %.120s", why, why2);
}

__attribute__((constructor)) static void ct_agent_init(void)
{
	__atomic_store_n(&ct_tls_guard_off, ct_tls_offset(&ct_tls_guard), __ATOMIC_RELAXED);
	const char *off = getenv("CTRACE_DISABLE");
	if (off && *off && strcmp(off, "0") != 0)
		return;
	ct_tls_guard = 1;
	ct_tid_init();
	agent_pid = getpid();
	ct_config_load();
	ct_clock_snapshot_take(&ct_start_clock);
	/* Now, not at first need: for the main thread pthread_getattr_np reads /proc/self/maps
	 * through stdio (malloc), which a hook in a signal handler must not do. */
	stack_bounds();
	ct_main_stack_top = ct_tls_stack_top;
	struct rlimit rl;
	default_stack_small = getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
			      rl.rlim_cur < CT_SMALL_STACK;
	claim_out_dir();
	ct_out_reserve_fd();
	pthread_key_create(&thread_key, thread_gone);
	pthread_setspecific(thread_key, (void *)1); /* main's end, should it pthread_exit */
	ct_lt_init();
	int rc = ct_stack_init(), table = rc >= 0;
	if (rc >= 0)
		rc = ct_collector_start();
	if (rc < 0) {
		ct_start_failed(table ? "its rings and collector" : "its stack table", rc);
		ct_tls_guard = 0;
		return;
	}
	ct_modules_refresh();
	if (ct_unwind_init() < 0)
		ct_log("remote unwinder unavailable: samples keep their leaf frame only");
	ct_stack_warm();
	/* Release: rings, stack table and sources are ready for every hook (see ct_active). */
	atomic_store_explicit(&ct_agent_active, 1, memory_order_release);
	ct_http_start(); /* before the sampler: their threads carry no perf event */
	ct_period_start();
	start_sampler();
	eager_bounds = ct_engine_get() == CT_ENGINE_TIMER || getenv("CTRACE_HTTP") != NULL;
	atomic_store_explicit(&engine_known, 1, memory_order_release);
	pthread_atfork(NULL, NULL, at_fork_child);
	install_flush_handlers();
	atexit(ct_shutdown);
	ct_collector_sync(); /* its files open before main may close every fd */
	ct_log("recording to %s (engine %s: %s)", ct_cfg.out_dir, ct_engine_name(ct_engine_get()),
	       ct_engine_reason);
	ct_tls_guard = 0;
}

__attribute__((destructor)) static void ct_agent_fini(void)
{
	ct_shutdown();
}

/* ---- interposed: thread creation and the exits that skip atexit ---- */

typedef struct {
	void *(*fn)(void *);
	void *arg;
	ct_ev_thread_start start; /* the trace's creation record (lifecycle.h) */
	int small_stack;	  /* under CT_SMALL_STACK: learn its bounds (ct_stack_room) */
} tramp_arg;

typedef struct {
	void *(*fn)(void *);
	void *arg;
} tramp_call; /* two words: returned in registers */

/* The new thread's start: its records, then what it is to run. */
__attribute__((noinline)) static tramp_call thread_begin(void *p)
{
	tramp_arg t = *(tramp_arg *)p;
	ct_tls_guard = 1;
	free(p);
	ct_tls_guard = 0;
	ct_thread_started(t.small_stack);
	ct_th_start(&t.start, t.fn);
	return (tramp_call){t.fn, t.arg};
}

/* Ends in a tail call (no local of it has its address taken, so the compiler jumps): the
 * thread's function runs right on start_thread, and no frame of the agent's sits under it
 * in any stack — wait stacks, CPU samples, the stack cache's learned chains alike. */
static void *trampoline(void *p)
{
	tramp_call c = thread_begin(p);
	return c.fn(c.arg);
}

CT_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			     void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	if (!real)
		real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
				void *))ct_real("pthread_create");
	if (!ct_active() || ct_tls_guard)
		return real(th, attr, fn, arg);
	ct_tls_guard = 1;
	tramp_arg *t = malloc(sizeof(*t));
	ct_tls_guard = 0;
	if (!t)
		return real(th, attr, fn, arg);
	t->fn = fn;
	t->arg = arg;
	size_t size = 0; /* an attr without a size gives the default: RLIMIT_STACK's */
	t->small_stack = attr ? pthread_attr_getstacksize(attr, &size) == 0 && size < CT_SMALL_STACK
			      : default_stack_small;
	ct_th_create(&t->start, CT_LK_SITE());
	int r = real(th, attr, trampoline, t);
	if (r != 0) {
		ct_tls_guard = 1;
		free(t);
		ct_tls_guard = 0;
	}
	return r;
}

CT_EXPORT void _exit(int status)
{
	ct_shutdown();
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

CT_EXPORT void _Exit(int status)
{
	_exit(status);
}
