/*
 * traceread.h — reading trace.ctr (docs/trace-format.md) into memory.
 *
 * The reader validates everything: header and chunk sizes, checksums, varints, string,
 * module and stack indexes, event kinds and times (inside their chunk's range), counts,
 * and the footer index against the chunks actually found. On bad input it fails with one
 * ct_error line naming the field and the byte offset ("bad stack index 12 at byte 4096")
 * and returns no trace. A file without its footer (the recording was killed) is not an
 * error: the chunks are found by scanning, a last partial chunk is dropped, and the trace
 * says `truncated`.
 *
 * Annotation events (regions, tasks, logs: libtrace/traceann.h) come back in their own
 * array, ct_trace.annots, so that the views of the thread states never see them.
 *
 * What comes back is the raw events, in file order (chunk by chunk, thread batch by thread
 * batch, each batch in time order), with stacks made global: the modules of every chunk
 * become the mappings of one ct_profile, and frames its locations (address only), so the
 * profile symbolizer (libtrace/symbolize.h) names them exactly as it names a profile's:
 * run ct_symbolizer_run on `prof`. Derived thread states are libtrace/tracemodel.h's job.
 *
 * Ownership: a ct_trace owns everything reachable from it; strings live in prof's store.
 * Thread-safety: none needed; functions touch only their arguments.
 */
#ifndef CT_TRACEREAD_H
#define CT_TRACEREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/error.h"
#include "libtrace/profile.h"

/* One event. Fields not listed for a kind are 0. */
typedef struct {
	uint64_t time;	 /* CLOCK_MONOTONIC ns; for a wait, its begin */
	uint64_t end;	 /* WAIT: end time; WAIT_OPEN: UINT64_MAX */
	uint64_t arg;	 /* WAIT, WAIT_OPEN, UNBLOCK: object; SAMPLE: weight ns; LOST: count */
	const char *str; /* NAME: the name; LOST: what was lost */
	uint32_t tid;	 /* the thread the event belongs to (0: process-wide, e.g. LOST) */
	uint32_t other;	 /* UNBLOCK: woken tid (0 unknown); CREATE: new tid; SWITCH_*: cpu */
	uint32_t stack;	 /* index + 1 into ct_trace.stacks; 0 = none */
	uint8_t kind;	 /* CT_EV_* of libtrace/tracefmt.h (never an unknown, skipped kind) */
	uint8_t reason;	 /* WAIT, WAIT_OPEN: ct_wait_reason */
} ct_trace_event;

/* One annotation event (kinds 32–35: libtrace/traceann.h). Fields not listed are 0. */
typedef struct {
	uint64_t time;
	uint64_t task;	  /* REGION_*, LOG: the task (0 none); TASK: its id (never 0) */
	uint64_t parent;  /* TASK begin: the parent task (0 none) */
	const char *name; /* REGION_*, TASK begin: the name; LOG: the category; else "" */
	const char *msg;  /* LOG: the message; else NULL */
	uint32_t tid;	  /* the thread that recorded it (never 0) */
	uint32_t stack;	  /* index + 1 into ct_trace.stacks; 0 = none */
	uint32_t depth;	  /* REGION_*: nesting depth, 1 = outermost, 0 = unknown */
	uint8_t kind;	  /* CT_EV_REGION_BEGIN, CT_EV_REGION_END, CT_EV_TASK, CT_EV_LOG */
	uint8_t ended;	  /* TASK: 0 it began, 1 it ended */
} ct_trace_annot;

typedef struct {
	const uint32_t *locs; /* indexes into prof->locations, leaf first */
	uint32_t nlocs;
} ct_trace_stack;

typedef struct {
	uint32_t version;
	bool has_switches; /* context switches recorded (else Running/Runnable cannot be told) */
	int32_t pid;
	const char *engine; /* "perf", "timer", ... */
	const char **argv;
	uint32_t argc;
	uint64_t sample_period_ns;
	uint64_t anchor_mono_ns, anchor_wall_ns; /* one instant on both clocks */
	uint64_t start, end; /* first chunk's start; footer end time, or last chunk's end */
	bool truncated;	     /* no footer: the recording was cut; dropped_bytes were partial */
	uint64_t dropped_bytes;
	uint32_t nchunks;
	uint64_t lost; /* sum of LOST counts */
	bool capped;   /* a LOST of CT_TRACE_CAP_REASON: the writer stopped at its size cap */
	ct_trace_event *events;
	size_t nevents;
	ct_trace_annot *annots; /* regions, tasks, logs: file order, as events */
	size_t nannots;
	ct_trace_stack *stacks;
	uint32_t nstacks;
	ct_profile *prof; /* mappings and locations of the stacks; strings */
} ct_trace;

/* Decodes buf. On success *out is a new trace (free with ct_trace_free); on failure
 * -EINVAL (or -ENOMEM) with err filled and *out NULL. */
int ct_trace_decode(const uint8_t *buf, size_t len, ct_trace **out, ct_error *err);

/* Options for tests and fuzzers. */
typedef struct {
	bool skip_crc; /* do not verify chunk checksums (lets a fuzzer reach the parser) */
} ct_trace_read_opts;
int ct_trace_decode_opts(const uint8_t *buf, size_t len, const ct_trace_read_opts *o,
			 ct_trace **out, ct_error *err);

/* Reads and decodes the file at path (errors of the file system fill err too). */
int ct_trace_read_file(const char *path, ct_trace **out, ct_error *err);

void ct_trace_free(ct_trace *t);

/* The display name of location loc of t->prof: its innermost function when symbolized,
 * else "module+0xOFFSET" or "0xADDRESS", written into buf. */
const char *ct_trace_loc_name(const ct_trace *t, uint32_t loc, char *buf, size_t len);

#endif
