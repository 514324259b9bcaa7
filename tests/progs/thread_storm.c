/* thread_storm — N short-lived threads (argv[1], default 400), four alive at a time, each
 * allocating, taking a mutex and burning MS milliseconds of its own CPU (argv[2], default
 * 1: far less than a sampling period at 99 Hz) in storm_work(); prints
 * "threads_cpu_ns X", the CPU time the threads used, summed (each reads its own clock just
 * before it ends). With a NAME (argv[3]) the main thread first renames itself to it, so
 * that every thread of the storm is born with that name. Under the agent it also prints
 * "collector_wakeups N": the voluntary context switches of its collector thread so far. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "burn.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned long long cpu_sum;
static double work_s = 0.001;

__attribute__((noinline)) static void *storm_work(void *arg)
{
	void *p = malloc(256);
	pthread_mutex_lock(&mu);
	burn_sink += (unsigned long)p;
	pthread_mutex_unlock(&mu);
	burn(work_s);
	free(p);
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	atomic_fetch_add(&cpu_sum, (unsigned long long)t.tv_sec * 1000000000ull +
					   (unsigned long long)t.tv_nsec);
	return arg;
}

/* The voluntary context switches of the thread named ctrace-collect, -1 if none. */
static long collector_wakeups(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	long n = -1;
	while (d && n < 0 && (e = readdir(d))) {
		char path[300], line[128] = "";
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		int is_collector =
			fgets(line, sizeof(line), f) && strcmp(line, "ctrace-collect\n") == 0;
		fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		if (!is_collector || !(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
				break;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 400;
	if (argc > 2)
		work_s = atof(argv[2]) / 1000;
	if (argc > 3 && pthread_setname_np(pthread_self(), argv[3]) != 0)
		return 1;
	for (int i = 0; i < n; i += 4) {
		pthread_t t[4];
		for (int k = 0; k < 4; k++)
			if (pthread_create(&t[k], NULL, storm_work, NULL) != 0)
				return 1;
		for (int k = 0; k < 4; k++)
			pthread_join(t[k], NULL);
	}
	printf("threads_cpu_ns %llu\n", (unsigned long long)atomic_load(&cpu_sum));
	long w = collector_wakeups();
	if (w >= 0)
		printf("collector_wakeups %ld\n", w);
	return 0;
}
