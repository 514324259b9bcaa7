/*
 * bench_threads — what threads cost under the agent, run bare and traced by
 * tests/bench/bench_threads.sh (issue 9, defects 6 and 7).
 *
 *   bench_threads storm N       N short-lived threads, four alive at a time, each
 *                               allocating, taking a mutex and burning ~20 us of CPU;
 *                               prints "wall_ns X cpu_ns Y"
 *   bench_threads churn T N [C] T threads each doing N rounds of malloc/free and a
 *                               lock/unlock of one shared mutex around a critical section
 *                               of C steps (default 16, ~20 ns); prints "wall_ns X cpu_ns Y
 *                               ops Z contended_pct P parallel Q", P being the share of the
 *                               program's acquisitions that found the mutex held (a trylock
 *                               first), Q the CPU time its T threads used (each reads its own
 *                               clock at its end), summed, over the wall time: how many CPUs
 *                               they had on average (the agent's collector not included)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t sink;
static long rounds;
static int cs_steps = 16;
static _Atomic uint64_t contended, acquired, threads_cpu;

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static void burn(long n)
{
	for (long i = 0; i < n; i++)
		sink += (uint64_t)i * 2654435761u;
}

static void *short_life(void *arg)
{
	void *p[4];
	for (int i = 0; i < 4; i++)
		p[i] = malloc(64u << i);
	pthread_mutex_lock(&lock);
	sink++;
	pthread_mutex_unlock(&lock);
	burn(20000);
	for (int i = 0; i < 4; i++)
		free(p[i]);
	return arg;
}

static int storm(long n)
{
	pthread_t th[4];
	for (long i = 0; i < n; i += 4) {
		for (int k = 0; k < 4; k++)
			if (pthread_create(&th[k], NULL, short_life, NULL) != 0)
				return 1;
		for (int k = 0; k < 4; k++)
			pthread_join(th[k], NULL);
	}
	return 0;
}

static void *churner(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15u + 1, busy = 0;
	for (long i = 0; i < rounds; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		void *p = malloc(16 + (x & 1023));
		if (pthread_mutex_trylock(&lock) == EBUSY) {
			busy++;
			pthread_mutex_lock(&lock);
		}
		for (int k = 0; k < cs_steps; k++) /* the critical section: ~1.3 ns a step */
			sink += (uint64_t)k;
		pthread_mutex_unlock(&lock);
		free(p);
	}
	atomic_fetch_add(&contended, busy);
	atomic_fetch_add(&acquired, (uint64_t)rounds);
	atomic_fetch_add(&threads_cpu, clock_ns(CLOCK_THREAD_CPUTIME_ID));
	return NULL;
}

static int churn(int nthreads, long n)
{
	pthread_t th[256];
	if (nthreads < 1 || nthreads > 256)
		return 2;
	rounds = n;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, churner, (void *)(uintptr_t)(i + 1)) != 0)
			return 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t w0 = clock_ns(CLOCK_MONOTONIC);
	int rc;
	if (argc == 3 && strcmp(argv[1], "storm") == 0) {
		rc = storm(atol(argv[2]));
	} else if ((argc == 4 || argc == 5) && strcmp(argv[1], "churn") == 0) {
		if (argc == 5)
			cs_steps = atoi(argv[4]);
		rc = churn(atoi(argv[2]), atol(argv[3]));
	} else {
		fprintf(stderr, "usage: bench_threads storm N | churn THREADS N [CS_STEPS]\n");
		return 2;
	}
	if (rc)
		return rc;
	uint64_t wall = clock_ns(CLOCK_MONOTONIC) - w0, cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("wall_ns %llu cpu_ns %llu", (unsigned long long)wall, (unsigned long long)cpu);
	if (acquired)
		printf(" ops %llu contended_pct %.2f parallel %.2f", (unsigned long long)acquired,
		       100.0 * (double)contended / (double)acquired,
		       (double)threads_cpu / (double)wall);
	printf("\n");
	return 0;
}
