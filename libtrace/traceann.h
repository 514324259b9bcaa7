/*
 * traceann.h — the annotation events of trace.ctr (kinds 32–35, docs/trace-format.md):
 * the regions, tasks and logs a program marks with include/ctrace/annotate.h, written by
 * the agent's collector and decoded by the reader.
 *
 * Writing: the functions below add one event to a writer of libtrace/tracewrite.h, with
 * the same rules as its other events (any order between two flushes, stack ids of the
 * writer's table, 0 or -errno). Names and messages are interned in the chunk's string
 * table, so a region name costs its bytes once per chunk; they must not contain a NUL
 * byte (they are C strings) and NULL stands for "".
 *
 * Reading: ct_trace_ann_decode turns the payload of one event into a ct_trace_annot
 * (traceread.h), validating every field; the reader keeps them in ct_trace.annots.
 *
 * Thread-safety: as the writer's (none; the collector owns it). Allocates.
 */
#ifndef CT_TRACEANN_H
#define CT_TRACEANN_H

#include <stddef.h>
#include <stdint.h>

#include "libtrace/traceread.h"
#include "libtrace/tracewrite.h"

/* Region depth: 1 is the thread's outermost region, 0 when the writer did not know. */
int ct_tw_region_begin(ct_tw *w, uint32_t tid, uint64_t t, const char *name, uint64_t task,
		       uint32_t depth, uint32_t stack);
/* The end of the thread's open region at depth (its name, as far as the writer knows). */
int ct_tw_region_end(ct_tw *w, uint32_t tid, uint64_t t, const char *name, uint64_t task,
		     uint32_t depth, uint32_t stack);
/* Task id (never 0; -EINVAL) began on thread tid, a child of parent (0: none). */
int ct_tw_task_begin(ct_tw *w, uint32_t tid, uint64_t t, uint64_t id, uint64_t parent,
		     const char *name, uint32_t stack);
int ct_tw_task_end(ct_tw *w, uint32_t tid, uint64_t t, uint64_t id, uint32_t stack);
/* An instant message of a category, in task (0: none). */
int ct_tw_log(ct_tw *w, uint32_t tid, uint64_t t, uint64_t task, const char *category,
	      const char *msg, uint32_t stack);

/* What an annotation payload refers to: the chunk's strings, and its stacks mapped to the
 * trace's (stk[k] = global stack index + 1 of chunk stack k). */
typedef struct {
	const char *const *strs;
	size_t nstrs;
	const uint32_t *stk;
	size_t nstk;
} ct_trace_ann_tables;

/* Decodes the payload p[0, len) of an event of kind (32–35) into the fields of *a past
 * time and tid. 0, or -EINVAL with *at the payload offset of the bad field and what
 * describing it ("bad region name string index 9"). Bytes after the known fields are
 * ignored: later versions may append fields. */
int ct_trace_ann_decode(uint8_t kind, const uint8_t *p, size_t len, const ct_trace_ann_tables *tb,
			ct_trace_annot *a, size_t *at, char *what, size_t what_len);

/* "region begin", "region end", "task", "log"; NULL for another kind. */
const char *ct_trace_ann_kind_name(uint8_t kind);

#endif
