/*
 * bench_traceann.c — what annotations cost in the trace, against context switches measured
 * in the same run (no absolute time is asserted anywhere; the machine is shared).
 *
 * Three synthetic 64-thread runs of PAIRS units each (the same threads and times), written
 * to anonymous files with a chunk every 8192 units: the baseline, a switch-in and
 * switch-out pair per unit; the same plus an "outer" region holding an "inner" one per unit
 * (four events); and the same again with every fourth unit in a "request" task (begin,
 * log, end). Prints "bench <name> <value> <unit>" lines: writer CPU per region (begin +
 * end) and per task (with its log), their ratios to a switch pair; file bytes likewise;
 * and the CPU per event of decoding and modelling the annotated runs relative to the
 * baseline's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libtrace/traceann.h"
#include "libtrace/tracemodel.h"
#include "libtrace/traceread.h"
#include "libtrace/tracewrite.h"
#include "tests/bench/bench_util.h"

enum { THREADS = 64, PAIRS = 200000 };

typedef struct {
	double write_s, read_s;
	long events;
	off_t bytes;
} run;

enum { BASE, REGIONS, TASKS };

static int write_run(ct_tw *w, int mode, long *events)
{
	uint64_t now[THREADS];
	for (int i = 0; i < THREADS; i++)
		now[i] = 1000000000ull + (uint64_t)i * 1000;
	int rc = 0;
	long n = 0;
	for (long u = 0; u < PAIRS && !rc; u++) {
		uint32_t i = (uint32_t)(next_rand() % THREADS), tid = 1000 + i;
		uint64_t t = now[i], d = 2000 + next_rand() % 38000, task = 0;
		rc |= ct_tw_switch_in(w, tid, t, i % 4);
		rc |= ct_tw_switch_out(w, tid, t + d, i % 4, false);
		n += 2;
		if (mode != BASE) {
			if (mode == TASKS && u % 4 == 0) {
				task = (uint64_t)u + 1;
				rc |= ct_tw_task_begin(w, tid, t, task, 0, "request", 0);
				rc |= ct_tw_log(w, tid, t + 1, task, "http", "GET /api/items", 0);
				n += 2;
			}
			rc |= ct_tw_region_begin(w, tid, t, "outer", task, 1, 0);
			rc |= ct_tw_region_begin(w, tid, t + d / 4, "inner", task, 2, 0);
			rc |= ct_tw_region_end(w, tid, t + d / 2, "", task, 2, 0);
			rc |= ct_tw_region_end(w, tid, t + d, "", task, 1, 0);
			n += 4;
			if (task)
				rc |= ct_tw_task_end(w, tid, t + d, task, 0), n++;
		}
		now[i] = t + d + 1000 + next_rand() % 20000;
		if (u % 8192 == 8191)
			rc |= ct_tw_flush(w, now[i]);
	}
	*events = n;
	return rc;
}

static int measure(int mode, run *r)
{
	rng = 0x9e3779b97f4a7c15ull; /* the same threads and times in every run */
	int fd = memfd_create("bench", 0);
	const char *argv[] = {"bench"};
	ct_tw_info info = {
		.pid = 1, .argv = argv, .argc = 1, .engine = "perf", .has_switches = true};
	ct_tw *w;
	if (fd < 0 || ct_tw_open(&w, fd, &info))
		return -1;
	double t0 = cpu_now();
	int rc = write_run(w, mode, &r->events);
	rc |= ct_tw_close(w, 9000000000ull);
	r->write_s = cpu_now() - t0;
	r->bytes = lseek(fd, 0, SEEK_END);
	uint8_t *buf = malloc((size_t)r->bytes);
	if (rc || !buf || pread(fd, buf, (size_t)r->bytes, 0) != r->bytes)
		return -1;
	close(fd);
	ct_trace *t;
	ct_trace_model *m;
	ct_error err = {.offset = -1};
	t0 = cpu_now();
	if (ct_trace_decode(buf, (size_t)r->bytes, &t, &err) || ct_trace_model_build(t, &m)) {
		fprintf(stderr, "bench_traceann: %s\n", err.msg);
		return -1;
	}
	r->read_s = cpu_now() - t0;
	if (mode != BASE && m->nregions != 2u * PAIRS)
		fprintf(stderr, "bench_traceann: %u regions, expected %d\n", m->nregions,
			2 * PAIRS);
	ct_trace_model_free(m);
	ct_trace_free(t);
	free(buf);
	return 0;
}

int main(void)
{
	run base, reg, tasks;
	if (measure(BASE, &base) || measure(REGIONS, &reg) || measure(TASKS, &tasks))
		return 1;
	double ntasks = PAIRS / 4.0;
	double pair_ns = base.write_s * 1e9 / PAIRS, pair_bytes = (double)base.bytes / PAIRS;
	double region_ns = (reg.write_s - base.write_s) * 1e9 / (2.0 * PAIRS);
	double region_bytes = (double)(reg.bytes - base.bytes) / (2.0 * PAIRS);
	double task_ns = (tasks.write_s - reg.write_s) * 1e9 / ntasks;
	double task_bytes = (double)(tasks.bytes - reg.bytes) / ntasks;
	printf("bench traceann_write_ns_per_region %.1f ns\n", region_ns);
	printf("bench traceann_write_region_vs_switch_pair %.2f ratio\n", region_ns / pair_ns);
	printf("bench traceann_write_task_with_log_vs_switch_pair %.2f ratio\n", task_ns / pair_ns);
	printf("bench traceann_bytes_per_region %.2f bytes\n", region_bytes);
	printf("bench traceann_bytes_region_vs_switch_pair %.2f ratio\n",
	       region_bytes / pair_bytes);
	printf("bench traceann_bytes_per_task_with_log %.2f bytes\n", task_bytes);
	printf("bench traceann_read_per_event_vs_baseline %.2f ratio\n",
	       (tasks.read_s / (double)tasks.events) / (base.read_s / (double)base.events));
	return 0;
}
