/*
 * bench_sched — two threads playing ping-pong through one mutex and condition variable,
 * ROUNDS round trips (default 100000): every turn blocks one thread and wakes the other,
 * about two context switches per turn. The program bench_sched.sh records with the agent's
 * scheduler trace and with `perf sched record`.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long turn, turns;

/* Player me (0 or 1) moves when turn % 2 == me, until every turn is played. */
static void *player(void *arg)
{
	long me = (long)arg;
	pthread_mutex_lock(&lock);
	while (turn < turns) {
		while (turn % 2 != me && turn < turns)
			pthread_cond_wait(&turn_changed, &lock);
		if (turn < turns)
			turn++;
		pthread_cond_signal(&turn_changed);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 100000;
	turns = 2 * rounds;
	pthread_t a, b;
	pthread_create(&a, NULL, player, (void *)0);
	pthread_create(&b, NULL, player, (void *)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("%ld turns\n", turn);
	return 0;
}
