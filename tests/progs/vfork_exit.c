/* vfork_exit — works ~0.2 s in before_vfork(), vforks a child that fails to exec and
 * leaves with _exit(127) (the classic pattern), then works ~0.2 s in after_vfork(). The
 * agent must ignore the vfork child's _exit and keep recording the parent. */
#include <stdio.h>
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

__attribute__((noinline)) static void before_vfork(void) { burn(0.2); }
__attribute__((noinline)) static void after_vfork(void) { burn(0.21); }

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
