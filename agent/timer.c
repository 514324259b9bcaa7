/*
 * timer.c — the timer-signal sampling engine (fallback where perf_event is refused).
 *
 * Each thread gets a timer_create(CLOCK_THREAD_CPUTIME_ID) timer that delivers a signal to
 * that thread (SIGEV_THREAD_ID) every 1/hz seconds of its CPU time, first expiry
 * randomized so threads do not tick in lockstep. Like the kernel does for perf samples,
 * the handler does not unwind: it copies the interrupted registers from the ucontext and
 * the live part of the stack (from the stack pointer up to the thread's stack top, at most
 * CTRACE_STACK_BYTES; on another stack — a coroutine's, a sigaltstack — CTRACE_STACK_BYTES
 * read with process_vm_readv, which cannot fault) into a ring record; the collector unwinds it with
 * the same code as perf samples. The handler is async-signal-safe: no malloc, no locks, no loader
 * calls, errno preserved. A program that already owns SIGPROF keeps it: we then use a real-time
 * signal nobody handles, or stay off and say why. A program that takes SIGPROF (or our real-time
 * signal) later — sigaction, signal, setitimer(ITIMER_PROF) — moves us to another free
 * real-time signal (sighooks.c): each thread re-arms its timer on the new signal at its
 * next tick, and ticks of ours still in flight on the old signal are recognised by their
 * sigev_value and never reach the program's handler. A thread's timer pauses while the
 * thread blocks the signal (signal_mask), so a program reading its blocked signals with
 * signalfd or sigtimedwait never reads a tick of ours.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/internal.h"
#include "agent/sighooks.h"
#include "libtrace/clock.h"

/* Our signal: set by ct_timer_start (constructor) before any thread is armed; moved to a
 * free real-time signal by the sigaction hooks (sighooks.c) when the program takes it.
 * Read by the handler on any thread (sequentially consistent: a rare, lock-free load). */
static _Atomic int signo;
static uint64_t period_ns;
/* Whether the handler records: set by the starting thread, cleared by the exit path, read
 * by the handler on any thread. Relaxed: it only gates; what the handler then touches (the
 * rings) was published by ct_agent_active, and a handler that still sees 1 after the stop
 * appends a record nobody reads, which is harmless. */
static _Atomic int enabled;
static _Atomic uint64_t dropped; /* samples a full ring refused: a counter, relaxed */
static char tick_cookie;	 /* its address is the sigev_value of every timer of ours */
static __thread timer_t tls_timer __attribute__((tls_model("initial-exec")));
static __thread int tls_armed __attribute__((tls_model("initial-exec")));

static void rearm_thread(void);

