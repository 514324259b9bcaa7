/*
 * bench_trace_scale — a long-running 64-thread program for the trace's memory bound
 * (tests/bench/bench_trace_scale.sh): for SECONDS, every thread loops on a short piece of
 * work under a shared mutex (contention), a condition-variable hand-off to its neighbour,
 * and a 10 ms sleep, so that each thread makes about a hundred state transitions a second
 * while the process stays mostly idle. Usage: bench_trace_scale SECONDS [THREADS].
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { MAXT = 256 };

static pthread_mutex_t big = PTHREAD_MUTEX_INITIALIZER;
static struct slot {
	pthread_mutex_t m;
	pthread_cond_t c;
	int token;
} slots[MAXT];
static int nthreads;
static double stop_at;
static volatile unsigned long sink;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

__attribute__((noinline)) static void work(int n)
{
	for (int i = 0; i < n; i++)
		sink = sink * 31 + (unsigned long)i;
}

static void *thread_main(void *arg)
{
	int me = (int)(long)arg, next = (me + 1) % nthreads;
	struct timespec ms = {0, 10000000};
	while (now() < stop_at) {
		pthread_mutex_lock(&big);
		work(2000);
		pthread_mutex_unlock(&big);
		/* Hand a token to the neighbour, and wait (bounded) for one from behind. */
		pthread_mutex_lock(&slots[next].m);
		slots[next].token++;
		pthread_cond_signal(&slots[next].c);
		pthread_mutex_unlock(&slots[next].m);
		pthread_mutex_lock(&slots[me].m);
		if (!slots[me].token) {
			struct timespec dl;
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += 2000000;
			if (dl.tv_nsec >= 1000000000) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&slots[me].c, &slots[me].m, &dl);
		}
		slots[me].token = 0;
		pthread_mutex_unlock(&slots[me].m);
		nanosleep(&ms, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	nthreads = argc > 2 ? atoi(argv[2]) : 64;
	if (nthreads < 2 || nthreads > MAXT)
		return 2;
	stop_at = now() + atof(argv[1]);
	pthread_t t[MAXT];
	for (int i = 0; i < nthreads; i++) {
		pthread_mutex_init(&slots[i].m, NULL);
		pthread_cond_init(&slots[i].c, NULL);
	}
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, thread_main, (void *)(long)i))
			return 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
