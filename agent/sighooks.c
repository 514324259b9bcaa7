/*
 * sighooks.c — the program's sigaction/signal/setitimer, seen through the agent's claims
 * (see sighooks.h for the contract), and its signal masks, watched (ct_sig_on_block).
 *
 * State per signal: NONE (not the agent's business: calls pass straight through), AGENT
 * (the agent's handler is installed and the agent uses the signal), DISPATCH (the agent's
 * handler is installed with the program's mask and flags only to filter the agent's own
 * late timer ticks; everything else is forwarded to the program's action). No lock: a
 * signal's state changes only from the program's own sigaction calls for that signal,
 * which the program itself does not race with each other.
 */
#include <errno.h>
#include <setjmp.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

#include "agent/agent.h"
#include "agent/sighooks.h"

/* SIG_YIELDED: a flush signal the program took for a handler of its own; the kernel has
 * that handler, and the program's SIG_DFL later gives the signal back to the agent. */
enum { SIG_NONE, SIG_AGENT, SIG_DISPATCH, SIG_YIELDED };

static struct {
	volatile int state;
	struct sigaction agent; /* the agent's action */
	struct sigaction prog;	/* what the program set, or found before the agent */
	void (*on_taken)(int);
} sigs[_NSIG];

static int (*real_sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static int (*real_sigmask_fn)(int, const sigset_t *, sigset_t *);
static int (*real_procmask_fn)(int, const sigset_t *, sigset_t *);
/* ct_sig_on_mask's watches (the perf engine's label signal, the timer engine's and the one
 * it moved from): set by the constructor before the program's threads run, the timer's
 * again when it moves. */
#define WATCHES 3
static _Atomic int watch_sig[WATCHES];
static void (*watch_fn[WATCHES])(int event, const void *caller);
static int (*real_setitimer_fn)(int, const struct itimerval *, struct itimerval *);

int ct_sig_real_action(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!real_sigaction_fn)
		*(void **)&real_sigaction_fn = ct_real("sigaction");
	return real_sigaction_fn(sig, act, old);
}

int ct_sig_claim_handler(int sig, void (*handler)(int, siginfo_t *, void *),
			 void (*on_taken)(int sig))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	return ct_sig_claim(sig, &sa, on_taken);
}

static int real_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!real_sigmask_fn)
		*(void **)&real_sigmask_fn = ct_real("pthread_sigmask");
	return real_sigmask_fn(how, set, old);
}

int ct_sig_thread_create(pthread_t *t, void *(*fn)(void *), const char *name)
{
	sigset_t all, old;
	sigfillset(&all);
	real_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(t, NULL, fn, NULL);
	if (r == 0 && name)
		pthread_setname_np(*t, name);
	real_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

void ct_sig_on_mask(int sig, void (*fn)(int event, const void *caller))
{
	for (int i = 0; i < WATCHES; i++)
		if (watch_fn[i] == fn || !watch_fn[i]) {
			watch_fn[i] = fn;
			atomic_store_explicit(&watch_sig[i], sig, memory_order_relaxed);
			return;
		}
}

int ct_sig_blocked(int sig)
{
	sigset_t cur;
	return real_sigmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, sig) == 1;
}

/* Whether sig's action, as the program set it, is a handler (not SIG_DFL or SIG_IGN). */
static int program_handles(int sig)
{
	struct sigaction a;
	if (sigs[sig].state != SIG_NONE && sigs[sig].state != SIG_YIELDED)
		a = sigs[sig].prog;
	else if (ct_sig_real_action(sig, NULL, &a) < 0)
		return 0;
	return (a.sa_flags & SA_SIGINFO) ? a.sa_sigaction != NULL
					 : a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN;
}

int ct_sig_maybe_in_handler(void)
{
	sigset_t cur;
	if (real_sigmask(SIG_BLOCK, NULL, &cur) != 0)
		return 0;
	for (int sig = 1; sig < _NSIG; sig++)
		if (sigismember(&cur, sig) == 1 && program_handles(sig))
			return 1;
	return 0;
}

