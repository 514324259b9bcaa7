/*
 * bench_children.c — N children, each forked and reaped in turn: with "exit" a child
 * _exits at once, with "exec" it execs /bin/true. Prints "children N wall_ns cpu_ns": the
 * wall time of the whole loop and the CPU time of this process and its children (agent
 * threads included). bench_children.sh takes slopes over two N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ns_of(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000000LL + (long long)tv.tv_usec * 1000LL;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 3 ? argv[1] : "";
	int exec = strcmp(mode, "exec") == 0, sh = strcmp(mode, "sh") == 0;
	if (!exec && !sh && strcmp(mode, "exit") != 0) {
		fprintf(stderr, "usage: bench_children exit|exec|sh N\n");
		return 2;
	}
	int n = atoi(argv[2]);
	char loop[128];
	snprintf(loop, sizeof(loop), "i=0; while [ $i -lt %d ]; do /bin/true; i=$((i + 1)); done",
		 n);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < (sh ? 1 : n); i++) {
		pid_t p = fork();
		if (p < 0)
			return 1;
		if (p == 0) {
			if (sh)
				execl("/bin/sh", "sh", "-c", loop, (char *)NULL);
			if (exec)
				execl("/bin/true", "true", (char *)NULL);
			_exit(exec || sh ? 127 : 0);
		}
		int st;
		if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	long long cpu = ns_of(self.ru_utime) + ns_of(self.ru_stime) + ns_of(kids.ru_utime) +
			ns_of(kids.ru_stime);
	printf("children %d %lld %lld\n", n,
	       (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec), cpu);
	return 0;
}
