/*
 * tracechrome.h — `ctrace report --chrome OUT.json`: a trace as Chrome Trace Event Format
 * (the JSON object form), which Perfetto UI and chrome://tracing open.
 *
 * One `M` thread_name event per thread (and a process_name); one `X` event per state
 * interval, `cat` "state", `name` running, runnable, waiting (or running-or-runnable when
 * the trace has no switch records), with `ts`/`dur` in microseconds from the start of the
 * trace, and `args` cpu (running), reason, object and stack (waiting; function names,
 * innermost first); each unblock edge that ended a wait as a flow (`s` on the waker at the
 * edge's time, `f` with "bp":"e" on the waiter where it runs again); CPU samples as
 * thread-scoped instant events with their stack. Program annotations: regions as X events
 * (`cat` region) on a lane of their own beside each thread, tasks as async b/e pairs, logs
 * as thread-scoped instants (docs/annotate-trace.md). `otherData` carries the pid, engine,
 * whether states are merged, truncation and lost events, and the clock anchor. Every
 * string is escaped (libtrace/escape.h), so any thread name gives valid JSON.
 *
 * ct_trace_export_chrome_states (`--chrome-states`) adds the thread states the way
 * Perfetto's JSON importer (and chrome://tracing) understands them: the Trace Event Format has
 * no per-thread state event, but a JSON trace's "systemTraceEvents" string is read as ftrace
 * text, whose sched_switch lines make Perfetto's thread-state tracks (Running, R, R+, S) and
 * CPU lanes, and whose sched_wakeup lines mark the wake-ups. Here: a sched_switch where a
 * running interval begins (from the CPU's previous thread, or from idle) and where one ends
 * before the next begins (to idle), prev_state R+ when the thread was preempted, S when it
 * waits, X when it exited; a sched_wakeup from the waker at each unblock edge that ended a
 * wait. Times are seconds from the trace's start, as the X events' microseconds; comms are
 * the thread names cut to 15 characters with spaces, '=' and non-ASCII made '_'. A trace
 * without switch records (merged states) has no such text.
 *
 * Names come from the trace's locations (symbolize m->trace->prof first).
 * Thread-safety: none needed; writes only to out.
 */
#ifndef CT_TRACECHROME_H
#define CT_TRACECHROME_H

#include <stdio.h>

#include "libtrace/tracemodel.h"

/* Writes the JSON document (with the states as systrace text). 0, -ENOMEM or -EIO. */
int ct_trace_export_chrome(FILE *out, const ct_trace_model *m);
int ct_trace_export_chrome_states(FILE *out, const ct_trace_model *m);

#endif
