/*
 * tracewin.h — window traces: extra trace.ctr files holding the scheduler-event trace of a
 * span of the run (Go's /debug/pprof/trace?seconds=N, and each CTRACE_PERIOD window).
 *
 * A window is a second writer (libtrace/tracewrite.h) that the sched source (agent/trace.c)
 * feeds every event it writes between the window's opening and its closing, and flushes with
 * the main trace. Its file is complete on its own: a header like the main trace's, the
 * names of the program's threads alive at the opening (so that every lane is named), the
 * events, the waits still in progress at the closing (written open, like a stuck thread's
 * at exit), and the footer.
 *
 * Collector thread only: the server reaches ct_trace_window_open/close through
 * ct_collector_call; the period writer's last window is closed at exit after the collector
 * stopped.
 */
#ifndef CT_AGENT_TRACEWIN_H
#define CT_AGENT_TRACEWIN_H

#include <stdint.h>

#include "libtrace/tracewrite.h"

#define CT_TRACE_WINDOWS 8

/* What a trace's header says (the main trace's and every window's): the process, the
 * engine, the clocks' anchor, the stack table, the command line (argv points into args). */
ct_tw_info ct_trace_header(char *args, size_t cap, const char **argv, uint32_t max);

typedef struct {
	int used;   /* an id handed out by ct_trace_window_open, until its close */
	ct_tw *w;   /* NULL once a write failed */
	int slot;   /* the file's fd guard slot (the opener's; never released here) */
	int failed; /* the -errno that stopped the writer */
} ct_trace_window;

extern ct_trace_window ct_trace_win[CT_TRACE_WINDOWS];

/* trace.c: starts a window writing to the file of fd guard slot `slot` (an empty file,
 * opened for writing). A window id, or -ENOENT (the sched mode is off or its trace failed),
 * -EAGAIN (the engine is not chosen yet: try again shortly), -EBUSY (every window in use),
 * -errno. */
int ct_trace_window_open(int slot);
/* trace.c: flushes the window, writes its open waits and footer, frees the id. 0 when the
 * file is complete, else -errno. The slot stays the caller's. */
int ct_trace_window_close(int id);

/* For trace.c. */
int ct_win_open(int slot, const ct_tw_info *info, uint64_t now);
int ct_win_close(int id, uint64_t now);
void ct_win_result(ct_trace_window *win, int rc); /* an event's or a flush's result */
void ct_win_flush(uint64_t now);
void ct_win_drop(int free_writers); /* at exit (1) or in a forked child (0: abandoned) */
/* A region's begin (begin = 1) or end as the trace writes it: followed so that a window
 * opening while it is open begins it at its start (tracewin.c). */
void ct_win_region(uint32_t tid, int begin, const char *name, uint64_t task, uint32_t depth,
		   uint32_t stack);

#endif
