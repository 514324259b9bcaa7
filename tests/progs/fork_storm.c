/* fork_storm [THREADS] — 8 (or THREADS) threads allocate, lock, walk the loaded modules
 * (dl_iterate_phdr, as symbolizers and JITs do), sleep briefly and burn CPU while the main thread
 * forks 50 children one after another; each child allocates, locks a mutex of its own (the
 * threads' one may have been held at the fork), sleeps 1 ms and exits (half with exit,
 * half with _exit). Prints "storm ok" when every child was reaped with status 0. */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"

#define NTHREADS 8
#define NCHILD 50

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int stop;

__attribute__((noinline)) static void churn(pthread_mutex_t *m, int k)
{
	void *p[16];
	for (int i = 0; i < 16; i++)
		p[i] = malloc(32 + (size_t)((i * 97 + k) % 8192));
	pthread_mutex_lock(m);
	burn(0.00005);
	pthread_mutex_unlock(m);
	for (int i = 0; i < 16; i++)
		free(p[i]);
}

/* Reads every program header of every module, as a symbolizer would. */
static int count_module(struct dl_phdr_info *info, size_t size, void *n)
{
	(void)size;
	for (int r = 0; r < 400; r++)
		for (int i = 0; i < info->dlpi_phnum; i++)
			*(int *)n += (int)info->dlpi_phdr[i].p_type;
	return 0;
}

__attribute__((noinline)) static void child_nap(void)
{
	struct timespec ts = {0, 1000000};
	nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
	int k = (int)(long)arg;
	while (!atomic_load(&stop)) {
		churn(&mu, k++);
		int n = 0;
		dl_iterate_phdr(count_module, &n);
		if (k % 16 == 0) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];
	int nthreads = argc > 1 ? atoi(argv[1]) : NTHREADS;
	if (nthreads < 1 || nthreads > NTHREADS)
		return 2;
	for (long i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	int bad = 0;
	for (int c = 0; c < NCHILD; c++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			pthread_mutex_t own = PTHREAD_MUTEX_INITIALIZER;
			churn(&own, c);
			child_nap();
			if (c % 2)
				_exit(0);
			exit(0);
		}
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	if (bad)
		printf("%d children failed\n", bad);
	else
		printf("storm ok\n");
	return bad != 0;
}
