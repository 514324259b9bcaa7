/*
 * sig_exit_race.c — a terminating signal sent to the process just before it exits
 * (test_signal_flush). A thread spins with the signal unblocked; main blocks it, sends it
 * to the process (the spinning thread is the only one that can take it) and exits at
 * once with status 18. Without the agent the kernel ends the process as the signal is
 * sent, since its action is the default: it dies of the signal. The agent's flush handler
 * makes the signal non-fatal until a thread takes it, and main's exit used to win: exit
 * 18, or the handler's flush cut short.
 * usage: sig_exit_race SIGNO
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static void *spin(void *arg)
{
	(void)arg;
	for (;;)
		__asm__ volatile("");
	return NULL;
}

int main(int argc, char **argv)
{
	int sig = argc > 1 ? atoi(argv[1]) : SIGTERM;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_t t;
	pthread_create(&t, NULL, spin, NULL);
	pthread_sigmask(SIG_BLOCK, &s, NULL); /* only main blocks it */
	usleep(50000);
	kill(getpid(), sig);
	exit(18);
}
