/* sig_reader.c — a program that reads its signals instead of handling them, as daemons do:
 * every signal blocked, then consumed with signalfd or sigtimedwait between bursts of work.
 * Nobody sends it a signal, so any it reads is the agent's (test_own_sigprof).
 *   sig_reader signalfd|sigtimedwait  — the main thread blocks all and reads (0.6 s of CPU)
 *   sig_reader thread                 — main blocks all, then a thread started with that
 *                                       mask burns and reads (the mask it inherited)
 *   sig_reader unblock                — 0.3 s with every signal blocked (blocked_part),
 *                                       then 0.3 s with none (unblocked_part)
 *   sig_reader moved                  — a thread blocks SIGPROF while main takes it (the
 *                                       timer moves to another signal), then unblocks it
 *                                       and burns 0.4 s in moved_part
 * Prints "unexpected N" (the signals it read) and exits 1 when N > 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "burn.h"

static int use_fd = 1;

static int read_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	static int fd = -1;
	int got = 0;
	if (use_fd) {
		if (fd < 0)
			fd = signalfd(-1, &all, SFD_NONBLOCK);
		struct signalfd_siginfo si;
		while (read(fd, &si, sizeof si) == sizeof si) {
			fprintf(stderr, "read signal %u\n", si.ssi_signo);
			got++;
		}
	} else {
		struct timespec zero = {0, 0};
		int s;
		while ((s = sigtimedwait(&all, NULL, &zero)) > 0) {
			fprintf(stderr, "read signal %d\n", s);
			got++;
		}
	}
	return got;
}

static void *reader(void *arg)
{
	int *got = arg;
	for (int i = 0; i < 120; i++) {
		burn(0.005);
		*got += read_signals();
	}
	return NULL;
}

__attribute__((noinline)) static void blocked_part(void)
{
	burn(0.3);
}
/* not merged with blocked_part (identical code folding): the time differs */
__attribute__((noinline)) static void unblocked_part(void)
{
	burn(0.31);
}

static volatile int taken;

static void on_prof(int sig)
{
	(void)sig;
}

__attribute__((noinline)) static void moved_part(void)
{
	burn(0.4);
}

static void *mover(void *arg)
{
	(void)arg;
	sigset_t prof;
	sigemptyset(&prof);
	sigaddset(&prof, SIGPROF);
	pthread_sigmask(SIG_BLOCK, &prof, NULL);
	while (!taken)
		usleep(1000);
	pthread_sigmask(SIG_UNBLOCK, &prof, NULL);
	moved_part();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "moved") == 0) {
		pthread_t t;
		pthread_create(&t, NULL, mover, NULL);
		usleep(50000);
		signal(SIGPROF, on_prof);
		taken = 1;
		pthread_join(t, NULL);
		printf("unexpected 0\n");
		return 0;
	}
	const char *mode = argc > 1 ? argv[1] : "signalfd";
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	int got = 0;
	if (!strcmp(mode, "unblock")) {
		blocked_part();
		got = read_signals();
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		unblocked_part();
	} else if (!strcmp(mode, "thread")) {
		pthread_t t;
		pthread_create(&t, NULL, reader, &got);
		pthread_join(t, NULL);
	} else {
		use_fd = strcmp(mode, "sigtimedwait") != 0;
		reader(&got);
	}
	printf("unexpected %d\n", got);
	return got > 0;
}
