/* fd_churn LOG [ROUNDS] — a daemon that keeps taking the agent's fds from under it while
 * threads come and go. It closes every fd with a raw close_range, reopens /dev/null on 0, 1,
 * 2 and its log on 3; then, each round, it starts and joins two short threads, closes
 * every fd above 3 with a raw close_range (the agent's too, behind its back), dup2()s the
 * log onto 1900..2199 (where the agent keeps its fds) and writes a line. The log must be
 * the same with and without the agent: an agent that took one of those numbers for its
 * own file at the wrong moment writes its wake-up bytes into the log, or reads and polls
 * the program's file instead of its own. Exit status 3/4: the agent held a low fd at
 * start; 6: a dup2 failed. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LO 1900
#define HI 2200

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long shared;

static void *worker(void *arg)
{
	void *p = malloc(4096 + (size_t)arg);
	pthread_mutex_lock(&mu);
	for (int i = 0; i < 20000; i++)
		shared += i ^ (long)p;
	pthread_mutex_unlock(&mu);
	free(p);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int rounds = argc > 2 ? atoi(argv[2]) : 150;
	syscall(SYS_close_range, 0u, ~0u, 0);
	if (open("/dev/null", O_RDONLY) != 0 || open("/dev/null", O_WRONLY) != 1 ||
	    open("/dev/null", O_WRONLY) != 2)
		return 3;
	int log = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (log != 3)
		return 4;
	for (int r = 0; r < rounds; r++) {
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, worker, (void *)(long)r) != 0)
				return 5;
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		syscall(SYS_close_range, 4u, ~0u, 0);
		for (int fd = LO; fd < HI; fd++)
			if (dup2(log, fd) != fd)
				return 6;
		dprintf(log, "churn line %d\n", r);
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	dprintf(log, "churn done\n");
	return 0;
}
