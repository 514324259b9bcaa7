/* own_sigprof — a program with its own CPU profiler: after 0.2 s of work it installs a
 * SIGPROF handler (sigaction, or signal() when given "signal") and arms
 * setitimer(ITIMER_PROF, 10 ms), burns 1 s of CPU in own_profiled(), disarms, and prints
 * how many SIGPROF it got. It also prints what sigaction reports for SIGPROF and SIGTERM
 * before it touches them (a program must see SIG_DFL there, not someone else's handler). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "burn.h"

static volatile sig_atomic_t ticks;

static void on_prof(int sig)
{
	(void)sig;
	ticks++;
}

static const char *what(int sig)
{
	struct sigaction a;
	sigaction(sig, NULL, &a);
	if (a.sa_flags & SA_SIGINFO)
		return "a handler";
	return a.sa_handler == SIG_DFL	 ? "default"
	       : a.sa_handler == SIG_IGN ? "ignored"
					 : "a handler";
}

__attribute__((noinline)) static void before(void)
{
	burn(0.2);
}
__attribute__((noinline)) static void own_profiled(void)
{
	burn(1.0);
}

int main(int argc, char **argv)
{
	printf("SIGPROF before: %s\nSIGTERM before: %s\n", what(SIGPROF), what(SIGTERM));
	before();
	if (argc > 1 && strcmp(argv[1], "signal") == 0) {
		signal(SIGPROF, on_prof);
	} else {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_prof;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGPROF, &sa, NULL);
	}
	printf("SIGPROF after: %s\n", what(SIGPROF));
	struct itimerval it = {{0, 10000}, {0, 10000}};
	setitimer(ITIMER_PROF, &it, NULL);
	own_profiled();
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_PROF, &off, NULL);
	printf("ticks %d\n", (int)ticks);
	return 0;
}