static void handler(int sig, siginfo_t *si, void *uc_)
{
	if (!si || si->si_code != SI_TIMER || si->si_value.sival_ptr != &tick_cookie) {
		ct_sig_forward(sig, si, uc_); /* the program's signal, not a tick of ours */
		return;
	}
	int saved = errno;
	if (sig != signo)
		rearm_thread(); /* our signal moved: this thread's timer follows */
	if (!atomic_load_explicit(&enabled, memory_order_relaxed) || ct_tls_guard) {
		errno = saved;
		return;
	}
	ucontext_t *uc = uc_;
	const greg_t *g = uc->uc_mcontext.gregs;
	uintptr_t sp = (uintptr_t)g[REG_RSP];
	/* The thread's own stack is copied from sp to its top. Another stack (a coroutine's
	 * on the heap, a sigaltstack) has no known top: it is read with process_vm_readv,
	 * which stops at the end of the mapping instead of faulting. */
	uintptr_t top = ct_tls_stack_top, lo = ct_tls_stack_lo;
	bool own = top && sp >= lo && sp < top;
	size_t len = own ? top - sp : sp ? ct_cfg.stack_bytes : 0;
	if (len > ct_cfg.stack_bytes)
		len = ct_cfg.stack_bytes;
	/* Registers, the thread's label set (read here: exact, and pushes need not record
	 * label changes, ct_ann_sample_labels), then the stack. */
	ct_rec *rec = ct_emit_reserve(CT_EV_TIMER_SAMPLE, (uint32_t)(CT_NREGS * 8 + 8 + len));
	if (rec) {
		uint64_t *regs = ct_rec_payload(rec);
		regs[0] = (uint64_t)g[REG_RAX];
		regs[1] = (uint64_t)g[REG_RDX];
		regs[2] = (uint64_t)g[REG_RCX];
		regs[3] = (uint64_t)g[REG_RBX];
		regs[4] = (uint64_t)g[REG_RSI];
		regs[5] = (uint64_t)g[REG_RDI];
		regs[6] = (uint64_t)g[REG_RBP];
		regs[7] = (uint64_t)g[REG_RSP];
		for (int i = 0; i < 8; i++)
			regs[8 + i] = (uint64_t)g[REG_R8 + i];
		regs[16] = (uint64_t)g[REG_RIP];
		regs[CT_NREGS] = CT_SAMPLE_LABELS | ct_ann_current();
		uint8_t *copy = (uint8_t *)(regs + CT_NREGS + 1);
		if (own) {
			memcpy(copy, (const void *)sp, len);
		} else if (len) {
			struct iovec to = {copy, len}, from = {(void *)sp, len};
			ssize_t got = process_vm_readv(getpid(), &to, 1, &from, 1, 0);
			got = got < 0 ? 0 : got;
			memset(copy + got, 0, len - (size_t)got); /* a 0 return address ends it */
		}
		/* POSIX CPU timers expire on scheduler ticks: at a frequency above the tick
		 * rate one signal stands for several periods, which the overrun counts. */
		int over = si && si->si_code == SI_TIMER ? si->si_overrun : 0;
		rec->flags = (uint16_t)(over < 0 ? 0 : over > 65535 ? 65535 : over);
		rec->tid = ct_gettid();
		rec->time = ct_now();
		ct_emit_commit(rec);
	} else {
		atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
	}
	errno = saved;
}

