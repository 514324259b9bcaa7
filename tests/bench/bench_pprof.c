/*
 * bench_pprof.c — how long reading and writing a big pprof file take.
 *
 * Builds the synthetic CPU profile of bench_flame.c (1M samples over 100k distinct
 * stacks: a binary tree of 17 levels under main, each stack with a tail of 0-15 frames
 * from a pool of 3000 functions, picked with a skew towards the first ones), writes it
 * gzipped with ct_pprof_write_file into a temporary directory, then times
 * ct_pprof_read_file on it and ct_pprof_encode of the model (CPU time of the process,
 * median of 3 runs each). Prints "bench <name> <value> <unit>" lines:
 * pprof_decode_cpu_seconds, pprof_encode_cpu_seconds, pprof_file_bytes, and the target
 * pprof_decode_target (seconds of CPU). With an argument DIR it writes the file there
 * (DIR/bench_pprof.pb.gz) and leaves it, for profiling the reader on it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libtrace/pprof.h"
#include "tests/bench/bench_profile.h"

enum { RUNS = 3 };

static int die(const char *what)
{
	fprintf(stderr, "bench_pprof: %s failed\n", what);
	return 1;
}

static int64_t total(const ct_profile *p)
{
	int64_t t = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		t += p->samples[i].values[0];
	return t;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(*v), cmp_double);
	return v[RUNS / 2];
}

int main(int argc, char **argv)
{
	const char *keep = argc > 1 ? argv[1] : NULL;
	char dir[] = "/tmp/bench_pprof.XXXXXX", path[4096];
	if (keep)
		snprintf(path, sizeof(path), "%s/bench_pprof.pb.gz", keep);
	else if (!mkdtemp(dir))
		return die("mkdtemp");
	else
		snprintf(path, sizeof(path), "%s/bench_pprof.pb.gz", dir);
	ct_profile *p = bench_profile();
	if (!p)
		return die("profile");
	if (ct_pprof_write_file(p, path))
		return die("ct_pprof_write_file");
	struct stat sb;
	if (stat(path, &sb))
		return die("stat");

	double dec[RUNS], enc[RUNS];
	for (int i = 0; i < RUNS; i++) {
		ct_error err;
		ct_profile *q;
		double c0 = cpu_now();
		int rc = ct_pprof_read_file(path, &q, &err);
		dec[i] = cpu_now() - c0;
		if (rc) {
			fprintf(stderr, "bench_pprof: %s\n", err.msg);
			return die("ct_pprof_read_file");
		}
		/* The reader merges samples of one stack (1M records into 100k samples): the
		 * totals, locations and functions come back. */
		if (total(q) != total(p) || q->nsamples > p->nsamples ||
		    q->nlocations != p->nlocations || q->nfunctions != p->nfunctions)
			return die("round trip");
		ct_profile_free(q);
	}
	for (int i = 0; i < RUNS; i++) {
		uint8_t *buf;
		size_t len;
		double c0 = cpu_now();
		int rc = ct_pprof_encode(p, true, &buf, &len);
		enc[i] = cpu_now() - c0;
		if (rc)
			return die("ct_pprof_encode");
		free(buf);
	}
	if (!keep) {
		unlink(path);
		rmdir(dir);
	}
	printf("bench pprof_decode_cpu_seconds %.3f s\n", median(dec));
	printf("bench pprof_encode_cpu_seconds %.3f s\n", median(enc));
	printf("bench pprof_file_bytes %lld bytes\n", (long long)sb.st_size);
	printf("bench pprof_decode_target %.1f s\n", 0.6);
	ct_profile_free(p);
	return 0;
}
