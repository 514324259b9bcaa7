/*
 * bench_util.h — what the benchmarks share: the clocks, one deterministic xorshift64
 * generator (so every run feeds the same synthetic input), a median helper and the
 * interleaved hooked-versus-direct measurement of the hook benchmarks.
 * Header-only (static functions), included by tests/bench/bench_*.c.
 */
#ifndef CT_BENCH_UTIL_H
#define CT_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../libtrace/clock.h"

/* CLOCK_MONOTONIC in ns: the agent's own clock. */
static inline uint64_t now_ns(void)
{
	return ct_now();
}

/* CPU seconds the process has used (all threads). */
static inline double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* The next number of the fixed xorshift64 sequence. */
static inline uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* qsort comparator for doubles, ascending. */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Runs rounds pairs of rounds, hooked() then direct() (each returns ns per operation),
 * interleaved so that both see the same machine, and prints
 * "added_ns <median of hooked - direct> <best_label> <best hooked round>". 0, or 1 when out
 * of memory. */
static inline int print_added(long rounds, double (*hooked)(void), double (*direct)(void),
			      const char *best_label)
{
	double *diff = malloc((size_t)rounds * sizeof(*diff)), best = 1e30;
	if (!diff)
		return 1;
	for (long r = 0; r < rounds; r++) {
		double h = hooked();
		diff[r] = h - direct();
		if (h < best)
			best = h;
	}
	qsort(diff, (size_t)rounds, sizeof(*diff), cmp_double);
	printf("added_ns %.2f %s %.2f\n", diff[rounds / 2], best_label, best);
	free(diff);
	return 0;
}

#endif
