/* annot_misuse — every way include/ctrace/annotate.h can be misused, for test_annotate:
 * pops and ends without a push or begin, unknown and twice-ended task ids, NULL and 10 KB
 * names, nesting past the bound, more label values than the table holds, calls from a signal
 * handler that interrupts other calls, calls in a forked child and after the agent shut down (a
 * destructor). Also well-formed use: nested regions (CTRACE_REGION too), a task handed to another
 * thread, logs. Its output does not depend on whether the agent is there: test_annotate compares it
 * without the agent, under CTRACE_DISABLE=1 and under `ctrace record`. The file also
 * compiles as C99 (test_annotate builds it with -std=c99 -Wall -Wextra -Werror). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctrace/annotate.h"

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
	(void)sig;
	ctrace_region_begin("signal");
	ctrace_label_push("in", "signal");
	ctrace_label_pop();
	ctrace_region_end();
	ticks++;
}

static void *worker(void *arg)
{
	uint64_t task = *(uint64_t *)arg;
	ctrace_task_region_begin(task, "work");
	ctrace_log("worker", "handling task %llu", (unsigned long long)task);
	ctrace_region_end();
	ctrace_task_end(task);
	return NULL;
}

__attribute__((destructor)) static void after_exit(void)
{
	/* Runs after the agent's exit flush: ignored, never a crash. */
	ctrace_label_push("late", "yes");
	ctrace_region_begin("late");
	ctrace_region_end();
	ctrace_label_pop();
	ctrace_task_end(ctrace_task_begin("late"));
}

int main(void)
{
	static char big[10 * 1024];
	memset(big, 'x', sizeof big - 1);

	/* Unpaired calls, unknown tasks, NULL and huge arguments. */
	ctrace_label_pop();
	ctrace_region_end();
	ctrace_task_end(123456789);
	uint64_t t = ctrace_task_begin("twice");
	ctrace_task_end(t);
	ctrace_task_end(t);
	ctrace_label_push(NULL, "v");
	ctrace_label_pop();
	ctrace_label_push("k", NULL);
	ctrace_label_pop();
	ctrace_region_begin(NULL);
	ctrace_region_end();
	ctrace_task_end(ctrace_task_begin(NULL));
	ctrace_log(NULL, "no category");
	ctrace_label_push(big, big);
	ctrace_region_begin(big);
	ctrace_log(big, "%s", big);
	ctrace_region_end();
	ctrace_label_pop();

	/* Nesting past the bound, then back out. */
	char name[16];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "d%d", i);
		ctrace_region_begin(name);
		ctrace_label_push("depth", name);
	}
	for (int i = 0; i < 100; i++) {
		ctrace_label_pop();
		ctrace_region_end();
	}

	/* More distinct label values than the table holds (a request id as a label). */
	for (int i = 0; i < 17000; i++) {
		snprintf(name, sizeof name, "r%d", i);
		ctrace_label_push("request", name);
		ctrace_label_pop();
	}

	/* Well-formed: nested scope regions, a task handed to another thread. */
	{
		CTRACE_REGION("outer");
		CTRACE_REGION("inner");
		uint64_t task = ctrace_task_begin("request");
		pthread_t th;
		pthread_create(&th, NULL, worker, &task);
		pthread_join(th, NULL);
	}

	/* A signal handler that interrupts label and region calls. */
	signal(SIGALRM, on_alarm);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 300000 || ticks < 20; i++) {
		ctrace_label_push("loop", "yes");
		ctrace_region_begin("loop");
		ctrace_region_end();
		ctrace_label_pop();
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);

	/* A forked child inherits an open region and a label, and closes them. */
	ctrace_region_begin("before fork");
	ctrace_label_push("side", "parent");
	pid_t pid = fork();
	if (pid == 0) {
		ctrace_label_pop();
		ctrace_region_end();
		ctrace_region_end(); /* one too many */
		ctrace_task_end(ctrace_task_begin("child task"));
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	ctrace_label_pop();
	ctrace_region_end();
	printf("annot_misuse done, child exit %d\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	return 0;
}
