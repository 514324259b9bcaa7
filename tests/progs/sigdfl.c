/* sigdfl — runs CMD with SIGINT and SIGQUIT at their default disposition (a shell's
 * background job inherits them ignored, which would hide what a terminal user sees). */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
