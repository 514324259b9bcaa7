/*
 * traceprof.h — pprof profiles derived from a trace (like `go tool trace -pprof=`).
 *
 * The scheduler-latency profile (`ctrace report --sched-latency OUT.pb.gz`): every Runnable
 * interval of every thread — time it could have run but had no CPU — charged to the stack
 * the thread was running when it lost the CPU, which is its latest CPU sample at or before
 * the interval's start. When that sample is older than one sampling period (or there is
 * none) the sample is labelled approx=1. Sample types are Go's for delays,
 * `contentions/count` and `delay/nanoseconds`; samples are labelled `thread` (the thread's
 * name, or "thread TID") and `tid`, and merged per (stack, thread, approx). The delay
 * values sum to the model's total runnable time. A trace without switch records has no
 * runnable intervals: the profile is empty and a comment says why.
 *
 * Locations, mappings and functions are copied from the trace's profile, with names when
 * it was symbolized. Thread-safety: none needed.
 */
#ifndef CT_TRACEPROF_H
#define CT_TRACEPROF_H

#include "libtrace/profile.h"
#include "libtrace/tracemodel.h"

/* Builds the profile. 0 or -ENOMEM; *out is freed with ct_profile_free. */
int ct_trace_pprof_sched_latency(const ct_trace_model *m, ct_profile **out);

/* Builds it and writes it gzipped to path (libtrace/pprof.h). 0 or -errno. */
int ct_trace_write_sched_latency(const ct_trace_model *m, const char *path);

#endif
