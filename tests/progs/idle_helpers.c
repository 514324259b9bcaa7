/* idle_helpers [N] — N helper threads (default 6) that are never joined, the way a JVM's or
 * a thread pool's are: the even ones wait on a condition variable that is never signalled,
 * the odd ones sleep; main exits 100 ms after starting them, with all still waiting. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *cond_helper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&never, &mu);
	return NULL;
}

static void *sleep_helper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = {3600, 0};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 6;
	for (int i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, i % 2 ? sleep_helper : cond_helper, NULL) != 0)
			return 1;
	}
	struct timespec ts = {0, 100000000};
	nanosleep(&ts, NULL);
	printf("%d helpers left waiting\n", n);
	return 0; /* exit() with the helpers still waiting */
}
