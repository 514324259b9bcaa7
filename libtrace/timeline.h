/*
 * timeline.h — `ctrace report --timeline OUT.html`: the state-transition timeline of a
 * trace as one self-contained HTML page (no network requests, no external scripts or
 * fonts). The page (timeline_page.html and its script timeline.js, embedded at build time)
 * draws on a canvas: a lane per thread coloured by state and wait reason, CPU samples as
 * ticks, per-CPU lanes, a running/runnable counter lane, a minimap; zoom, pan, hover,
 * click details with wait stacks and unblock arrows, range selection aggregates, search,
 * hidden and pinned lanes, and groups of short-lived threads (docs/report.md describes
 * every colour and gesture); program annotations (regions nested under a thread's states,
 * tasks linking their regions across threads, logs) are drawn by timeline_ann.js.
 *
 * The model travels as one compact JSON object (see timeline.c for its fields): the
 * intervals and samples of each thread packed into a string of variable-length numbers, so
 * a million-event trace stays a few bytes per event. Names come from the trace's
 * locations (symbolize m->trace->prof first). Thread-safety: none needed; writes only to
 * out.
 */
#ifndef CT_TIMELINE_H
#define CT_TIMELINE_H

#include <stdio.h>

#include "libtrace/tracemodel.h"

/* Writes the page. 0, -ENOMEM or -EIO. */
int ct_timeline_write_html(FILE *out, const ct_trace_model *m);

#endif
