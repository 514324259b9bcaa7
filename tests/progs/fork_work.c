/* fork_work — the parent burns ~0.3 s in parent_work(), forks a child that burns ~0.3 s
 * in child_work() and exits, and waits for it. Prints the child's pid. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static inline __attribute__((always_inline)) void burn(double seconds)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do {
		for (int i = 0; i < 100000; i++)
			sink = sink * 31 + (unsigned long)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

__attribute__((noinline)) static void parent_work(void) { burn(0.3); }
__attribute__((noinline)) static void child_work(void) { burn(0.25); }

int main(void)
{
	parent_work();
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		child_work();
		exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("%d\n", (int)pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
