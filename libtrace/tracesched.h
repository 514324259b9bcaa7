/*
 * tracesched.h — `ctrace report --sched`: the scheduler view of a trace as text.
 *
 * In the spirit of Go's goroutine analysis and `perf sched latency`: one row per thread
 * (name, tid, lifetime, running, runnable — scheduler latency: total, count, max and when —
 * waiting, switches and preemptions, and where the waiting went by reason), totals per
 * state and per wait reason, a load line (per-CPU busy share and the time some thread was
 * runnable while a CPU used by the process sat idle), the longest waits with the stack
 * they began at and who unblocked them, and the "threads alive when the trace ended": threads still
 * alive when the trace ended, with their state and, when waiting, for how long and where.
 * With program annotations, a "regions" table like Go's user-defined regions: per region
 * name its count, total, mean, p50, p99 and max duration and the time its threads spent
 * inside it running, runnable and waiting by reason; then the tasks and logs counts. A
 * model focused on a region name (traceregions.h) says so in the header.
 *
 * Function names come from the trace's locations: run the symbolizer on m->trace->prof
 * first (libtrace/symbolize.h), otherwise frames print as module+0xOFFSET.
 *
 * Thread-safety: none needed; writes only to out.
 */
#ifndef CT_TRACESCHED_H
#define CT_TRACESCHED_H

#include <stdio.h>

#include "libtrace/tracemodel.h"

/* Writes the report; top bounds the longest-waits list (0: 10). 0, -ENOMEM or -EIO. */
int ct_trace_report_sched(FILE *out, const ct_trace_model *m, int top);

/* Writes only its "threads alive when the trace ended" section (what `ctrace record` prints when a
 * thread other than the main one was alive at the end). 0 or -EIO. */
int ct_trace_report_leaked(FILE *out, const ct_trace_model *m);

#endif