/* What the program's change of its thread's mask (how, set) does to sig: CT_SIG_BLOCKED,
 * CT_SIG_UNBLOCKED, or 0 (sig stays as it was, or the call is the agent's own). */
static int mask_effect(int how, const sigset_t *set, int sig)
{
	if (!set || !sig || ct_tls_guard)
		return 0;
	int in = sigismember(set, sig) == 1;
	if (how == SIG_SETMASK)
		return in ? CT_SIG_BLOCKED : CT_SIG_UNBLOCKED;
	if (how == SIG_BLOCK && in)
		return CT_SIG_BLOCKED;
	return how == SIG_UNBLOCK && in ? CT_SIG_UNBLOCKED : 0;
}

/* The program (code at caller) changes its thread's mask with real(how, set, old): the
 * watchers hear CT_SIG_BLOCKING before a change that blocks their signal, CT_SIG_BLOCKED
 * after it, CT_SIG_UNBLOCKED after one that leaves it unblocked (or that failed after a
 * CT_SIG_BLOCKING, with the signal still unblocked). */
static int change_mask(int (*real)(int, const sigset_t *, sigset_t *), int how, const sigset_t *set,
		       sigset_t *old, const void *caller)
{
	int effect[WATCHES];
	for (int i = 0; i < WATCHES; i++) {
		int sig = atomic_load_explicit(&watch_sig[i], memory_order_relaxed);
		effect[i] = mask_effect(how, set, sig);
		if (effect[i] == CT_SIG_BLOCKED)
			watch_fn[i](CT_SIG_BLOCKING, caller);
	}
	int r = real(how, set, old);
	int saved = errno;
	for (int i = 0; i < WATCHES; i++) {
		int sig = atomic_load_explicit(&watch_sig[i], memory_order_relaxed);
		if (r != 0 && effect[i] == CT_SIG_BLOCKED && sig && !ct_sig_blocked(sig))
			watch_fn[i](CT_SIG_UNBLOCKED, caller);
		else if (r == 0 && effect[i])
			watch_fn[i](effect[i], caller);
	}
	errno = saved;
	return r;
}

CT_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!real_sigmask_fn)
		*(void **)&real_sigmask_fn = ct_real("pthread_sigmask");
	return change_mask(real_sigmask_fn, how, set, old, __builtin_return_address(0));
}

CT_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!real_procmask_fn)
		*(void **)&real_procmask_fn = ct_real("sigprocmask");
	return change_mask(real_procmask_fn, how, set, old, __builtin_return_address(0));
}

/* ---- jumps that restore a mask ----
 * siglongjmp (and longjmp and _longjmp, the same function in glibc, and the fortified
 * __longjmp_chk) restore the mask a sigsetjmp(env, 1) saved, and setcontext and
 * swapcontext the context's, each with a system call of its own rather than sigprocmask:
 * a thread that blocked the timer's signal and jumped back out of the block (error
 * recovery's pattern) kept its timer paused, and lost every sample after. The watchers
 * hear the change, as a SIG_SETMASK, just before the jump: a tick that comes in between
 * waits, blocked, for the jump's unblock a moment later. The real functions are found in
 * a constructor, not at a first jump, which may leave a signal handler. */

void __longjmp_chk(struct __jmp_buf_tag env[1], int val) __attribute__((noreturn));
typedef void (*jump_fn)(struct __jmp_buf_tag *, int);
static jump_fn real_longjmp_fn, real_siglongjmp_fn, real__longjmp_fn, real_longjmp_chk_fn;
static int (*real_setcontext_fn)(const ucontext_t *);
static int (*real_swapcontext_fn)(ucontext_t *, const ucontext_t *);

__attribute__((constructor)) static void jumps_resolve(void)
{
	*(void **)&real_longjmp_fn = ct_real("longjmp");
	*(void **)&real_siglongjmp_fn = ct_real("siglongjmp");
	*(void **)&real__longjmp_fn = ct_real("_longjmp");
	*(void **)&real_longjmp_chk_fn = ct_real("__longjmp_chk");
	*(void **)&real_setcontext_fn = ct_real("setcontext");
	*(void **)&real_swapcontext_fn = ct_real("swapcontext");
}

