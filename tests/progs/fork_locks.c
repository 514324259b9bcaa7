/* fork_locks — forks a child in which two threads contend for a mutex held ~20 ms at a
 * time in child_critical(); the parent only waits. Prints the child's pid. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void child_critical(void)
{
	struct timespec ts = {0, 20000000};
	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++) {
		pthread_mutex_lock(&lock);
		child_critical();
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int main(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t a, b;
		pthread_create(&a, NULL, worker, NULL);
		pthread_create(&b, NULL, worker, NULL);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("%d\n", (int)pid);
	return 0;
}
