/* event_flood [SECONDS] — 32 threads allocate, free and fight over one mutex for ~1 s (or
 * SECONDS) of wall time:
 * far more heap and lock events (at CTRACE_HEAP_RATE=1) than the agent's rings hold. Every
 * 64th hold yields the CPU with the mutex held, so that other threads do block on it: the
 * lock events are waits (and their wake-up edges), which every hold that makes threads
 * wait records, whatever the agent does with releases that wake no one. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#define NTHREADS 32

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long sink;
static double seconds = 1.0;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

__attribute__((noinline)) static void *flood(void *arg)
{
	(void)arg;
	double end = now() + seconds;
	while (now() < end)
		for (int i = 0; i < 64; i++) {
			void *p = malloc(16 + (size_t)i);
			pthread_mutex_lock(&mu);
			sink += (unsigned long)p;
			if (i == 0)
				sched_yield();
			pthread_mutex_unlock(&mu);
			free(p);
		}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		seconds = atof(argv[1]);
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, flood, NULL);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
