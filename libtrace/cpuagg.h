/*
 * cpuagg.h — the CPU profile's aggregation: samples summed per (stack, thread), and the
 * threads' names.
 *
 * The agent's CPU source interns each sample's unwound stack and adds it here with the
 * thread it interrupted and the CPU time it stands for; at exit it walks the entries and
 * writes one pprof sample each, labelled with the thread's name and tid (ct_cpu_agg_labels)
 * so that pprof's -tagfocus selects threads. Names come from whoever knows them (the
 * kernel's COMM records, /proc): the latest one set for a tid wins. Samples that could not
 * be aggregated (no stack, out of memory) and samples reported lost are counted, so that
 * the profile's totals can stay honest.
 *
 * Thread-safety: none; one thread (the agent's collector) owns an aggregator. Memory comes
 * from malloc; the table doubles as it fills (open addressing, at most half full).
 */
#ifndef CT_CPUAGG_H
#define CT_CPUAGG_H

#include <stddef.h>
#include <stdint.h>

#include "libtrace/profile.h"

typedef struct ct_cpu_agg ct_cpu_agg;

/* One (stack, thread) total. */
typedef struct {
	uint32_t stack; /* interned stack id, never 0 */
	uint32_t tid;
	uint64_t count; /* samples */
	uint64_t ns;	/* CPU time they stand for */
} ct_cpu_entry;

typedef struct {
	uint64_t samples;		/* samples aggregated */
	uint64_t lost;			/* lost: reported (ct_cpu_agg_lost) or not aggregated */
	size_t entries;			/* distinct (stack, thread) pairs */
	size_t threads;			/* threads with a name */
	uint64_t first_time, last_time; /* of the samples aggregated; 0 when none */
} ct_cpu_agg_stats;

/* A new, empty aggregator, or NULL (out of memory). */
ct_cpu_agg *ct_cpu_agg_new(void);
void ct_cpu_agg_free(ct_cpu_agg *a);

/* Adds one sample of thread tid on stack (nonzero) at time, weighing ns. 0; -EINVAL for
 * stack 0 and -ENOMEM when the table cannot grow — both counted as lost. */
int ct_cpu_agg_add(ct_cpu_agg *a, uint32_t stack, uint32_t tid, uint64_t time, uint64_t ns);

/* Counts n samples that never reached the aggregator (dropped by a ring or the kernel). */
void ct_cpu_agg_lost(ct_cpu_agg *a, uint64_t n);

/* Names thread tid (copied, at most 31 bytes kept); a later name replaces an earlier one.
 * 0, -EINVAL for tid 0 (no thread of a process has it) or -ENOMEM. */
int ct_cpu_agg_set_name(ct_cpu_agg *a, uint32_t tid, const char *name);

/* The name set for tid, or NULL. Valid until the next ct_cpu_agg_set_name. */
const char *ct_cpu_agg_name(const ct_cpu_agg *a, uint32_t tid);

/* Walks the entries: start with *cursor = 0; returns 1 and fills *e while there are more,
 * then 0. Order is unspecified; the aggregator must not change during the walk. */
int ct_cpu_agg_next(const ct_cpu_agg *a, size_t *cursor, ct_cpu_entry *e);

/* The labels of an entry's pprof sample: `thread` (its name, "?" when unknown) and `tid`.
 * Fills labels[0..2) (strings point into the aggregator); returns 2. */
uint32_t ct_cpu_agg_labels(const ct_cpu_agg *a, const ct_cpu_entry *e, ct_label labels[2]);

void ct_cpu_agg_get_stats(const ct_cpu_agg *a, ct_cpu_agg_stats *st);

#endif
