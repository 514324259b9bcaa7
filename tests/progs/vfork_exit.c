/* vfork_exit — works ~0.2 s in before_vfork(), vforks a child that fails to exec and
 * leaves with _exit(127) (the classic pattern), then works ~0.2 s in after_vfork(). The
 * agent must ignore the vfork child's _exit and keep recording the parent. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "burn.h"

__attribute__((noinline)) static void before_vfork(void)
{
	burn(0.2);
}
__attribute__((noinline)) static void after_vfork(void)
{
	burn(0.21);
}

int main(void)
{
	before_vfork();
	pid_t pid = vfork();
	if (pid == 0) {
		execl("/nonexistent/program", "program", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	after_vfork();
	printf("child status %d\n", WEXITSTATUS(status));
	return 0;
}
