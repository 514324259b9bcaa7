/*
 * bench_lock — the lock hooks' cost, measured by running this twice (bare, then with the
 * agent preloaded) from tests/bench/bench_lock.sh.
 *
 *   bench_lock uncontended N    N lock/unlock pairs on one mutex, one thread; prints the
 *                               best of 15 rounds as "ns_per_pair X"
 *   bench_lock timedout N       N pthread_mutex_timedlock calls with an expired deadline
 *                               on a mutex another thread holds: each is one contention
 *                               the agent times and records (waiter side), without any
 *                               scheduling noise; prints "ns_per_call X"
 *   bench_lock contended T N    T threads each doing N lock/unlock pairs around a short
 *                               critical section on one mutex; prints "cpu_ns X", the CPU
 *                               time of the whole process (wall time on a shared machine
 *                               is too noisy to compare)
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t counter;
static long iterations;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double uncontended(long n)
{
	double best = 1e9;
	for (int round = 0; round < 15; round++) {
		uint64_t t0 = now_ns();
		for (long i = 0; i < n; i++) {
			pthread_mutex_lock(&lock);
			counter++;
			pthread_mutex_unlock(&lock);
		}
		double per = (double)(now_ns() - t0) / (double)n;
		if (per < best)
			best = per;
	}
	return best;
}

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < iterations; i++) {
		pthread_mutex_lock(&lock);
		for (int k = 0; k < 200; k++) /* ~0.2 us inside */
			counter++;
		pthread_mutex_unlock(&lock);
		sched_yield(); /* lets a woken waiter in: the lock changes hands often */
	}
	return NULL;
}

static pthread_barrier_t held, done;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	pthread_barrier_wait(&held);
	pthread_barrier_wait(&done);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static double timedout(long n)
{
	pthread_t t;
	pthread_barrier_init(&held, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	pthread_create(&t, NULL, holder, NULL);
	pthread_barrier_wait(&held);
	struct timespec past = {-1, 0}; /* glibc times out without a system call */
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (pthread_mutex_timedlock(&lock, &past) != ETIMEDOUT)
			abort();
	double per = (double)(now_ns() - t0) / (double)n;
	pthread_barrier_wait(&done);
	pthread_join(t, NULL);
	return per;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "uncontended") == 0) {
		printf("ns_per_pair %.2f\n", uncontended(atol(argv[2])));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "timedout") == 0) {
		printf("ns_per_call %.2f\n", timedout(atol(argv[2])));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "contended") == 0) {
		int nthreads = atoi(argv[2]);
		pthread_t th[64];
		if (nthreads < 1 || nthreads > 64)
			return 2;
		iterations = atol(argv[3]);
		for (int i = 0; i < nthreads; i++)
			pthread_create(&th[i], NULL, worker, NULL);
		for (int i = 0; i < nthreads; i++)
			pthread_join(th[i], NULL);
		struct timespec cpu;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		printf("cpu_ns %llu\n", (unsigned long long)cpu.tv_sec * 1000000000u +
						(unsigned long long)cpu.tv_nsec);
		return 0;
	}
	fprintf(stderr, "usage: bench_lock uncontended N | timedout N | contended THREADS N\n");
	return 2;
}
