/*
 * live_sigs.c — a program that looks at and takes real-time signals while the live server
 * captures its threads' stacks with one (test_live.sh). DIR (argv[1]) synchronizes with
 * the test: the program starts a thread "sigworker" (idle in sigs_worker_wait) and waits
 * for DIR/go1; then it prints how many real-time signals have an action other than the
 * default as its sigaction sees them (the agent's capture signal must not show), installs
 * its own handler on SIGRTMIN+5 .. SIGRTMIN+8 (the capture signal is the lowest spare one
 * from SIGRTMIN+5), sends each to itself once, prints how often its handler ran, creates
 * DIR/ready2 and waits for DIR/go2 (the test captures the stacks again meanwhile); then it
 * prints its handler's count again (captures must never reach it) and exits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop_thread.h"

static volatile sig_atomic_t calls;

static void on_rt(int sig)
{
	(void)sig;
	calls++;
}

static void wait_for(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct timespec ts = {0, 20000000};
	for (int i = 0; i < 1500 && access(path, F_OK) != 0; i++)
		nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void sigs_worker_wait(void)
{
	struct timespec ts = {0, 10000000};
	nanosleep(&ts, NULL);
}

static const struct loop_job worker = {"sigworker", sigs_worker_wait};

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	pthread_t t;
	pthread_create(&t, NULL, loop_thread, (void *)&worker);
	wait_for(argv[1], "go1");
	int handled = 0;
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
		struct sigaction a;
		if (sigaction(s, NULL, &a) == 0 &&
		    ((a.sa_flags & SA_SIGINFO) ? a.sa_sigaction != NULL : a.sa_handler != SIG_DFL))
			handled++;
	}
	printf("real-time signals with an action: %d\n", handled);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_rt;
	sigemptyset(&sa.sa_mask);
	for (int s = SIGRTMIN + 5; s <= SIGRTMIN + 8; s++)
		sigaction(s, &sa, NULL);
	for (int s = SIGRTMIN + 5; s <= SIGRTMIN + 8; s++)
		pthread_kill(pthread_self(), s);
	printf("own handler calls: %d\n", (int)calls);
	fflush(stdout);
	char path[4096];
	snprintf(path, sizeof(path), "%s/ready2", argv[1]);
	fclose(fopen(path, "w"));
	wait_for(argv[1], "go2");
	printf("own handler calls at the end: %d\n", (int)calls);
	loop_stop = 1;
	pthread_join(t, NULL);
	return 0;
}
