/*
 * bench_util.h — what the libtrace benchmarks share: the process's CPU clock and one
 * deterministic xorshift64 generator, so every run feeds the same synthetic input.
 * Header-only (static functions), included by tests/bench/bench_*.c.
 */
#ifndef CT_BENCH_UTIL_H
#define CT_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

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

#endif
