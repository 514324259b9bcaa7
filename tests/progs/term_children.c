/* term_children — forks 3 children that work and exit; the parent SIGTERMs each one while
 * it exits (a thread of the child tells the parent ~2 ms after the child called exit, so
 * the signal lands in what runs at exit — under the agent, its final flush; a child whose
 * exit ended sooner is not signalled). Prints the children's pids. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"

#define NCHILD 3

static int done_fd;
static _Atomic int exiting;

__attribute__((noinline)) static void child_work(void)
{
	burn(0.1);
}

static void *tell_parent(void *arg)
{
	while (!atomic_load(&exiting))
		sched_yield();
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL);
	char c = (char)(long)arg;
	if (write(done_fd, &c, 1) != 1)
		_exit(2);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pid_t kids[NCHILD];
	int fds[2];
	if (pipe(fds) < 0)
		return 1;
	done_fd = fds[1];
	for (int k = 0; k < NCHILD; k++) {
		kids[k] = fork();
		if (kids[k] < 0)
			return 1;
		if (kids[k] == 0) {
			pthread_t t;
			pthread_create(&t, NULL, tell_parent, (void *)(long)k);
			child_work();
			atomic_store(&exiting, 1);
			exit(0);
		}
	}
	/* Only the children hold the write end now: a child whose exit was over before its
	 * thread could tell (a fast flush) is simply not signalled, and once every child is
	 * gone the read sees the end of the pipe instead of waiting for ever. */
	close(fds[1]);
	for (int k = 0; k < NCHILD; k++) {
		char c;
		ssize_t n = read(fds[0], &c, 1);
		if (n == 0)
			break;
		if (n != 1 || c < 0 || c >= NCHILD)
			return 1;
		kill(kids[(int)c], SIGTERM);
	}
	for (int k = 0; k < NCHILD; k++) {
		waitpid(kids[k], NULL, 0);
		printf("%d\n", (int)kids[k]);
	}
	return 0;
}
