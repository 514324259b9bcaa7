/* self_kill — burns CPU in hot_spot(), keeps heap blocks from keep_blocks() and contends a
 * mutex in two threads (lock_fight), then SIGKILLs itself: the agent's final write never
 * comes, so its profiles must come from a checkpoint. argv[1]: seconds of CPU to burn
 * (default 2.5). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
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
