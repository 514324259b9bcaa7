/* exec_in_handler.c — execv from a SIGALRM handler (execve is async-signal-safe) that
 * interrupts a malloc/free loop: about half the time inside malloc, holding its lock.
 * Prints "exec'd from the handler" (through /bin/echo) and exits 0; test_fork_exec runs it
 * under record, where an exec hook that wrote files on this thread deadlocked. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static void on_alarm(int sig)
{
	(void)sig;
	char *argv[] = {"echo", "exec'd from the handler", NULL};
	execv("/bin/echo", argv);
	_exit(55);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	ualarm(100000, 0);
	for (;;) {
		void *p[32];
		for (int i = 0; i < 32; i++)
			p[i] = malloc((size_t)i * 123 + 1);
		for (int i = 0; i < 32; i++)
			free(p[i]);
	}
}
