/*
 * bench_heap.c — the workload behind bench_heap.sh.
 *
 *   bench_heap tight N            one thread, N x (malloc(32); free): the hooks' fast
 *                                 path alone. Prints "tight NS_PER_PAIR".
 *   bench_heap mixed THREADS N    THREADS threads, each N malloc+free pairs over a
 *                                 window of 256 live blocks, sizes 16 B .. 4 KiB with one
 *                                 in 64 up to 256 KiB. Prints "mixed NS_PER_PAIR WALL_NS",
 *                                 NS_PER_PAIR from the threads' CPU time (so that a
 *                                 profiler's own threads and scheduling noise do not
 *                                 count), WALL_NS for the whole run.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *volatile sink;

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long iters;
static uint64_t cpu_ns[64];

static void *mixed(void *arg)
{
	int id = (int)(intptr_t)arg;
	void *live[256] = {0};
	uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(id + 1);
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (long i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t size = 16 + (x >> 40) % 4081;
		if ((x & 63) == 0)
			size = 4096 + (x >> 20) % (252 << 10);
		unsigned k = (unsigned)(x >> 8) & 255;
		free(live[k]);
		live[k] = malloc(size);
		*(char *)live[k] = 1;
	}
	for (int k = 0; k < 256; k++)
		free(live[k]);
	cpu_ns[id] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "tight") == 0) {
		long n = atol(argv[2]);
		uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		for (long i = 0; i < n; i++) {
			void *p = malloc(32);
			sink = p;
			free(p);
		}
		printf("tight %.3f\n", (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / n);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "mixed") == 0) {
		int nt = atoi(argv[2]);
		iters = atol(argv[3]);
		if (nt < 1 || nt > 64)
			return 2;
		pthread_t th[64];
		uint64_t w0 = clock_ns(CLOCK_MONOTONIC);
		for (int i = 0; i < nt; i++)
			pthread_create(&th[i], NULL, mixed, (void *)(intptr_t)i);
		uint64_t total = 0;
		for (int i = 0; i < nt; i++) {
			pthread_join(th[i], NULL);
			total += cpu_ns[i];
		}
		uint64_t wall = clock_ns(CLOCK_MONOTONIC) - w0;
		printf("mixed %.3f %llu\n", (double)total / ((double)nt * iters),
		       (unsigned long long)wall);
		return 0;
	}
	fprintf(stderr, "usage: bench_heap tight N | mixed THREADS N\n");
	return 2;
}
