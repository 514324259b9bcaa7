/* fork_work — the parent burns ~0.3 s in parent_work(), forks a child that burns ~0.25 s
 * in child_work() and exits, and waits for it. Prints the child's pid. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "burn.h"

__attribute__((noinline)) static void parent_work(void)
{
	burn(0.3);
}
__attribute__((noinline)) static void child_work(void)
{
	burn(0.25);
}

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
