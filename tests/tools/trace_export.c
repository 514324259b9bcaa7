/*
 * trace_export.c — writes one view of a trace.ctr through libtrace directly, timed, for the
 * benchmarks (the Chrome JSON export has its CLI entry elsewhere):
 *
 *   trace_export chrome|perfetto|timeline IN.ctr OUT
 *
 * Prints "read S model S write S bytes N events N" (seconds; events: the trace's raw events).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "libtrace/timeline.h"
#include "libtrace/tracechrome.h"
#include "libtrace/tracemodel.h"
#include "libtrace/traceperfetto.h"
#include "libtrace/traceread.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: trace_export chrome|perfetto|timeline IN.ctr OUT\n");
		return 2;
	}
	double t0 = now();
	ct_trace *t;
	ct_error err = {.offset = -1};
	if (ct_trace_read_file(argv[2], &t, &err)) {
		fprintf(stderr, "trace_export: %s: %s\n", argv[2], err.msg);
		return 1;
	}
	double t1 = now();
	ct_trace_model *m;
	if (ct_trace_model_build(t, &m)) {
		fprintf(stderr, "trace_export: out of memory\n");
		return 1;
	}
	double t2 = now();
	FILE *out = fopen(argv[3], "w");
	if (!out) {
		perror(argv[3]);
		return 1;
	}
	int rc = strcmp(argv[1], "chrome") == 0	    ? ct_trace_export_chrome(out, m)
		 : strcmp(argv[1], "perfetto") == 0 ? ct_trace_export_perfetto(out, m)
						    : ct_timeline_write_html(out, m);
	long bytes = ftell(out);
	if (fclose(out) || rc) {
		fprintf(stderr, "trace_export: cannot write %s\n", argv[3]);
		return 1;
	}
	printf("read %.3f model %.3f write %.3f bytes %ld events %zu\n", t1 - t0, t2 - t1,
	       now() - t2, bytes, t->nevents);
	ct_trace_model_free(m);
	ct_trace_free(t);
	return 0;
}
