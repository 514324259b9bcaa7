/* edges MODE — small cases for the output's rough edges:
 *   nest     forks 5 children, each forks a grandchild that execs /bin/true
 *   clone    runs work on a thread made with a raw clone(CLONE_THREAD) and waits for it
 *   perfmap  publishes /tmp/perf-<pid>.map as a JIT does (removed again by the test) */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "burn.h"

static _Atomic int clone_done;

static int raw_thread(void *arg)
{
	(void)arg;
	burn(0.05);
	atomic_store(&clone_done, 1);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "nest") == 0) {
		for (int i = 0; i < 5; i++) {
			pid_t c = fork();
			if (c == 0) {
				pid_t g = fork();
				if (g == 0) {
					execl("/bin/true", "true", (char *)NULL);
					_exit(127);
				}
				waitpid(g, NULL, 0);
				_exit(0);
			}
			waitpid(c, NULL, 0);
		}
	} else if (strcmp(mode, "clone") == 0) {
		size_t sz = 1 << 20;
		char *stack =
			mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (stack == MAP_FAILED)
			return 1;
		int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			    CLONE_SYSVSEM;
		if (clone(raw_thread, stack + sz, flags, NULL) < 0)
			return 1;
		while (!atomic_load(&clone_done))
			sched_yield();
	} else if (strcmp(mode, "perfmap") == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		FILE *f = fopen(path, "w");
		if (!f)
			return 1;
		fprintf(f, "7f0000001000 40 LazyCompile:*hot_js_function app.js:1\n");
		fclose(f);
		printf("%d\n", (int)getpid());
	} else {
		return 2;
	}
	return 0;
}
