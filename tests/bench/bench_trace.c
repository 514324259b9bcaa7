/*
 * bench_trace.c — what the scheduler-event trace costs: writing, size, reading, views.
 *
 * Feeds a writer a synthetic 64-thread run the way the collector would — per thread,
 * context-switch pairs 2–40 µs apart (one in eight preempted), a hook wait with a stack
 * around every voluntary switch, an unblock edge from another thread, a CPU sample every
 * 4th slice — 1M events in all, with a chunk every 64k events (about 1 MiB buffered). Then
 * reads the file back, builds the state model and renders the --sched text and the Chrome
 * JSON. Prints "bench <name> <value> <unit>" lines: writer CPU per event, bytes per event
 * and per context switch, the most bytes buffered between chunks, and the CPU seconds of
 * decoding, modelling and each view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "libtrace/tracechrome.h"
#include "libtrace/tracemodel.h"
#include "libtrace/traceread.h"
#include "libtrace/tracesched.h"
#include "libtrace/tracewrite.h"
#include "tests/bench/bench_util.h"

enum { THREADS = 64, EVENTS = 1000000, CHUNK_EVENTS = 65536, NSTACKS = 500 };

/* Writes the synthetic run to fd; returns events written, switches in *switches. */
static long write_run(int fd, ct_stacks *st, long *switches, size_t *most)
{
	uint32_t ids[NSTACKS];
	for (int i = 0; i < NSTACKS; i++) {
		uintptr_t pcs[12];
		for (int k = 0; k < 12; k++)
			pcs[k] = 0x400000 + (next_rand() % 0xf0000);
		ids[i] = ct_stacks_intern(st, pcs, 4 + (size_t)(i % 8));
	}
	const char *argv[] = {"bench"};
	ct_tw_info info = {.pid = 1,
			   .argv = argv,
			   .argc = 1,
			   .engine = "perf",
			   .has_switches = true,
			   .sample_period_ns = 1000000,
			   .stacks = st};
	ct_tw_module m = {.path = "/usr/bin/bench",
			  .build_id = "00",
			  .start = 0x400000,
			  .end = 0x500000,
			  .file_offset = 0};
	ct_tw *w;
	if (ct_tw_open(&w, fd, &info) || ct_tw_set_modules(w, &m, 1))
		return -1;
	uint64_t now[THREADS];
	for (int i = 0; i < THREADS; i++)
		now[i] = 1000000000ull + (uint64_t)i * 1000;
	long n = 0, since = 0;
	int rc = 0;
	while (n < EVENTS && !rc) {
		uint32_t i = (uint32_t)(next_rand() % THREADS), tid = 1000 + i;
		uint64_t t = now[i], run = 2000 + next_rand() % 38000;
		rc |= ct_tw_switch_in(w, tid, t, i % 8);
		if (next_rand() % 4 == 0)
			rc |= ct_tw_sample(w, tid, t + run / 2, ids[next_rand() % NSTACKS],
					   1000000),
				n++;
		bool preempt = next_rand() % 8 == 0;
		rc |= ct_tw_switch_out(w, tid, t + run, i % 8, preempt);
		n += 2;
		(*switches)++;
		uint64_t off = 1000 + next_rand() % 30000;
		if (!preempt) {
			rc |= ct_tw_wait(w, tid, t + run - 100, t + run + off, CT_WAIT_MUTEX,
					 0x1000 + i % 4, ids[next_rand() % NSTACKS]);
			rc |= ct_tw_unblock(w, 1000 + (i + 1) % THREADS, t + run + off - 500, tid,
					    0x1000 + i % 4, ids[next_rand() % NSTACKS]);
			n += 2;
		}
		now[i] = t + run + off;
		if (n - since >= CHUNK_EVENTS) {
			if (ct_tw_pending(w) > *most)
				*most = ct_tw_pending(w);
			rc |= ct_tw_flush(w, t);
			since = n;
		}
	}
	uint64_t end = 0;
	for (int i = 0; i < THREADS; i++)
		end = now[i] > end ? now[i] : end;
	rc |= ct_tw_close(w, end);
	return rc ? -1 : n;
}

int main(void)
{
	char path[] = "/tmp/bench_trace_XXXXXX";
	int fd = mkstemp(path);
	ct_stacks *st = ct_stacks_create(4096, 1 << 16);
	if (fd < 0 || !st)
		return 1;
	unlink(path);
	long switches = 0;
	size_t most = 0;
	double t0 = cpu_now();
	long n = write_run(fd, st, &switches, &most);
	double t1 = cpu_now();
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *buf = malloc((size_t)size);
	if (n < 0 || !buf || pread(fd, buf, (size_t)size, 0) != size)
		return 1;
	close(fd);
	ct_trace *t;
	ct_trace_model *m;
	ct_error err;
	double t2 = cpu_now();
	if (ct_trace_decode(buf, (size_t)size, &t, &err)) {
		fprintf(stderr, "bench_trace: %s\n", err.msg);
		return 1;
	}
	double t3 = cpu_now();
	if (ct_trace_model_build(t, &m))
		return 1;
	double t4 = cpu_now();
	FILE *null = fopen("/dev/null", "w");
	if (!null || ct_trace_report_sched(null, m, 10))
		return 1;
	double t5 = cpu_now();
	char *json = NULL;
	size_t json_len = 0;
	FILE *js = open_memstream(&json, &json_len);
	if (!js || ct_trace_export_chrome(js, m))
		return 1;
	fclose(js);
	double t6 = cpu_now();
	printf("bench trace_events %ld count\n", n);
	printf("bench trace_write_ns_per_event %.1f ns\n", (t1 - t0) * 1e9 / (double)n);
	printf("bench trace_bytes_per_event %.2f bytes\n", (double)size / (double)n);
	printf("bench trace_bytes_per_switch_all_events %.2f bytes\n",
	       (double)size / (double)switches);
	printf("bench trace_writer_most_buffered %zu bytes\n", most);
	printf("bench trace_decode_cpu_seconds %.3f s\n", t3 - t2);
	printf("bench trace_model_cpu_seconds %.3f s\n", t4 - t3);
	printf("bench trace_sched_report_cpu_seconds %.3f s\n", t5 - t4);
	printf("bench trace_chrome_cpu_seconds %.3f s\n", t6 - t5);
	printf("bench trace_chrome_bytes_per_event %.1f bytes\n", (double)json_len / (double)n);
	fclose(null);
	free(json);
	ct_trace_model_free(m);
	ct_trace_free(t);
	free(buf);
	ct_stacks_destroy(st);
	return 0;
}
