/* sig_count.c — a server's shutdown: the first SIGINT/SIGTERM/SIGHUP (or SIGQUIT, SIGUSR1,
 * SIGUSR2, SIGALRM, SIGWINCH: every signal `ctrace record` forwards) starts a graceful
 * stop (0.3 s), a second one during it would force a hard quit. Prints "ready" once its
 * handlers are in place, then "got N" (the signals it received) and exits N (1 when
 * graceful) — test_signal_forward counts how many copies of one kill reach it.
 * `sig_count ownpgrp` first leaves record's process group (setpgid, as `timeout` does). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	(void)sig;
	got++;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "ownpgrp") == 0)
		setpgid(0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	static const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
				   SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 1000 && !got; i++)
		usleep(10000);
	usleep(300000); /* the graceful stop, when a second signal would force a quit */
	printf("got %d\n", (int)got);
	return got;
}
