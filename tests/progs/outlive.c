/* outlive — a child that outlives the command (test_record_cli): forks a child that burns
 * CHILD seconds in outliving_child() and exits, prints the child's pid, sleeps PARENT
 * seconds and exits without waiting for it.
 * usage: outlive CHILD PARENT */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "burn.h"

__attribute__((noinline)) static void outliving_child(double s)
{
	burn(s);
}

int main(int argc, char **argv)
{
	double child = argc > 1 ? atof(argv[1]) : 1, parent = argc > 2 ? atof(argv[2]) : 0;
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		outliving_child(child);
		return 0;
	}
	printf("%d\n", (int)p);
	fflush(stdout);
	usleep((useconds_t)(parent * 1e6));
	return 0;
}