/* A real-time signal neither the program nor the agent uses, or 0. */
static int free_rt_signal(void)
{
	struct sigaction a;
	for (int s = SIGRTMAX - 4; s > SIGRTMIN + 4; s--)
		if (s != signo && !ct_sig_program_owns(s) &&
		    (ct_sig_real_action(s, NULL, &a) < 0 ||
		     (!(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_DFL)))
			return s;
	return 0;
}

static void signal_taken(int sig);

/* Threads that block the timer's signal (sigprocmask, pthread_sigmask, or a mask they
 * started with): a tick they blocked would stay pending, and a program that blocks every
 * signal to read them with signalfd or sigtimedwait would receive it. So a thread's timer
 * pauses just before the thread blocks the signal, keeping what was left of its period,
 * and resumes when the thread unblocks it; its CPU time goes unsampled meanwhile. Counted
 * once a thread, for summary.txt's warning. */
static _Atomic uint64_t blocked_threads;
static _Atomic int blocked_signo; /* the signal the first of them blocked, for the warning */
static __thread int tls_blocked __attribute__((tls_model("initial-exec")));
/* The signal this thread's timer delivers: signo when armed, the old one after a move
 * until the thread's next tick (or unblock) re-arms it. */
static __thread int tls_signo __attribute__((tls_model("initial-exec")));
/* After a move, the signal before (0: none): a thread paused on it resumes when the
 * program unblocks it, and its first tick then moves it (the handler). */
static _Atomic int prev_signo;
static __thread int tls_paused __attribute__((tls_model("initial-exec")));
static __thread struct timespec tls_left __attribute__((tls_model("initial-exec")));

static void count_blocked(const void *caller)
{
	/* libunwind blocks every signal around its caches, at a thread's exit outside a hook */
	if (!tls_blocked && !(caller && ct_stack_in_unwinder(caller))) {
		tls_blocked = 1;
		int none = 0;
		atomic_compare_exchange_strong(&blocked_signo, &none, tls_signo);
		atomic_fetch_add_explicit(&blocked_threads, 1, memory_order_relaxed);
	}
}

static void set_timer(const struct timespec *value, struct itimerspec *old)
{
	struct itimerspec its = {.it_value = *value};
	if (value->tv_sec || value->tv_nsec)
		its.it_interval = (struct timespec){(time_t)(period_ns / 1000000000ull),
						    (long)(period_ns % 1000000000ull)};
	timer_settime(tls_timer, 0, &its, old);
}

static void pause_timer(void)
{
	struct itimerspec old;
	set_timer(&(struct timespec){0, 0}, &old);
	tls_left = old.it_value;
	tls_paused = 1;
}

static void resume_timer(void)
{
	if (!tls_left.tv_sec && !tls_left.tv_nsec)
		tls_left.tv_nsec = 1; /* it was due as the thread blocked */
	tls_paused = 0;
	set_timer(&tls_left, NULL);
}

/* The program changed sig in this thread's mask: the thread's timer pauses or resumes if
 * it delivers sig (async-signal-safe). */
static void mask_changed(int sig, int event, const void *caller)
{
	if (!tls_armed || sig != tls_signo)
		return;
	if (event == CT_SIG_BLOCKING && !tls_paused) {
		pause_timer();
		count_blocked(caller);
	} else if (event == CT_SIG_UNBLOCKED && tls_paused) {
		resume_timer();
	}
}

/* sighooks.c's watches: the timer's signal, and the one it moved from. */
static void signal_mask(int event, const void *caller)
{
	mask_changed(atomic_load(&signo), event, caller);
}

static void prev_signal_mask(int event, const void *caller)
{
	mask_changed(atomic_load(&prev_signo), event, caller);
}

void ct_timer_warning(char *buf, size_t len)
{
	uint64_t n = atomic_load_explicit(&blocked_threads, memory_order_relaxed);
	if (n)
		ct_warning_add(
			buf, len,
			"%llu thread(s) blocked the timer engine's signal %d: their CPU time "
			"was not sampled while they did",
			(unsigned long long)n, atomic_load(&blocked_signo));
}

static int install(int sig)
{
	return ct_sig_claim_handler(sig, handler, signal_taken);
}

/* The program took our signal (sighooks.c): move to a free real-time signal. Threads
 * follow at their next tick (handler); this one at once. */
static void signal_taken(int sig)
{
	int s = free_rt_signal();
	if (!s || install(s) < 0) {
		enabled = 0;
		snprintf(ct_engine_reason, sizeof(ct_engine_reason),
			 "timer: the program took signal %d and no real-time signal is free; "
			 "CPU sampling stopped",
			 sig);
		return;
	}
	prev_signo = sig;
	ct_sig_on_mask(sig, prev_signal_mask);
	signo = s;
	ct_sig_on_mask(s, signal_mask);
	snprintf(ct_engine_reason, sizeof(ct_engine_reason),
		 "timer signal %d, CLOCK_THREAD_CPUTIME_ID, %d Hz (moved from signal %d, which "
		 "the program took)",
		 s, ct_cfg.hz, sig);
	int g = ct_tls_guard;
	ct_tls_guard = 1;
	rearm_thread();
	ct_tls_guard = g;
}

int ct_timer_start(char *why, size_t whylen)
{
	period_ns = 1000000000ull / (uint64_t)ct_cfg.hz;
	signo = SIGPROF;
	const char *note = "";
	if (ct_sig_program_owns(SIGPROF)) {
		signo = free_rt_signal();
		if (!signo) {
			snprintf(why, whylen,
				 "timer: SIGPROF and every spare real-time signal "
				 "are owned by the program; CPU sampling off");
			return -EBUSY;
		}
		note = " (SIGPROF is the program's: using a real-time signal)";
	}
	int r = install(signo);
	if (r < 0) {
		snprintf(why, whylen, "timer: sigaction: %s", strerror(-r));
		return r;
	}
	atomic_store_explicit(&enabled, 1, memory_order_relaxed);
	ct_sig_on_mask(signo, signal_mask);
	r = ct_timer_arm_thread();
	if (r < 0) {
		snprintf(why, whylen, "timer: timer_create: %s", strerror(-r));
		atomic_store_explicit(&enabled, 0, memory_order_relaxed);
		return r;
	}
	snprintf(why, whylen, "timer signal %d, CLOCK_THREAD_CPUTIME_ID, %d Hz%s", signo, ct_cfg.hz,
		 note);
	return 0;
}

int ct_timer_arm_thread(void)
{
	if (!atomic_load_explicit(&enabled, memory_order_relaxed) || tls_armed)
		return 0;
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = signo;
	sev.sigev_value.sival_ptr = &tick_cookie;
	sev._sigev_un._tid = (int)ct_gettid();
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &tls_timer) < 0)
		return -errno;
	/* First expiry uniformly in (0, period]: a cheap LCG on tid and time is enough. */
	uint64_t x = (ct_now() ^ ((uint64_t)ct_gettid() << 32)) * 6364136223846793005ull + 1;
	uint64_t first = 1 + (x >> 33) % period_ns;
	tls_left =
		(struct timespec){(time_t)(first / 1000000000ull), (long)(first % 1000000000ull)};
	tls_armed = 1;
	tls_paused = 1;
	tls_signo = signo;
	if (ct_sig_blocked(signo)) /* the mask it started with (its creator's, or exec's) */
		count_blocked(NULL);
	else
		resume_timer();
	return 0;
}

