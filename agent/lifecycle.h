/*
 * lifecycle.h — thread lifecycle and names for the scheduler trace, seen from the hooks:
 * creation (the creator and its stack), start, end, and name changes (pthread_setname_np,
 * prctl(PR_SET_NAME)) — what the timer engine, which has no perf FORK/EXIT/COMM records,
 * needs, and what perf's records lack (the creating stack).
 *
 * main.c's pthread_create hook and trampoline call ct_th_create/ct_th_start, its TSD
 * destructor ct_th_exit. Records: CT_EV_THREAD_START, CT_EV_THREAD_END, CT_EV_THREAD_NAME
 * (agent/events.h), emitted only when the sched mode is on.
 */
#ifndef CT_LIFECYCLE_H
#define CT_LIFECYCLE_H

#include "agent/events.h"
#include "agent/lockprof.h"

/* In pthread_create (called from site, CT_LK_SITE() of the hook), on the creating thread:
 * fills *st (creator tid, stack of this call, from the stack cache: a program creates its
 * threads from a few call sites over and over) for the new thread's ct_th_start; zeroes it
 * when the trace is off. Enters the guard itself; preserves errno. */
void ct_th_create(ct_ev_thread_start *st, ct_lk_site site);

/* First thing the new thread does after the agent's per-thread setup: remembers its start
 * routine, emits CT_EV_THREAD_START. */
void ct_th_start(const ct_ev_thread_start *st, void *(*routine)(void *));

/* The calling thread's start routine as an interned one-frame stack (the exact pc, ended
 * by a 0 sentinel like a sample's), 0 for a thread the agent did not start: the stack of
 * what a thread does at its end, which costs no unwinding there. Enters no guard. */
uint32_t ct_th_routine_stack(void);

/* The calling thread is ending (TSD destructor: return from its start routine or
 * pthread_exit): settles its unsampled CPU time with the perf engine (CT_EV_THREAD_CPU),
 * releases a joiner's edge, CT_EV_THREAD_END, and frees its wait slot. */
void ct_th_exit(void);

#endif