static void mask_before_jump(const sigset_t *set, const void *caller)
{
	for (int i = 0; i < WATCHES; i++) {
		int effect = mask_effect(SIG_SETMASK, set,
					 atomic_load_explicit(&watch_sig[i], memory_order_relaxed));
		if (effect == CT_SIG_BLOCKED)
			watch_fn[i](CT_SIG_BLOCKING, caller);
		if (effect)
			watch_fn[i](effect, caller);
	}
}

static __attribute__((noreturn)) void jump(jump_fn *real, const char *name,
					   struct __jmp_buf_tag *env, int val, const void *caller)
{
	if (!*real)
		jumps_resolve();
	if (env->__mask_was_saved)
		mask_before_jump(&env->__saved_mask, caller);
	if (!*real)
		ct_log("no %s in the C library", name);
	(*real)(env, val);
	__builtin_unreachable();
}

CT_EXPORT __attribute__((noreturn)) void longjmp(struct __jmp_buf_tag env[1], int val)
{
	jump(&real_longjmp_fn, "longjmp", env, val, __builtin_return_address(0));
}
CT_EXPORT __attribute__((noreturn)) void siglongjmp(struct __jmp_buf_tag env[1], int val)
{
	jump(&real_siglongjmp_fn, "siglongjmp", env, val, __builtin_return_address(0));
}
CT_EXPORT __attribute__((noreturn)) void _longjmp(struct __jmp_buf_tag env[1], int val)
{
	jump(&real__longjmp_fn, "_longjmp", env, val, __builtin_return_address(0));
}
CT_EXPORT __attribute__((noreturn)) void __longjmp_chk(struct __jmp_buf_tag env[1], int val)
{
	jump(&real_longjmp_chk_fn, "__longjmp_chk", env, val, __builtin_return_address(0));
}

CT_EXPORT int setcontext(const ucontext_t *ucp)
{
	if (!real_setcontext_fn)
		jumps_resolve();
	mask_before_jump(&ucp->uc_sigmask, __builtin_return_address(0));
	return real_setcontext_fn(ucp);
}

CT_EXPORT int swapcontext(ucontext_t *restrict oucp, const ucontext_t *restrict ucp)
{
	if (!real_swapcontext_fn)
		jumps_resolve();
	mask_before_jump(&ucp->uc_sigmask, __builtin_return_address(0));
	return real_swapcontext_fn(oucp, ucp);
}

int ct_sig_claim(int sig, const struct sigaction *act, void (*on_taken)(int sig))
{
	if (sig <= 0 || sig >= _NSIG)
		return -EINVAL;
	struct sigaction old;
	if (ct_sig_real_action(sig, act, &old) < 0)
		return -errno;
	if (sigs[sig].state == SIG_NONE || sigs[sig].state == SIG_YIELDED)
		sigs[sig].prog = old;
	sigs[sig].agent = *act;
	sigs[sig].on_taken = on_taken;
	sigs[sig].state = SIG_AGENT;
	return 0;
}

int ct_sig_program_owns(int sig)
{
	struct sigaction a;
	if (sig <= 0 || sig >= _NSIG)
		return 1;
	if (sigs[sig].state != SIG_NONE && sigs[sig].state != SIG_YIELDED)
		a = sigs[sig].prog;
	else if (ct_sig_real_action(sig, NULL, &a) < 0)
		return 1;
	return (a.sa_flags & SA_SIGINFO) ? a.sa_sigaction != NULL
					 : (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN);
}

