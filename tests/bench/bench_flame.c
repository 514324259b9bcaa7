/*
 * bench_flame.c — how long the flame graph writers take on a big profile.
 *
 * Builds a synthetic CPU profile of 1M samples over 100k distinct stacks (a binary tree
 * of 17 levels under main, so every stack is distinct, each with a tail of 0-15 frames
 * drawn from a pool of 3000 functions; stacks are picked with a skew towards the first
 * ones, as real profiles have a few hot paths), aggregates it, then times writing the SVG
 * and the HTML flame graphs to temporary files, and then the whole job a user of
 * `ctrace report --flame` waits for, once per format: aggregating the samples into a
 * fresh tree, then writing it. Prints "bench <name> <value> <unit>" lines:
 * flame_tree_nodes, flame_tree_seconds, flame_tree_cpu_seconds, flame_svg_seconds,
 * flame_svg_bytes, flame_html_seconds, flame_html_bytes, flame_html_nodes (those left
 * after the page's resolution pruning), flame_svg_total_seconds,
 * flame_svg_total_cpu_seconds, flame_html_total_seconds, flame_html_total_cpu_seconds,
 * and the targets of issue 4: flame_svg_total_target, flame_html_total_target (seconds,
 * wall) and flame_html_bytes_target. Wall times suffer on a loaded machine; the CPU
 * times show what the process itself spent. With an argument DIR it also leaves the
 * graphs in DIR/bench_flame.svg and DIR/bench_flame.html (for looking at them in a
 * browser).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libtrace/flame.h"
#include "libtrace/report.h"
#include "tests/bench/bench_profile.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "bench_flame: %s failed\n", what);
	return 1;
}

typedef int (*writer)(FILE *, const ct_tree *, const ct_flame_opts *);

/* Times one writer into a temporary file; returns 0 and fills seconds and bytes. */
static int time_writer(writer write, const ct_tree *t, const ct_flame_opts *o, double *seconds,
		       long *bytes)
{
	FILE *f = tmpfile();
	if (!f)
		return -1;
	double t0 = now();
	int rc = write(f, t, o);
	if (!rc && fflush(f) != 0)
		rc = -1;
	*seconds = now() - t0;
	*bytes = ftell(f);
	fclose(f);
	return rc;
}

/* Writes the graph to path too, when dir is set. */
static int keep(writer write, const ct_tree *t, const ct_flame_opts *o, const char *dir,
		const char *name)
{
	if (!dir)
		return 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = write(f, t, o);
	return fclose(f) != 0 || rc ? -1 : 0;
}

/* The whole job: a fresh tree of p, written by write into a temporary file. */
static int time_job(writer write, const ct_profile *p, const ct_flame_opts *o, double *wall,
		    double *cpu)
{
	FILE *f = tmpfile();
	if (!f)
		return -1;
	double t0 = now(), c0 = cpu_now();
	ct_tree *t;
	int rc = ct_tree_from_profile(p, NULL, &t);
	if (!rc) {
		rc = write(f, t, o);
		if (!rc && fflush(f) != 0)
			rc = -1;
	}
	*wall = now() - t0;
	*cpu = cpu_now() - c0;
	ct_tree_free(t); /* NULL when building failed */
	fclose(f);
	return rc;
}

/* The number of nodes the HTML page carries (its "nodes" field), or -1. */
static long html_nodes(const ct_tree *t, const ct_flame_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -1;
	int rc = ct_flame_write_html(f, t, o);
	fclose(f);
	const char *at = rc ? NULL : strstr(buf, "\"nodes\":");
	long n = at ? strtol(at + 8, NULL, 10) : -1;
	free(buf);
	return n;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : NULL;
	ct_profile *p = bench_profile();
	if (!p)
		return die("profile");

	double t0 = now(), c0 = cpu_now();
	ct_tree *t;
	if (ct_tree_from_profile(p, NULL, &t))
		return die("tree");
	double tree_s = now() - t0, tree_cpu = cpu_now() - c0;
	ct_flame_opts o;
	ct_flame_opts_init(&o);
	o.col = 1;
	double svg_s, html_s, svg_job, svg_job_cpu, html_job, html_job_cpu;
	long svg_b, html_b, html_n = html_nodes(t, &o);
	if (time_writer(ct_flame_write_svg, t, &o, &svg_s, &svg_b))
		return die("svg");
	if (time_writer(ct_flame_write_html, t, &o, &html_s, &html_b))
		return die("html");
	if (keep(ct_flame_write_svg, t, &o, dir, "bench_flame.svg") ||
	    keep(ct_flame_write_html, t, &o, dir, "bench_flame.html"))
		return die("writing into DIR");
	if (time_job(ct_flame_write_svg, p, &o, &svg_job, &svg_job_cpu))
		return die("svg job");
	if (time_job(ct_flame_write_html, p, &o, &html_job, &html_job_cpu))
		return die("html job");
	printf("bench flame_tree_nodes %u nodes\n", t->nnodes);
	printf("bench flame_tree_seconds %.3f s\n", tree_s);
	printf("bench flame_tree_cpu_seconds %.3f s\n", tree_cpu);
	printf("bench flame_svg_seconds %.3f s\n", svg_s);
	printf("bench flame_svg_bytes %ld bytes\n", svg_b);
	printf("bench flame_html_seconds %.3f s\n", html_s);
	printf("bench flame_html_bytes %ld bytes\n", html_b);
	printf("bench flame_html_nodes %ld nodes\n", html_n);
	printf("bench flame_svg_total_seconds %.3f s\n", svg_job);
	printf("bench flame_svg_total_cpu_seconds %.3f s\n", svg_job_cpu);
	printf("bench flame_html_total_seconds %.3f s\n", html_job);
	printf("bench flame_html_total_cpu_seconds %.3f s\n", html_job_cpu);
	printf("bench flame_svg_total_target %.3f s\n", 1.0);
	printf("bench flame_html_total_target %.3f s\n", 1.0);
	printf("bench flame_html_bytes_target %d bytes\n", 10000000);
	ct_tree_free(t);
	ct_profile_free(p);
	return 0;
}
