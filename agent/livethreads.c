/*
 * livethreads.c — the program's threads and their stacks now: /debug/pprof/goroutine
 * (a native program's goroutines are its threads) and /threadcreate.
 *
 * The handler thread lists /proc/self/task, skips the agent's own threads (named
 * "ctrace-*"), and reads each other thread's stack (/goroutine only: /threadcreate has
 * none) in the way that leaves it undisturbed:
 * - a thread asleep in the kernel is not signalled: a handler run would end its call
 *   (nanosleep, poll, epoll_wait, sigtimedwait... return EINTR whatever SA_RESTART says).
 *   Inside a blocking hook, the stack the hook took at the wait's entry (the wait registry,
 *   ct_lk_open_waits); else its stack pointer and pc in /proc/self/task/TID/syscall and a
 *   copy of its stack, frozen while it sleeps, unwound as a blocked wait's is (dropped if
 *   the thread moved meanwhile);
 * - a thread that blocks our signal is not signalled either: the signal would stay
 *   pending, and a program that blocks every signal to take them with sigwait or a
 *   signalfd would take ours (a daemon that then shut down on "signal 39");
 * - a running thread is signalled with a spare real-time signal whose handler does what the
 *   timer engine's does: copy the interrupted registers and the live stack (up to
 *   CTRACE_STACK_BYTES, only inside the thread's known stack) into a buffer, then post a
 *   semaphore. One that does not answer within 200 ms (stopped) is listed with no stack.
 * The copies are unwound on the collector thread (ct_unwind) and become one sample per
 * thread labelled `thread` and `tid`.
 *
 * The signal is taken only at the first request, and only one nobody handles; it is
 * claimed through sighooks.c like the timer engine's, so the program's sigaction still
 * sees its own (or the default) action there, and when the program sets a handler on it
 * the capture moves to another spare signal while the program's signals on the old one
 * reach its handler (ct_sig_forward). Requests are sent with rt_tgsigqueueinfo carrying a
 * cookie, so the handler tells them from the program's own signals. One capture runs at a
 * time (cap_mu). The handler claims a request by CAS on `want` (tid of the thread asked),
 * so a late answer to an abandoned request is never mistaken for the next thread's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/http.h"
#include "agent/internal.h"
#include "agent/live.h"
#include "agent/lockprof.h"
#include "agent/sighooks.h"
#include "libtrace/procfs.h"

#define MAX_THREADS 1024
#define ANSWER_MS 200

typedef struct {
	uint32_t tid;
	char name[32];
	char state[32];
	int has_regs;
	uint64_t regs[CT_NREGS];
	uint8_t *stack;
	size_t stack_len;
	uint64_t sys_sp, sys_pc; /* asleep in a system call: /proc/self/task/TID/syscall */
	const char *why;	 /* no stack: why not */
	uintptr_t pcs[CT_MAX_FRAMES];
	int npcs;
	uint32_t labels; /* the program's label set, known for a thread in a hooked wait */
} capture;

static pthread_mutex_t cap_mu = PTHREAD_MUTEX_INITIALIZER;
/* 0 until taken; -1 when none is free. Written under cap_mu, or by the program's thread
 * that took the signal (signal_taken); read by ask(). */
static _Atomic int signo;
static char cookie; /* its address is the sigval of every request */
static sem_t answered;
/* The request: tid asked (the handler moves it to BUSY, then DONE). */
static _Atomic uint64_t want;
#define BUSY (1ull << 40)
#define DONE (1ull << 41)
static capture *target; /* where the answering handler writes; set before the signal */

