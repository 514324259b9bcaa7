/* self_kill — burns CPU in hot_spot(), keeps heap blocks from keep_blocks() and contends a
 * mutex in two threads (lock_fight), then SIGKILLs itself: the agent's final write never
 * comes, so its profiles must come from a checkpoint. argv[1]: seconds of CPU to burn
 * (default 2.5).
 *   self_kill children   forks two children that SIGKILL themselves: the first after
 *                        1.6 s of CPU in child_spot() (past a checkpoint), the second at
 *                        once (before any); prints their pids, waits, exits 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "burn.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *kept[64];

__attribute__((noinline)) void hot_spot(double seconds)
{
	burn(seconds);
}

__attribute__((noinline)) void keep_blocks(void)
{
	for (int i = 0; i < 64; i++) {
		kept[i] = malloc(1 << 20);
		memset(kept[i], 1, 1 << 20);
	}
}

__attribute__((noinline)) static void *lock_fight(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&mu);
		burn(0.001);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

__attribute__((noinline)) void child_spot(double seconds)
{
	burn(seconds);
}

static int children(void)
{
	pid_t late = fork();
	if (late == 0) {
		child_spot(1.6);
		kill(getpid(), SIGKILL);
	}
	pid_t early = fork();
	if (early == 0)
		kill(getpid(), SIGKILL);
	printf("%d %d\n", (int)late, (int)early);
	fflush(stdout);
	waitpid(late, NULL, 0);
	waitpid(early, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "children") == 0)
		return children();
	keep_blocks();
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, lock_fight, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	hot_spot(argc > 1 ? atof(argv[1]) : 2.5);
	kill(getpid(), SIGKILL);
	return 0;
}
