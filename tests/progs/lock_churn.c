/* lock_churn — 64 threads, far more than CPUs, each taking one shared mutex 20000 times
 * around a short critical section; prints "acquisitions N". A holder preempted with the
 * mutex makes others sleep on it, and a woken sleeper then waits long for a CPU while the
 * running threads take and release the mutex many times. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define THREADS 64
#define ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t sink;

static void *churner(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		for (int k = 0; k < 64; k++)
			sink += (uint64_t)k;
		pthread_mutex_unlock(&lock);
	}
	return arg;
}

int main(void)
{
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, churner, NULL) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	printf("acquisitions %d\n", THREADS * ROUNDS);
	return 0;
}
