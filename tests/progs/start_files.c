/* start_files — what the agent has opened by the time main runs (test_fds): prints
 * "trace_open 1" when $CTRACE_OUT/trace.ctr already exists, and "low_fds N", the number of
 * open descriptors from 3 to 999 (the agent keeps its own at the top of the range; one it
 * were opening now would sit at the lowest free number, where a daemon reopening
 * /dev/null after closing everything expects its own). With "fork", a forked child prints
 * the same of itself right after fork returns (its trace is $CTRACE_OUT/<pid>/trace.ctr). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *who, const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/trace.ctr", dir);
	int trace_open = access(path, F_OK) == 0;
	int low = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (fd >= 3 && fd < 1000 && fd != dirfd(d))
			low++;
	}
	if (d)
		closedir(d);
	printf("%s trace_open %d\n%s low_fds %d\n", who, trace_open, who, low);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *out = getenv("CTRACE_OUT");
	out = out ? out : ".";
	if (argc > 1 && strcmp(argv[1], "fork") == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			char dir[4096];
			snprintf(dir, sizeof(dir), "%s/%d", out, (int)getpid());
			report("child", dir);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		return 0;
	}
	report("main", out);
	return 0;
}
