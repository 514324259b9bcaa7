/*
 * cpu_hot — several threads doing known, different amounts of CPU work in differently
 * named functions, for tests and the demo.
 *
 * Work split by design (of total CPU time): hot_loop 50%, warm_loop 25% (warm_inner is
 * always inlined into it), lib_work 15% (in the shared library libcpu_hot_lib.so), and
 * cool_loop 10%. Each function spins on the same unit of work, a fixed number of times.
 * Usage: cpu_hot [seconds-scale, default 1.0]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern uint64_t lib_work(uint64_t units); /* samples/cpu_hot_lib.c */

#define UNIT 200000

static volatile uint64_t sink;

__attribute__((noinline)) uint64_t hot_loop(uint64_t units)
{
	uint64_t x = 1;
	for (uint64_t u = 0; u < units; u++)
		for (int i = 0; i < UNIT; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

static inline __attribute__((always_inline)) uint64_t warm_inner(uint64_t x)
{
	for (int i = 0; i < UNIT; i++)
		x = x * 2862933555777941757ull + 3037000493ull;
	return x;
}

__attribute__((noinline)) uint64_t warm_loop(uint64_t units)
{
	uint64_t x = 2;
	for (uint64_t u = 0; u < units; u++)
		x = warm_inner(x);
	return x;
}

__attribute__((noinline)) uint64_t cool_loop(uint64_t units)
{
	uint64_t x = 3;
	for (uint64_t u = 0; u < units; u++)
		for (int i = 0; i < UNIT; i++)
			x = x * 1181783497276652981ull + 12345ull;
	return x;
}

typedef struct {
	uint64_t (*fn)(uint64_t);
	uint64_t units;
} job;

static void *worker(void *p)
{
	job *j = p;
	sink += j->fn(j->units);
	return NULL;
}

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	uint64_t base = (uint64_t)(200 * scale); /* 200 units ≈ 0.1 s on this machine */
	if (base < 1)
		base = 1;
	job jobs[] = {
		{hot_loop, base * 10},
		{warm_loop, base * 5},
		{lib_work, base * 3},
		{cool_loop, base * 2},
	};
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, &jobs[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("cpu_hot done (%llu)\n", (unsigned long long)(sink & 0xff));
	return 0;
}
