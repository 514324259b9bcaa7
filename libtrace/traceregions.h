/*
 * traceregions.h — the annotation model of a trace: regions, tasks and logs
 * (include/ctrace/annotate.h; the events are libtrace/traceann.h's), attached to the thread
 * state model (ct_trace_model's regions, tasks and logs), and restricting a model to the
 * time spent inside regions of one name (`--focus-region`).
 *
 * Regions nest per thread: each begin opens a region inside the ones open on its thread,
 * each end closes the innermost (or, when it says its depth, the one at that depth and
 * any deeper ones left open: their end was lost). An end with nothing open is counted in
 * unmatched_ends. A region still open when its thread exits ends there, one open at the
 * end of the trace ends there; both are marked unended. Tasks are created by their begin
 * or by the first region or log that names them; their regions may be on any thread.
 *
 * Ownership: names point into the trace's strings. Thread-safety: none needed.
 */
#ifndef CT_TRACEREGIONS_H
#define CT_TRACEREGIONS_H

#include <stdint.h>

#include "libtrace/tracemodel.h"
#include "libtrace/waitreason.h"

/* Builds m's regions, tasks and logs from m->trace's annotations (m's threads are built
 * and sorted). Called by ct_trace_model_build. 0 or -ENOMEM. */
int ct_trace_regions_build(ct_trace_model *m);

/* Adds the time region r's thread spent in each state inside the region to by_state, and
 * the waiting part by reason to by_reason (neither is cleared first). With a focused
 * model only the focused time counts. */
void ct_region_states(const ct_trace_model *m, const ct_region *r, uint64_t by_state[CT_TS_NSTATES],
		      uint64_t by_reason[CT_WAIT_NREASONS]);

/* Restricts m to the time its threads spent inside regions named name (nested ones of the
 * same name count once): intervals are cut to that time (a thread's intervals then have
 * gaps), samples and logs outside it and threads that never entered such a region are
 * dropped, and regions that do not overlap it too. m->focus = name. 0, -ENOENT when the
 * trace has no region of that name (m unchanged), or -ENOMEM (m is then unusable: free
 * it). */
int ct_trace_model_focus(ct_trace_model *m, const char *name);

#endif
