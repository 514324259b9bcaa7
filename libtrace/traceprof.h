/*
 * traceprof.h — pprof profiles derived from a trace (like `go tool trace -pprof=`).
 *
 * Every kind charges intervals of the trace's thread-state model (tracemodel.h) to a stack,
 * one sample per (stack, thread, labels) with two values: how many intervals and their
 * nanoseconds. Samples are labelled `thread` (the thread's name, or "thread TID") and
 * `tid`, plus per kind:
 *   sched  every Runnable interval — time a thread could have run but had no CPU — at the
 *          stack it was running when it lost the CPU: its latest CPU sample at or before
 *          the interval's start, labelled approx=1 when that sample is older than one
 *          sampling period (or there is none: the stack is then "[no sample]"). This is
 *          `--sched-latency`. A trace without switch records has no runnable intervals: the
 *          profile is empty and a comment says why.
 *   sync   Waiting on mutex, rwlock, spin, sem, cond, futex or join; net, io, sleep: those
 *          reasons. At the stack where the wait began, labelled `reason`.
 *   wall   every thread's whole lifetime: running time split evenly over the CPU samples
 *          taken inside each running interval (at the latest earlier sample when none),
 *          waiting time at the wait stack (labelled `reason`), runnable time at the
 *          preemption stack as in sched; labelled `state` (running, runnable, waiting, or
 *          running-or-runnable when the trace cannot tell them apart). Its values sum to
 *          the sum of every thread's lifetime.
 * Sample types are Go's for delays, `contentions/count` and `delay/nanoseconds`; wall has
 * `intervals/count` and `wall/nanoseconds`. Each kind's nanoseconds sum exactly to the
 * model's total time in the states it takes.
 *
 * Locations, mappings and functions are copied from the trace's profile, with names when
 * it was symbolized. Thread-safety: none needed.
 */
#ifndef CT_TRACEPROF_H
#define CT_TRACEPROF_H

#include "libtrace/profile.h"
#include "libtrace/tracemodel.h"

typedef enum {
	CT_TP_SCHED,
	CT_TP_SYNC,
	CT_TP_NET,
	CT_TP_IO,
	CT_TP_SLEEP,
	CT_TP_WALL,
	CT_TP_NKINDS
} ct_trace_pprof_kind;

/* "sched", "sync", "net", "io", "sleep", "wall" → the kind, or -1. */
int ct_trace_pprof_kind_parse(const char *name);
const char *ct_trace_pprof_kind_name(ct_trace_pprof_kind k);

/* Builds the profile of a kind. 0, -EINVAL (no such kind) or -ENOMEM; *out is freed with
 * ct_profile_free. */
int ct_trace_pprof(const ct_trace_model *m, ct_trace_pprof_kind kind, ct_profile **out);

/* Builds it and writes it gzipped to path (libtrace/pprof.h). 0 or -errno. */
int ct_trace_write_pprof(const ct_trace_model *m, ct_trace_pprof_kind kind, const char *path);

/* The sched kind (`--sched-latency`). */
int ct_trace_pprof_sched_latency(const ct_trace_model *m, ct_profile **out);
int ct_trace_write_sched_latency(const ct_trace_model *m, const char *path);

#endif
