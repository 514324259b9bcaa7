/* many_threads — 64 threads each burning ~30 ms of CPU in thread_work(). */
#include <pthread.h>
#include <stdio.h>

#include "burn.h"

#define N 64

static void *thread_work(void *arg)
{
	(void)arg;
	burn(0.03);
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
