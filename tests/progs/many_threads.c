/* many_threads — 64 threads each burning ~30 ms of CPU in thread_work(). */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define N 64

static void *thread_work(void *arg)
{
	(void)arg;
	volatile unsigned long x = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do {
		for (int i = 0; i < 100000; i++)
			x = x * 31 + (unsigned long)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 30000000L);
	return NULL;
}

int main(void)
{
	pthread_t th[N];
	for (int i = 0; i < N; i++)
		if (pthread_create(&th[i], NULL, thread_work, NULL) != 0)
			return 1;
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	printf("%d threads done\n", N);
	return 0;
}
