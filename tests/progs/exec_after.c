/* exec_after.c — CPU time spent before an exec (test_fork_exec).
 *   exec_after PROG [ARGS...]  — 0.4 s of CPU in before_exec(), then execv(PROG, ARGS)
 *   exec_after fail BAD        — 0.2 s in before_exec(), an exec that fails (ENOENT), 0.2 s
 *                                in after_failed_exec(), an exec of BAD (a runnable file of
 *                                no known format: ENOEXEC), 0.2 s in after_enoexec();
 *                                prints "went on" and exits 0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "burn.h"

__attribute__((noinline)) static void before_exec(double s)
{
	burn(s);
}
/* not merged with before_exec (identical code folding): the time differs */
__attribute__((noinline)) static void after_failed_exec(void)
{
	burn(0.21);
}

__attribute__((noinline)) static void after_enoexec(void)
{
	burn(0.22);
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "fail") == 0) {
		before_exec(0.2);
		execl("/nonexistent/program", "program", (char *)NULL);
		if (errno != ENOENT)
			return 2;
		after_failed_exec();
		execl(argv[2], argv[2], (char *)NULL);
		if (errno != ENOEXEC)
			return 3;
		after_enoexec();
		printf("went on\n");
		return 0;
	}
	if (argc < 2)
		return 2;
	before_exec(0.4);
	execv(argv[1], argv + 1);
	perror("execv");
	return 127;
}