static void handler(int sig, siginfo_t *si, void *uc_)
{
	if (!si || si->si_code != SI_QUEUE || si->si_value.sival_ptr != &cookie) {
		ct_sig_forward(sig, si, uc_); /* the program's signal, not a request of ours */
		return;
	}
	int saved = errno;
	uint64_t expect = ct_gettid();
	if (!atomic_compare_exchange_strong_explicit(&want, &expect, expect | BUSY,
						     memory_order_acquire, memory_order_relaxed)) {
		errno = saved;
		return;
	}
	const greg_t *g = ((ucontext_t *)uc_)->uc_mcontext.gregs;
	static const int order[CT_NREGS] = {REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI,
					    REG_RBP, REG_RSP, REG_R8,  REG_R9,	REG_R10, REG_R11,
					    REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
	for (int i = 0; i < CT_NREGS; i++)
		target->regs[i] = (uint64_t)g[order[i]];
	uintptr_t sp = (uintptr_t)g[REG_RSP];
	uintptr_t top = ct_tls_stack_top, lo = ct_tls_stack_lo;
	size_t len = top && sp >= lo && sp < top ? top - sp : 0;
	if (len > target->stack_len)
		len = target->stack_len;
	memcpy(target->stack, (const void *)sp, len);
	target->stack_len = len;
	target->has_regs = 1;
	atomic_store_explicit(&want, expect | DONE, memory_order_release);
	int guard = ct_tls_guard;
	ct_tls_guard = 1; /* the agent's wake-up, not the program's: no unblock edge */
	sem_post(&answered);
	ct_tls_guard = guard;
	errno = saved;
}

/* The lowest real-time signal neither the program nor the agent uses (the timer engine
 * takes the highest), or -1. */
static int spare_signal(void)
{
	struct sigaction a;
	for (int s = SIGRTMIN + 5; s < SIGRTMAX - 5; s++)
		if (s != signo && !ct_sig_program_owns(s) && ct_sig_real_action(s, NULL, &a) == 0 &&
		    !(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_DFL)
			return s;
	return -1;
}

static void signal_taken(int sig);

static int install(int sig)
{
	return sig < 0 ? -1 : ct_sig_claim_handler(sig, handler, signal_taken);
}

/* The program set a handler on our signal (sighooks.c, on its thread): captures move to
 * another spare one; our handler stays on the old one to forward the program's signals. */
static void signal_taken(int sig)
{
	(void)sig;
	int s = spare_signal();
	atomic_store(&signo, install(s) == 0 ? s : -1);
}

/* Takes the lowest spare real-time signal at the first request. */
static int take_signal(void)
{
	int s = atomic_load(&signo);
	if (s)
		return s;
	s = sem_init(&answered, 0, 0) < 0 ? -1 : spare_signal();
	s = install(s) == 0 ? s : -1;
	atomic_store(&signo, s);
	return s;
}

static void read_small(const char *path, char *out, size_t len)
{
	ct_procfs_read(path, out, len);
	out[strcspn(out, "\n")] = 0;
}

/* The program's threads (not the agent's), named, with their scheduler state. */
static int list_threads(capture *caps, int max)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		uint32_t tid = (uint32_t)strtoul(e->d_name, NULL, 10);
		if (!tid)
			continue;
		capture *c = &caps[n];
		memset(c, 0, sizeof(*c));
		c->tid = tid;
		char path[64], stat[256];
		snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
		read_small(path, c->name, sizeof(c->name));
		if (strncmp(c->name, "ctrace-", 7) == 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%u/stat", tid);
		read_small(path, stat, sizeof(stat));
		const char *rp = strrchr(stat, ')');
		snprintf(c->state, sizeof(c->state), "%s",
			 !rp || !rp[1] || !rp[2]	? "unknown"
			 : rp[2] == 'R'			? "running"
			 : rp[2] == 'S'			? "sleeping"
			 : rp[2] == 'D'			? "disk sleep"
			 : rp[2] == 'T' || rp[2] == 't' ? "stopped"
							: "other");
		n++;
	}
	closedir(d);
	return n;
}

/* Whether thread tid blocks signal sig (its status's SigBlk mask). */
static int blocks(uint32_t tid, int sig)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%u/status", tid);
	return ct_procfs_status_mask(path, "\nSigBlk:") >> (sig - 1) & 1;
}

