/* exec_after.c — CPU time spent before an exec (test_fork_exec).
 *   exec_after PROG [ARGS...]  — 0.4 s of CPU in before_exec(), then execv(PROG, ARGS)
 *   exec_after fail            — 0.2 s in before_exec(), an exec that fails (ENOENT), then
 *                                0.2 s in after_failed_exec(); prints "went on" and exits 0 */
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

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "fail") == 0) {
		before_exec(0.2);
		execl("/nonexistent/program", "program", (char *)NULL);
		if (errno != ENOENT)
			return 2;
		after_failed_exec();
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