/* Called at thread exit (main.c's key destructor) so dead threads do not keep timers. */
void ct_timer_disarm_thread(void)
{
	if (tls_armed) {
		timer_delete(tls_timer);
		tls_armed = 0;
		tls_paused = 0;
	}
}

int ct_timer_thread_overdue(void)
{
	struct itimerspec left;
	if (!tls_armed || !atomic_load_explicit(&enabled, memory_order_relaxed) ||
	    timer_gettime(tls_timer, &left) < 0)
		return 0;
	/* The kernel reports an expired timer whose signal it has not sent as 1 ns left. */
	return left.it_value.tv_sec == 0 && left.it_value.tv_nsec == 1;
}

/* Moves this thread's timer to the current signal (async-signal-safe in glibc: a timer
 * without SIGEV_THREAD is one syscall each way). */
static void rearm_thread(void)
{
	if (!tls_armed)
		return;
	ct_timer_disarm_thread();
	ct_timer_arm_thread();
}

void ct_timer_stop(void)
{
	atomic_store_explicit(&enabled, 0, memory_order_relaxed);
}

void ct_timer_fork_child(void)
{
	/* POSIX timers are not inherited; the TLS says armed because it was copied. */
	tls_armed = 0;
	tls_paused = 0;
	ct_timer_arm_thread();
}

uint64_t ct_timer_dropped(void)
{
	return atomic_load_explicit(&dropped, memory_order_relaxed);
}

/* The timer's ring records become CT_EV_SAMPLE events, like perf's samples. Collector. */
static void timer_on_sample(const ct_event *ev)
{
	uint64_t regs[CT_NREGS + 1]; /* and the label set */
	if (!ct_event_get(ev, regs, sizeof(regs)))
		return;
	ct_ev_sample s = {.weight_ns = period_ns * (1u + ev->flags),
			  .regs = regs,
			  .stack = (const uint8_t *)ev->data + sizeof(regs),
			  .stack_len = ev->len - sizeof(regs),
			  .cpu = UINT32_MAX,
			  .pid = (uint32_t)getpid(),
			  .labels = regs[CT_NREGS]};
	ct_dispatch_derived(ev, CT_EV_SAMPLE, &s, sizeof(s));
}

static void timer_fork_child_source(void) {}

static const ct_subscription timer_subs[] = {{CT_EV_TIMER_SAMPLE, timer_on_sample}, {0, NULL}};

/* Decodes the timer's records for whoever wants samples; on whenever the timer may run. */
CT_SOURCE(timer_source) = {
	.name = "timer",
	.mode = CT_MODE_CPU,
	.subs = timer_subs,
	.fork_child = timer_fork_child_source,
};
