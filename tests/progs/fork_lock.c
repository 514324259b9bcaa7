/* fork_lock — fork while a fork handler that runs after the agent's (libatfork_lock.so,
 * preloaded after the agent, as jemalloc is) waits for a mutex two threads keep taking
 * (test_fork_exec). The lock hook captures that wait's stack on the forking thread, after
 * the agent's prepare handler has held back every new capture until the fork is done:
 * the forking thread waited for itself, for ever (jemalloc's prefork did this).
 * usage: fork_lock FORKS — prints "forked N". */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t *mu;
static atomic_int done;

static void *contend(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		pthread_mutex_lock(mu);
		for (volatile int k = 0; k < 5000; k++)
			;
		pthread_mutex_unlock(mu);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, forked = 0;
	mu = (pthread_mutex_t *)dlsym(RTLD_DEFAULT, "atfork_lock_mutex");
	if (!mu) {
		fprintf(stderr, "fork_lock: libatfork_lock.so is not preloaded\n");
		return 2;
	}
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, contend, NULL);
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		if (p > 0 && waitpid(p, NULL, 0) == p)
			forked++;
	}
	atomic_store(&done, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("forked %d\n", forked);
	return 0;
}
