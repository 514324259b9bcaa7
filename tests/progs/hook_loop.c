/*
 * hook_loop — a hot loop through hooked calls that barely wait, so that a good part of
 * its CPU time is the agent's (test_selffold): poll_loop polls an always-readable pipe
 * with a timeout (a wait the agent times and records every call), ROUNDS times (default
 * 300000), and a second thread does the same, so that the trace, the block profile and
 * the stack cache all work on every call. Every other call is a ppoll, which the agent
 * does not defer: its hook's frame stays on the stack under libc's ppoll, where a sample
 * must show libc's ppoll as the program's call (not the agent's time).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long rounds = 300000;
static int fds[2];

__attribute__((noinline)) static long poll_loop(void)
{
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	long ready = 0;
	struct timespec second = {.tv_sec = 1};
	for (long i = 0; i < rounds; i++)
		ready += (i & 1 ? ppoll(&p, 1, &second, NULL) : poll(&p, 1, 1000)) == 1;
	return ready;
}

static void *worker(void *arg)
{
	(void)arg;
	return (void *)poll_loop();
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rounds = atol(argv[1]);
	if (pipe(fds) < 0 || write(fds[1], "x", 1) != 1)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	long mine = poll_loop();
	void *theirs;
	pthread_join(t, &theirs);
	printf("ready %ld\n", mine + (long)theirs);
	return 0;
}
