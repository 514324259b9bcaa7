/*
 * live_server.c — a long-running "server" for the live-profile tests (test_live.sh): for
 * SECONDS (argv[1], default 6) it keeps one thread spinning in live_hot_spin, two threads
 * contending for a mutex that live_lock_holder holds for 2 ms at a time, and the main
 * thread allocating blocks it keeps (live_keep_alloc) until the end — or until the file
 * argv[2] exists, when given. It prints one fixed line at the end, so a test can check
 * that serving requests changed nothing it does.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"
#include "loop_thread.h"
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void live_hot_spin(void)
{
	burn(0.05);
}

static const struct loop_job hot = {"hot", live_hot_spin};

__attribute__((noinline)) static void live_lock_holder(void)
{
	pthread_mutex_lock(&mu);
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL);
	pthread_mutex_unlock(&mu);
}

static const struct loop_job locker = {"locker", live_lock_holder};

static void **kept;
static size_t nkept;

__attribute__((noinline)) static void live_keep_alloc(void)
{
	void *p = malloc(64 * 1024);
	memset(p, 1, 64 * 1024);
	kept[nkept++] = p;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 6;
	const char *stop_file = argc > 2 ? argv[2] : NULL;
	kept = calloc(100000, sizeof(void *));
	pthread_t t[3];
	pthread_create(&t[0], NULL, loop_thread, (void *)&hot);
	pthread_create(&t[1], NULL, loop_thread, (void *)&locker);
	pthread_create(&t[2], NULL, loop_thread, (void *)&locker);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (nkept < 100000)
			live_keep_alloc();
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 < seconds &&
		 !(stop_file && access(stop_file, F_OK) == 0));
	loop_stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("live_server: done, %s\n", nkept > 0 ? "kept blocks" : "nothing kept");
	return 0;
}
