/*
 * tracewrite.h — writing trace.ctr, the scheduler-event trace (docs/trace-format.md).
 *
 * The agent's collector thread feeds a writer the raw facts it drains from the rings —
 * context switches, hook waits, unblock edges, thread lifecycle and names, CPU samples,
 * lost counts — and asks it to emit a chunk every so often (the agent does it at least
 * every 250 ms and whenever ct_tw_pending() passes 1 MiB). A chunk is self-contained: it
 * carries the strings, modules and stacks its events reference, so memory stays bounded
 * by what is buffered since the last chunk, and a file cut by SIGKILL loses only what was
 * not flushed. ct_tw_close writes the footer index that marks a complete file.
 *
 * Events of one thread may be fed in any order between two flushes: each thread's batch is
 * sorted by time when the chunk is written (so a wait reported at its end may follow the
 * switches it covers). Times are CLOCK_MONOTONIC nanoseconds (libtrace/clock.h). Stacks are
 * ids of the ct_stacks table given at open (0 = no stack); the writer resolves them to
 * module-relative frames when the chunk is written, so the table must keep them until then.
 *
 * Errors are 0 or -errno: -EINVAL for a bad argument (reason out of range, stack id the
 * table does not know), -ENOMEM, or the errno of a failed write(2). After a write error
 * the writer stays usable but the file is damaged; the caller should stop.
 *
 * Annotation events (regions, tasks, logs) are written through libtrace/traceann.h.
 *
 * Thread-safety: none; one thread (the collector) owns a writer. Allocates: not for
 * signal handlers or hooks.
 */
#ifndef CT_TRACEWRITE_H
#define CT_TRACEWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/clock.h"
#include "libtrace/stacks.h"
#include "libtrace/waitreason.h"

/* The reason of the LOST event a writer puts last before closing at a size cap: the trace
 * is complete but ends early (its end time is the cap's), later events unwritten. Readers
 * set ct_trace.capped when they meet it. */
#define CT_TRACE_CAP_REASON "trace size cap"

typedef struct ct_tw ct_tw;

/* What the header says about the recording. Strings are copied. */
typedef struct {
	int32_t pid;
	const char *const *argv; /* the command line, argc strings */
	uint32_t argc;
	const char *engine;	   /* sampler engine: "perf" or "timer" */
	bool has_switches;	   /* context-switch records exist (else Running/Runnable merge) */
	uint64_t sample_period_ns; /* CPU sampling period, 0 when no samples are recorded */
	ct_clock_snapshot anchor;  /* a CLOCK_MONOTONIC / CLOCK_REALTIME pair */
	const ct_stacks *stacks;   /* resolves the stack ids of events; NULL: every id is 0 */
	/* A window trace's start (0: none): an earlier event is written at it, a wait that
	 * began earlier starts at it, and one that ended before it is left out. */
	uint64_t floor_ns;
} ct_tw_info;

/* A loaded module: an executable segment [start, end) mapped from file_offset of path. */
typedef struct {
	const char *path;
	const char *build_id; /* hex, "" when unknown */
	uint64_t start, end, file_offset;
} ct_tw_module;

/* Marks a wait whose end is not known (the thread was still inside the hook). */
#define CT_TW_OPEN UINT64_MAX

/* A new writer on fd (positioned at the start of an empty file; never closed by the
 * writer), with the header written. */
int ct_tw_open(ct_tw **out, int fd, const ct_tw_info *info);

/* Replaces the module table (copied) used to place the frames of the stacks written from
 * now on. Frames outside every module are written as absolute addresses. */
int ct_tw_set_modules(ct_tw *w, const ct_tw_module *mods, uint32_t n);

/* ---- events: tid is the thread the event belongs to; t its time ---------------------- */

int ct_tw_switch_out(ct_tw *w, uint32_t tid, uint64_t t, uint32_t cpu, bool preempted);
int ct_tw_switch_in(ct_tw *w, uint32_t tid, uint64_t t, uint32_t cpu);
/* A blocking interval seen by a hook: [begin, end) (end = CT_TW_OPEN when still waiting),
 * why, on which object (lock address, fd, ...), from which stack. */
int ct_tw_wait(ct_tw *w, uint32_t tid, uint64_t begin, uint64_t end, ct_wait_reason reason,
	       uint64_t object, uint32_t stack);
/* Thread waker released a waiter on object (woken = its tid, 0 when unknown). */
int ct_tw_unblock(ct_tw *w, uint32_t waker, uint64_t t, uint32_t woken, uint64_t object,
		  uint32_t stack);
int ct_tw_create(ct_tw *w, uint32_t creator, uint64_t t, uint32_t new_tid, uint32_t stack);
int ct_tw_start(ct_tw *w, uint32_t tid, uint64_t t);
int ct_tw_exit(ct_tw *w, uint32_t tid, uint64_t t);
int ct_tw_name(ct_tw *w, uint32_t tid, uint64_t t, const char *name);
/* A CPU sample: stack's first frame is the exact PC; weight_ns the CPU time it stands for. */
int ct_tw_sample(ct_tw *w, uint32_t tid, uint64_t t, uint32_t stack, uint64_t weight_ns);
/* count events of kind what ("switch", "sample", "hook", ...) were lost (not per thread). */
int ct_tw_lost(ct_tw *w, uint64_t t, uint64_t count, const char *what);

/* Moves the writer to another descriptor of the same file (the caller reopened it: the
 * old number was taken from it), positioned at ct_tw_offset(w), where writing goes on. */
void ct_tw_set_fd(ct_tw *w, int fd);
/* Bytes written to the file so far: where the next chunk starts. */
uint64_t ct_tw_offset(const ct_tw *w);

/* Bytes buffered since the last chunk (an estimate of the next chunk's memory). */
size_t ct_tw_pending(const ct_tw *w);

/* Writes everything buffered as one chunk covering times up to now (nothing when no
 * event is buffered). Threads with events in it keep their buffers' capacity for the next
 * chunk; threads without release theirs, so memory follows the threads active lately. */
int ct_tw_flush(ct_tw *w, uint64_t now);

/* Flushes, writes the footer index with the trace's end time, and frees w (also on
 * error). The fd stays open. */
int ct_tw_close(ct_tw *w, uint64_t end_time);

/* Frees w without flushing or writing a footer (the file then reads as truncated). */
void ct_tw_free(ct_tw *w);

typedef struct {
	uint64_t chunks, events, bytes; /* written so far; bytes includes the header */
	uint64_t threads;		/* threads holding buffers now */
} ct_tw_stats;
void ct_tw_get_stats(const ct_tw *w, ct_tw_stats *st);

#endif
