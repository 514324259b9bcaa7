/*
 * tracemodel.h — thread states derived from a trace's raw events.
 *
 * Go's v2 tracer model with an OS thread as the unit. A thread is created (NotExist →
 * Runnable), gets a CPU (→ Running), leaves it preempted (→ Runnable) or voluntarily
 * (→ Waiting{reason}: the reason, object and stack of the hook wait that covers that
 * instant on that thread, else `kernel`), and exits (→ NotExist). Each Waiting interval
 * that a recorded unblock edge ended points at that edge (the waker's event: tid, time,
 * stack): the edge whose woken tid is the waiter, or with an unknown woken tid, whose
 * object is the one waited on, inside the wait.
 *
 * Without context-switch records (timer engine) Running and Runnable cannot be told
 * apart: they merge into one CT_TS_ONCPU state ("on CPU or runnable"), hook waits still
 * give Waiting intervals, and `merged` says so.
 *
 * A thread's intervals are in time order, never overlap, and cover [begin, end): from its
 * creation (or first event, when the creation was not recorded) to its exit (or the end
 * of the trace: then `alive`). A thread id reused after an exit is a new ct_thread.
 *
 * Ownership: the model points into its trace (events, stacks, strings), which must outlive
 * it. Thread-safety: none needed.
 */
#ifndef CT_TRACEMODEL_H
#define CT_TRACEMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/traceread.h"
#include "libtrace/waitreason.h"

typedef enum {
	CT_TS_RUNNING,
	CT_TS_RUNNABLE,
	CT_TS_WAITING,
	CT_TS_ONCPU, /* running or runnable, when the trace cannot tell (no switch records) */
	CT_TS_NSTATES
} ct_thread_state;

#define CT_NO_EVENT UINT32_MAX

typedef struct {
	uint64_t start, end;
	uint8_t state;	  /* ct_thread_state */
	uint8_t reason;	  /* WAITING: ct_wait_reason */
	uint32_t cpu;	  /* RUNNING: the CPU; else UINT32_MAX */
	uint32_t stack;	  /* WAITING: stack at which the wait began (index + 1 of trace stacks) */
	uint64_t object;  /* WAITING: lock address, fd, ... (0 when unknown) */
	uint32_t unblock; /* WAITING: index of the UNBLOCK event that ended it, CT_NO_EVENT */
} ct_interval;

typedef struct {
	uint32_t tid;
	const char *name; /* last name given, "" when none */
	uint64_t begin, end;
	bool created; /* its creation was recorded (creator, create_stack valid) */
	bool alive;   /* no exit recorded: still there when the trace ended */
	uint32_t creator, create_stack;
	ct_interval *iv; /* in time order, covering [begin, end) without overlap */
	size_t niv;
	uint32_t *samples; /* indexes of its SAMPLE events, in time order */
	size_t nsamples;
	uint64_t switches, preemptions; /* switch-outs, and how many were preempted */
} ct_thread;

/* A region (include/ctrace/annotate.h): a named span of one thread, nested in the regions
 * open on that thread when it began. */
typedef struct {
	const char *name;
	uint64_t start, end;
	uint32_t tid;
	uint32_t thread; /* index into threads of the life it began in, CT_NO_EVENT if none */
	uint32_t parent; /* index into regions of the enclosing region, CT_NO_EVENT if none */
	uint32_t task;	 /* index into tasks, CT_NO_EVENT when in no task */
	uint32_t depth;	 /* 1 = outermost */
	uint32_t stack;	 /* where it began (index + 1 of trace stacks), 0 none */
	bool unended;	 /* no end recorded: ended with its thread, its parent or the trace */
} ct_region;

/* A task: a logical operation whose regions may run on several threads. */
typedef struct {
	uint64_t id, parent_id;
	const char *name;	     /* "" when its begin was not recorded */
	uint64_t start, end;	     /* begin and end, or its first region / the trace's end */
	uint32_t begin_tid, end_tid; /* 0 when not recorded */
	uint32_t parent;	     /* index into tasks, CT_NO_EVENT when none */
	bool ended;		     /* its end was recorded */
	uint32_t nregions;	     /* regions in it, on any thread */
} ct_task;

/* An instant log message. */
typedef struct {
	uint64_t time;
	const char *category, *msg;
	uint32_t tid, thread; /* thread: index into threads, CT_NO_EVENT if none */
	uint32_t task;	      /* index into tasks, CT_NO_EVENT when in no task */
	uint32_t stack;
} ct_log;

typedef struct {
	const ct_trace *trace;
	bool merged; /* no switch records: CT_TS_ONCPU instead of Running and Runnable */
	uint64_t start, end;
	ct_thread *threads; /* in order of begin time (then tid) */
	uint32_t nthreads;
	uint32_t ncpus; /* 1 + the highest CPU number seen */
	/* Annotations (libtrace/traceregions.h): regions grouped by thread id (each life's
	 * together) in start order, tasks by start, logs by time; region ends that matched no
	 * open region. */
	ct_region *regions;
	uint32_t nregions;
	ct_task *tasks;
	uint32_t ntasks;
	ct_log *logs;
	uint32_t nlogs;
	uint64_t unmatched_ends;
	const char *focus; /* the region name the model was restricted to, NULL when none */
} ct_trace_model;

/* Builds the model of t. 0, or -ENOMEM. */
int ct_trace_model_build(const ct_trace *t, ct_trace_model **out);
void ct_trace_model_free(ct_trace_model *m);

/* "running", "runnable", "waiting", "running-or-runnable" (the merged state). */
const char *ct_thread_state_name(ct_thread_state s);

/* The thread's display name: its name, or "thread TID" when it has none, into buf. */
const char *ct_thread_label(const ct_thread *th, char *buf, size_t len);

#endif