/* The stack pointer and pc of thread tid asleep in a system call: 1, or 0 when it runs
 * (its syscall file: "NR ARGS... SP PC", "-1 SP PC" when blocked outside one, "running"). */
static int syscall_regs(uint32_t tid, uint64_t *sp, uint64_t *pc)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%u/syscall", tid);
	read_small(path, buf, sizeof(buf));
	char *last = strrchr(buf, ' ');
	if (!buf[0] || strncmp(buf, "running", 7) == 0 || !last || last == buf)
		return 0;
	*last = 0;
	char *prev = strrchr(buf, ' ');
	*pc = strtoull(last + 1, NULL, 16);
	*sp = prev ? strtoull(prev + 1, NULL, 16) : 0;
	return *sp && *pc;
}

/* Asks thread c->tid for its registers and stack; 1 when it answered. */
static int ask(capture *c, pid_t pid)
{
	while (sem_trywait(&answered) == 0)
		;
	target = c;
	atomic_store_explicit(&want, c->tid, memory_order_release);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = atomic_load(&signo);
	si.si_code = SI_QUEUE;
	si.si_pid = pid;
	si.si_uid = getuid();
	si.si_value.sival_ptr = &cookie;
	if (si.si_signo <= 0 || syscall(SYS_rt_tgsigqueueinfo, pid, c->tid, si.si_signo, &si) < 0) {
		atomic_store_explicit(&want, 0, memory_order_relaxed);
		return 0;
	}
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += ANSWER_MS * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	while (sem_timedwait(&answered, &dl) < 0 && errno == EINTR)
		;
	uint64_t expect = c->tid;
	if (atomic_compare_exchange_strong_explicit(&want, &expect, 0, memory_order_acq_rel,
						    memory_order_acquire))
		return 0; /* nobody answered: withdrawn */
	while (!(atomic_load_explicit(&want, memory_order_acquire) & DONE))
		sched_yield(); /* the handler is copying */
	atomic_store_explicit(&want, 0, memory_order_relaxed);
	return c->has_regs;
}

typedef struct {
	capture *caps;
	int n;
} unwind_job;

/* Whether pc lies in the agent itself (its hooks between the program and libc): those
 * frames are left out, as the hooks' own stacks leave them out. Collector thread. */
static int in_agent(uintptr_t pc)
{
	static const ct_module *self;
	if (!self)
		self = ct_modules_find((uintptr_t)in_agent);
	const ct_module *m = ct_modules_find(pc);
	return self && m && strcmp(m->path, self->path) == 0;
}

/* s in double quotes, its quotes and backslashes escaped, as Go's labels line has them. */
static void put_quoted(ct_http_resp *r, const char *s)
{
	ct_http_append(r, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			ct_http_append(r, "\\", 1);
		ct_http_append(r, s, 1);
	}
	ct_http_append(r, "\"", 1);
}

/* An open wait's stack (taken by its hook at the wait's entry) for its thread's capture. */
static void from_wait(const ct_lk_open_wait *w, void *arg)
{
	unwind_job *j = arg;
	const uintptr_t *pcs;
	int d = ct_stack_get(w->stack, &pcs);
	for (int i = 0; i < j->n && d > 0; i++) {
		capture *c = &j->caps[i];
		if (c->tid != w->tid || c->has_regs || c->npcs)
			continue;
		c->npcs = d < CT_MAX_FRAMES ? d : CT_MAX_FRAMES;
		memcpy(c->pcs, pcs, (size_t)c->npcs * sizeof(*pcs));
		c->pcs[0]--; /* the hook's return address: the leaf is its call */
		c->labels = ct_stack_labels(w->stack); /* interned with the wait's labels */
	}
}

/* A sleeping thread's stack from its syscall registers and a copy of its stack (frozen
 * while it sleeps: the copy is kept only if the registers are the same after it): its
 * depth, into c->pcs. */