static int default_ignores(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

void ct_sig_forward(int sig, siginfo_t *si, void *uc)
{
	if (sig <= 0 || sig >= _NSIG)
		return;
	struct sigaction a = sigs[sig].prog;
	if (a.sa_flags & SA_RESETHAND) {
		sigs[sig].prog.sa_handler = SIG_DFL;
		sigs[sig].prog.sa_flags &= ~SA_SIGINFO;
	}
	if (a.sa_flags & SA_SIGINFO) {
		if (a.sa_sigaction)
			a.sa_sigaction(sig, si, uc);
		return;
	}
	if (a.sa_handler == SIG_IGN || (a.sa_handler == SIG_DFL && default_ignores(sig)))
		return;
	if (a.sa_handler != SIG_DFL) {
		a.sa_handler(sig);
		return;
	}
	/* The default action of a terminating signal: die of it, as without the agent. */
	ct_sig_die_default(sig);
}

void ct_sig_die_default(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	ct_sig_real_action(sig, &dfl, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	real_sigmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
}

/* The kernel action for a signal the program set while the agent filters it: the agent's
 * handler with the program's mask and flags. */
static struct sigaction dispatch_action(int sig, const struct sigaction *prog)
{
	struct sigaction k = *prog;
	k.sa_sigaction = sigs[sig].agent.sa_sigaction;
	k.sa_flags = (prog->sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
	return k;
}

CT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (ct_tls_guard || sig <= 0 || sig >= _NSIG || sigs[sig].state == SIG_NONE)
		return ct_sig_real_action(sig, act, old);
	if (sigs[sig].state == SIG_YIELDED) {
		if (!act || (act->sa_flags & SA_SIGINFO) || act->sa_handler != SIG_DFL)
			return ct_sig_real_action(sig, act, old);
		/* Back to the default (a crash handler re-raising, a cleanup handler done):
		 * the flush handler again, so that its death still writes the files. */
		struct sigaction prev;
		if (ct_sig_real_action(sig, &sigs[sig].agent, &prev) < 0)
			return -1;
		sigs[sig].prog = *act;
		sigs[sig].state = SIG_AGENT;
		if (old)
			*old = prev;
		return 0;
	}
	struct sigaction prev = sigs[sig].prog;
	if (act) {
		int is_dfl = !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
		if (sigs[sig].state == SIG_AGENT && !sigs[sig].on_taken && !is_dfl) {
			/* A flush signal the program handles itself: its handler replaces ours. */
			if (ct_sig_real_action(sig, act, NULL) < 0)
				return -1;
			sigs[sig].state = SIG_YIELDED;
		} else if (sigs[sig].state == SIG_AGENT && !sigs[sig].on_taken) {
			sigs[sig].prog = *act; /* SIG_DFL: our flush handler stays */
		} else {
			if (sigs[sig].state == SIG_AGENT) {
				sigs[sig].state = SIG_DISPATCH;
				sigs[sig].on_taken(sig);
			}
			struct sigaction k = dispatch_action(sig, act);
			if (ct_sig_real_action(sig, &k, NULL) < 0)
				return -1;
			sigs[sig].prog = *act;
		}
	}
	if (old)
		*old = prev;
	return 0;
}

CT_EXPORT __sighandler_t signal(int sig, __sighandler_t handler)
{
	struct sigaction act, old;
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = SA_RESTART; /* BSD semantics, as glibc's signal() */
	sigemptyset(&act.sa_mask);
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

CT_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *nv, struct itimerval *ov)
{
	if (!real_setitimer_fn)
		*(void **)&real_setitimer_fn = ct_real("setitimer");
	int arming = nv && (nv->it_value.tv_sec || nv->it_value.tv_usec);
	if (!ct_tls_guard && which == ITIMER_PROF && arming && sigs[SIGPROF].state == SIG_AGENT &&
	    sigs[SIGPROF].on_taken) {
		/* The program's SIGPROF ticks must reach only its own action: move off SIGPROF. */
		sigs[SIGPROF].state = SIG_DISPATCH;
		sigs[SIGPROF].on_taken(SIGPROF);
		struct sigaction k = dispatch_action(SIGPROF, &sigs[SIGPROF].prog);
		ct_sig_real_action(SIGPROF, &k, NULL);
	}
	return real_setitimer_fn(which, nv, ov);
}
