/*
 * short_waits — many short waits of a known total, for the block profile's sampling
 * (test_block_sampled): THREADS threads each sleep ROUNDS times for US microseconds with
 * usleep, timing every call themselves with CLOCK_MONOTONIC, and one long wait of 20 ms.
 * Prints "waits N total_ns T" (every usleep call, long ones included). The timer slack
 * is set to 1 ns so that the short waits stay short (tens of microseconds).
 *
 * usage: short_waits [ROUNDS [US [THREADS]]]   (defaults 8000, 10, 2)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static long rounds = 8000, us = 10;
static _Atomic long long total_ns, waits;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long timed_sleep(long usec)
{
	long long t0 = now_ns();
	usleep((useconds_t)usec);
	return now_ns() - t0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	long long sum = timed_sleep(20000);
	for (long i = 0; i < rounds; i++)
		sum += timed_sleep(us);
	atomic_fetch_add(&total_ns, sum);
	atomic_fetch_add(&waits, rounds + 1);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rounds = atol(argv[1]);
	if (argc > 2)
		us = atol(argv[2]);
	int threads = argc > 3 ? atoi(argv[3]) : 2;
	if (threads < 1 || threads > 64 || rounds < 0 || us < 1) {
		fprintf(stderr, "usage: short_waits [ROUNDS [US [THREADS]]]\n");
		return 2;
	}
	pthread_t t[64];
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, sleeper, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("waits %lld total_ns %lld\n", (long long)waits, (long long)total_ns);
	return 0;
}
