/*
 * traceperfetto.h — `ctrace report --perfetto OUT.pftrace`: a trace in Perfetto's native
 * protobuf format (proto/perfetto_trace.proto, a subset of Perfetto's public protos with
 * their field numbers), which Perfetto UI and trace_processor open and which stays far
 * smaller than the Chrome JSON of the same trace.
 *
 * What it holds, all on one packet sequence (id 1, interned state cleared by the first
 * packet): a process track (pid, command line); a thread track per thread of the model
 * (pid, tid, name; a reused tid gets a track per life); per state interval a
 * TYPE_SLICE_BEGIN / TYPE_SLICE_END pair on its thread's track named as the Chrome export
 * names it (running, runnable, waiting, running-or-runnable), with debug annotations cpu
 * (running), reason and object (waiting) and, for waiting, the source location of the wait
 * site (the stack's innermost frame); each unblock edge that ended a wait as a flow from
 * an "unblock" instant on the waker's track (at the waker's frame) to the waiter's next
 * slice; CPU samples as "sample" instants at their innermost frame; and two counter tracks,
 * "running threads" and "runnable threads", with a value at every change (carried as extra
 * counter values by the slice events at those times: the sequence's default counter
 * tracks); program annotations: a nested "regions" track under each thread that has some
 * (the regions of one task linked by a flow), a track per task, logs as instants on their
 * thread's track. Timestamps are
 * nanoseconds from the start of the trace (Perfetto's default clock); names, event names
 * and source locations are interned.
 *
 * Packets are encoded one by one with protobuf-c and framed as Trace.packet fields, so
 * memory does not grow with the trace. Thread-safety: none needed; writes only to out.
 */
#ifndef CT_TRACEPERFETTO_H
#define CT_TRACEPERFETTO_H

#include <stdio.h>

#include "libtrace/tracemodel.h"

/* Writes the trace. 0, -ENOMEM or -EIO. */
int ct_trace_export_perfetto(FILE *out, const ct_trace_model *m);

#endif
