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
#include "tests/bench/bench_util.h"

enum { NSTACKS = 100000, NSAMPLES = 1000000, LEVELS = 17, POOL = 3000, MAXTAIL = 15, RUNS = 3 };

static int die(const char *what)
{
	fprintf(stderr, "bench_pprof: %s failed\n", what);
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(*v), cmp_double);
	return v[RUNS / 2];
}

/* The profile of bench_flame.c; NULL on failure. */
static ct_profile *build(void)
{
	ct_profile *p = ct_profile_new();
	if (!p || ct_profile_add_sample_type(p, "samples", "count") ||
	    ct_profile_add_sample_type(p, "cpu", "nanoseconds"))
		return NULL;
	static uint32_t tree_loc[LEVELS][2], pool_loc[POOL];
	char name[64];
	uint32_t main_loc;
	{
		ct_line l = {.function = ct_profile_add_function(p, "main", "", "main.c", 1)};
		main_loc = ct_profile_add_location(p, 0, 0, &l, 1);
	}
	for (int lv = 0; lv < LEVELS; lv++)
		for (int b = 0; b < 2; b++) {
			snprintf(name, sizeof(name), "app::level%02d_%s", lv, b ? "right" : "left");
			ct_line l = {.function = ct_profile_add_function(p, name, "", "app.c", lv),
				     .line = 100 + lv};
			tree_loc[lv][b] = ct_profile_add_location(p, 0, 0, &l, 1);
		}
	for (int i = 0; i < POOL; i++) {
		snprintf(name, sizeof(name), "lib::module%d::function_%d", i % 37, i);
		ct_line l = {.function = ct_profile_add_function(p, name, "", "lib.c", i),
			     .line = i};
		pool_loc[i] = ct_profile_add_location(p, 0, 0, &l, 1);
	}
	/* Stack s, leaf first: tail, then the tree path of s's bits, then main. */
	uint32_t *stacks = malloc((size_t)NSTACKS * (LEVELS + MAXTAIL + 1) * sizeof(*stacks));
	uint8_t *depth = malloc(NSTACKS);
	if (!stacks || !depth) {
		free(stacks);
		free(depth);
		ct_profile_free(p);
		return NULL;
	}
	for (uint32_t s = 0; s < NSTACKS; s++) {
		uint32_t *st = &stacks[(size_t)s * (LEVELS + MAXTAIL + 1)], d = 0;
		uint32_t tail = (uint32_t)(next_rand() % (MAXTAIL + 1));
		for (uint32_t k = 0; k < tail; k++)
			st[d++] = pool_loc[(s * 31u + k * 977u) % POOL];
		for (int lv = LEVELS - 1; lv >= 0; lv--)
			st[d++] = tree_loc[lv][(s >> (LEVELS - 1 - lv)) & 1];
		st[d++] = main_loc;
		depth[s] = (uint8_t)d;
	}
	int rc = 0;
	for (uint32_t i = 0; i < NSAMPLES && !rc; i++) {
		double u = (double)(next_rand() >> 11) / 9007199254740992.0;
		uint32_t s = (uint32_t)(u * u * NSTACKS);
		int64_t v[2] = {1, 10000000};
		rc = ct_profile_add_sample(p, &stacks[(size_t)s * (LEVELS + MAXTAIL + 1)], depth[s],
					   v, NULL, 0);
	}
	free(stacks);
	free(depth);
	if (rc) {
		ct_profile_free(p);
		return NULL;
	}
	return p;
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
	ct_profile *p = build();
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
		if (q->nsamples != p->nsamples || q->nlocations != p->nlocations ||
		    q->nfunctions != p->nfunctions)
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