static int from_syscall(capture *c)
{
	struct iovec local = {c->stack, c->stack_len}, remote = {(void *)c->sys_sp, c->stack_len};
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	uint64_t sp, pc;
	if (got < (ssize_t)sizeof(uintptr_t) || !syscall_regs(c->tid, &sp, &pc) ||
	    sp != c->sys_sp || pc != c->sys_pc) {
		c->why = "it was asleep in a system call, whose stack could not be read";
		return 0;
	}
	uint64_t regs[CT_NREGS] = {0};
	regs[CT_REG_RIP] = c->sys_pc;
	regs[CT_REG_RSP] = c->sys_sp;
	return ct_unwind(regs, c->stack, (size_t)got, c->pcs, CT_MAX_FRAMES);
}

static void unwind_on_collector(void *arg)
{
	unwind_job *j = arg;
	ct_lk_open_waits(from_wait, j);
	for (int i = 0; i < j->n; i++) {
		capture *c = &j->caps[i];
		int n = 0;
		if (c->has_regs)
			n = ct_unwind(c->regs, c->stack, c->stack_len, c->pcs, CT_MAX_FRAMES);
		else if (!c->npcs && c->sys_sp && c->stack)
			n = from_syscall(c);
		if (!n)
			continue;
		int k = 0;
		for (int f = 0; f < n; f++) {
			if (in_agent(c->pcs[f]))
				continue;
			/* A return address that becomes the leaf points into its call. */
			c->pcs[k] = k == 0 && f > 0 ? c->pcs[f] - 1 : c->pcs[f];
			k++;
		}
		c->npcs = k;
		if (!k)
			c->why = "its stack could not be unwound";
	}
}

/* Lists every program thread into *out (n returned; caller frees with free_caps), with
 * its stack when stacks (see the top for how). */
static int capture_all(capture **out, int stacks)
{
	capture *caps = calloc(MAX_THREADS, sizeof(capture));
	*out = caps;
	if (!caps)
		return 0;
	pthread_mutex_lock(&cap_mu);
	int n = list_threads(caps, MAX_THREADS);
	int sig = stacks ? take_signal() : 0;
	pid_t pid = getpid();
	for (int i = 0; i < n && stacks; i++) {
		capture *c = &caps[i];
		c->stack = malloc(ct_cfg.stack_bytes);
		c->stack_len = c->stack ? ct_cfg.stack_bytes : 0;
		c->why = "the thread did not answer the signal";
		if (!c->stack)
			continue;
		if (strstr(c->state, "sleep") && syscall_regs(c->tid, &c->sys_sp, &c->sys_pc))
			continue; /* a signal would end its call: read without one */
		if (sig <= 0 || blocks(c->tid, sig))
			c->why = "it blocks the signal that reads a running thread's stack";
		else
			ask(c, pid);
	}
	pthread_mutex_unlock(&cap_mu);
	unwind_job j = {caps, n};
	if (stacks && ct_collector_call(unwind_on_collector, &j) < 0) {
		for (int i = 0; i < n; i++) { /* no unwinder: the leaf only */
			caps[i].npcs = caps[i].has_regs;
			caps[i].pcs[0] = caps[i].regs[CT_REG_RIP];
		}
	}
	return n;
}

static void free_caps(capture *caps, int n)
{
	for (int i = 0; caps && i < n; i++)
		free(caps[i].stack);
	free(caps);
}

typedef struct {
	capture *caps;
	int n;
	const char *type;
	ct_profile *p;
} build_job;

