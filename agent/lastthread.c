/*
 * lastthread.c — the process's ends that skip exit()'s atexit handlers, where the agent
 * must write its files itself: quick_exit (below), and the last thread ending without exit()
 * — a main() that calls pthread_exit, or is cancelled, while its other threads finish.
 *
 * glibc ends the process with exit(0) when the thread count it keeps falls to zero — but
 * the agent's own threads (the collector, the live server) are threads too, so without
 * this the process outlived the program forever with only them left, and since they block
 * every signal, even SIGTERM stayed pending: only SIGKILL ended it, and no profile was
 * written. So the agent counts the program's threads (main, and every thread started
 * through its pthread_create), each holding a value of a key of its own, and, when the
 * last one ends, calls exit(0) on that thread the way glibc would: after the thread's key
 * destructors (the key's destructor sets its value again, so glibc calls it once more, in
 * the next round), so that atexit handlers and the agent's final write run as in a process
 * without the agent.
 *
 * The count decides only when to look: threads the agent did not see start (created before
 * its constructor, or by a raw clone) are not in it, so before exiting the thread checks
 * /proc/self/task for any task still running that is not the agent's (named "ctrace-",
 * which the agent's threads and the live server's handlers are): it waits up to 200 ms for
 * the program's other threads, which may still be finishing their own exit, and does not
 * exit while one remains.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/internal.h"
#include "agent/lastthread.h"
#include "libtrace/procfs.h"

static _Atomic long live;
static pthread_key_t key;
static int key_ok;

static void exit_if_last(void);

/* A counted thread's end (value 1): uncounted; the last one's value becomes 2, for one
 * more call after the other keys' destructors, which exits. */
static void thread_end(void *v)
{
	if (v == (void *)2) {
		int g = ct_tls_guard;
		ct_tls_guard = 1; /* the scan's allocations are the agent's */
		exit_if_last();
		ct_tls_guard = g;
	} else if (atomic_fetch_sub_explicit(&live, 1, memory_order_acq_rel) == 1) {
		pthread_setspecific(key, (void *)2);
	}
}

void ct_lt_init(void)
{
	key_ok = pthread_key_create(&key, thread_end) == 0;
	ct_lt_started(); /* main */
}

void ct_lt_started(void)
{
	if (key_ok && pthread_setspecific(key, (void *)1) == 0)
		atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
}

void ct_lt_fork_child(void)
{
	atomic_store_explicit(&live, 1, memory_order_relaxed); /* the forking thread */
}

/* Whether task tid of this process still runs program code: not a zombie (an exited main
 * thread stays one until the process ends), not gone, not one of the agent's threads. */
static int task_is_program(const char *tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%s/stat", tid);
	const char *f = ct_procfs_stat_fields(path, buf, sizeof(buf)); /* the state first */
	if (!f || *f == 'Z' || *f == 'X' || *f == 'x')
		return 0;
	return strncmp(strchr(buf, '(') + 1, "ctrace-", 7) != 0;
}

/* The number of tasks of this process other than the caller that run program code. */
static int other_program_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	char self[32];
	snprintf(self, sizeof(self), "%d", (int)ct_gettid());
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, self) != 0 &&
		    task_is_program(e->d_name))
			n++;
	closedir(d);
	return n;
}

static void exit_if_last(void)
{
	for (int i = 0; i < 200; i++) {
		int n = other_program_tasks();
		if (n < 0)
			return; /* no /proc: leave it to glibc, as before */
		if (n == 0) {
			ct_log("the program's last thread ended: exit(0), as glibc would");
			exit(0);
		}
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
}

/* quick_exit runs the at_quick_exit handlers and ends the process with libc's own _exit,
 * which the agent's _exit hook does not see: the files are written first (profiles were
 * rebuilt from the last checkpoint, or lost without one). */
CT_EXPORT void quick_exit(int status)
{
	static void (*real)(int);
	if (!real)
		*(void **)&real = ct_real("quick_exit");
	ct_shutdown();
	if (real)
		real(status);
	_exit(status);
}
