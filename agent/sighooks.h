/*
 * sighooks.h — the agent's signal handlers, hidden from the program and out of its way.
 *
 * The agent installs handlers (the timer engine's sampling signal, the flush on
 * terminating signals) by claiming a signal here. From then on the program's sigaction,
 * signal and setitimer calls go through this module:
 * - a query returns what the program set, or what was there before the agent (SIG_DFL);
 * - setting a claimed flush signal to SIG_DFL keeps the agent's handler (the program
 *   still dies of it by default, after the flush); a handler or SIG_IGN replaces it;
 * - setting the timer's signal, or arming ITIMER_PROF while the timer uses SIGPROF, calls
 *   the claim's on_taken (the timer moves to a free real-time signal); the agent's
 *   handler then stays installed on the old signal only to tell its own late ticks from
 *   the program's signals, which it forwards with ct_sig_forward — the program's handler
 *   never sees an agent tick.
 * The agent's own threads start here too (ct_sig_thread_create), with every signal blocked,
 * so that no signal meant for the program lands on them.
 */
#ifndef CT_AGENT_SIGHOOKS_H
#define CT_AGENT_SIGHOOKS_H

#include <pthread.h>
#include <signal.h>

/* Installs act for sig as the agent's (the program's view stays what it was). on_taken is
 * called (from the program's thread) when the program sets sig; NULL: the program's
 * handler simply replaces the agent's. 0 or -errno. */
int ct_sig_claim(int sig, const struct sigaction *act, void (*on_taken)(int sig));
/* ct_sig_claim with the action every agent handler wants: handler with siginfo, SA_RESTART
 * (the program's interrupted calls go on), every signal blocked while it runs. */
int ct_sig_claim_handler(int sig, void (*handler)(int, siginfo_t *, void *),
			 void (*on_taken)(int sig));
/* Whether the program has a handler (or SIG_IGN) for sig, as the program sees it. */
int ct_sig_program_owns(int sig);
/* Runs the program's action for a signal the agent's handler received but that is not the
 * agent's (async-signal-safe). */
void ct_sig_forward(int sig, siginfo_t *si, void *uc);
/* The real sigaction, for the agent's own use. */
int ct_sig_real_action(int sig, const struct sigaction *act, struct sigaction *old);
/* Restores sig's default action (really, not just as the program sees it), unblocks it and
 * raises it: the caller dies of it as it would without the agent. */
void ct_sig_die_default(int sig);
/* Calls fn on the program's thread whenever the program changes a thread's mask with
 * sigprocmask or pthread_sigmask in a way that concerns sig, with the address the call
 * returns to (who changed it): CT_SIG_BLOCKING just before a change that blocks sig,
 * CT_SIG_BLOCKED right after it, CT_SIG_UNBLOCKED right after a change that leaves sig
 * unblocked (SIG_UNBLOCK of it, or SIG_SETMASK without it, whatever the mask was).
 * Three watches (a second call with the same fn moves its watch); constructor. */
enum { CT_SIG_BLOCKING = 1, CT_SIG_BLOCKED, CT_SIG_UNBLOCKED };
void ct_sig_on_mask(int sig, void (*fn)(int event, const void *caller));
/* Whether the calling thread may be running one of the program's signal handlers: it
 * blocks a signal the program handles (the kernel blocks a handled signal while its
 * handler runs). A thread that blocks such a signal outside a handler reads as 1 too. */
int ct_sig_maybe_in_handler(void);
/* Whether the calling thread blocks sig now (one system call). */
int ct_sig_blocked(int sig);
/* Starts one of the agent's own threads, named name (NULL: unnamed), with every signal
 * blocked: the program's signals and the agent's ticks never land on it. 0 or -errno. */
int ct_sig_thread_create(pthread_t *t, void *(*fn)(void *), const char *name);

#endif