static void build_on_collector(void *arg)
{
	build_job *b = arg;
	ct_profile *p = ct_out_profile_new();
	b->p = p;
	if (!p || ct_profile_add_sample_type(p, b->type, "count") < 0)
		return;
	p->period_type.type = ct_profile_str(p, b->type);
	p->period_type.unit = ct_profile_str(p, "count");
	p->period = 1;
	for (int i = 0; i < b->n; i++) {
		capture *c = &b->caps[i];
		char tid[16];
		snprintf(tid, sizeof(tid), "%u", c->tid);
		ct_label l[2 + CT_ANN_DEPTH] = {{.key = "thread", .str = c->name},
						{.key = "tid", .str = tid}};
		uint32_t nl =
			2 + (c->labels ? ct_ann_set_labels(c->labels, l + 2, CT_ANN_DEPTH) : 0);
		int64_t one = 1;
		int depth = strcmp(b->type, "goroutine") == 0 ? c->npcs : 0;
		ct_out_add_pcs(p, c->pcs, depth, true, &one, l, nl);
	}
}

ct_profile *ct_live_threads(const char *type)
{
	capture *caps;
	int n = capture_all(&caps, strcmp(type, "goroutine") == 0);
	build_job b = {caps, n, type, NULL};
	if (ct_collector_call(build_on_collector, &b) < 0)
		b.p = NULL;
	free_caps(caps, n);
	return b.p;
}

/* One frame as "name+0xoff" (demangled), or the address when unnamed. */
static void frame_name(const ct_profile *maps, uintptr_t pc, char *out, size_t len)
{
	for (uint32_t m = 0; m < maps->nmappings; m++) {
		uint64_t off;
		const char *name = ct_live_symbol(&maps->mappings[m], pc, &off);
		char pretty[1024];
		if (name) {
			snprintf(out, len, "%s+%#llx", ct_live_pretty(name, pretty, sizeof(pretty)),
				 (unsigned long long)off);
			return;
		}
	}
	snprintf(out, len, "%#llx", (unsigned long long)pc);
}

void ct_live_threads_text(ct_http_resp *r, int debug)
{
	capture *caps;
	int n = capture_all(&caps, 1);
	build_job b = {caps, 0, "goroutine", NULL};
	if (ct_collector_call(build_on_collector, &b) < 0 || !b.p) {
		free_caps(caps, n);
		ct_http_error(r, 500, "failed to collect profile");
		return;
	}
	ct_http_printf(r, "goroutine profile: total %d\n", n);
	for (int i = 0; i < n; i++) {
		capture *c = &caps[i];
		if (debug >= 2) {
			ct_http_printf(r, "thread %u \"%s\" [%s]:\n", c->tid, c->name, c->state);
		} else {
			ct_http_printf(r, "1 @");
			for (int k = 0; k < c->npcs; k++)
				ct_http_printf(r, " %#llx", (unsigned long long)c->pcs[k]);
			ct_http_printf(r, "\n# labels: {\"thread\":");
			put_quoted(r, c->name);
			ct_http_printf(r, ", \"tid\":\"%u\"", c->tid);
			ct_label l[CT_ANN_DEPTH]; /* the program's, for a thread in a hooked wait */
			uint32_t nl = c->labels ? ct_ann_set_labels(c->labels, l, CT_ANN_DEPTH) : 0;
			for (uint32_t k = 0; k < nl; k++) {
				ct_http_printf(r, ", ");
				put_quoted(r, l[k].key);
				ct_http_printf(r, ":");
				put_quoted(r, l[k].str ? l[k].str : "");
			}
			ct_http_printf(r, "}\n");
		}
		if (!c->npcs)
			ct_http_printf(r, "%s\t(no stack: %s)\n", debug >= 2 ? "" : "#", c->why);
		for (int k = 0; k < c->npcs; k++) {
			char fn[256];
			uintptr_t pc = k ? c->pcs[k] - 1 : c->pcs[k];
			frame_name(b.p, pc, fn, sizeof(fn));
			if (debug >= 2)
				ct_http_printf(r, "%s\n\tat %#llx\n", fn, (unsigned long long)pc);
			else
				ct_http_printf(r, "#\t%#llx\t%s\n", (unsigned long long)pc, fn);
		}
		ct_http_printf(r, "\n");
	}
	ct_profile_free(b.p);
	free_caps(caps, n);
}
