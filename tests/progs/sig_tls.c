/* sig_tls — a signal handler's sem_posts on a thread whose dynamic TLS vector is out of
 * date (test_hook_events). A fresh thread uses the thread-local data of a library that
 * main then dlcloses, and main dlopens N more libraries with thread-local data (more than
 * the vector's spare slots). The thread's handler then posts a semaphore that WAITERS
 * threads wait on, from as many call sites: the agent takes each unblock edge's stack in
 * the handler, and libunwind's first access to its thread-local data there finds the
 * vector out of date, which glibc then grows (realloc) and cleans (free of the closed
 * library's block). With the program's allocator: the signal may have interrupted it on
 * this thread, whose lock it then holds (a deadlock). Run with libcount_alloc.so preloaded
 * after the agent, which counts the allocator calls made while the handler runs.
 * usage: sig_tls TOUCHED_LIB LIB_FORMAT N — prints "handler allocator calls N" (-1
 * without libcount_alloc.so) and "posted N". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sem_waiters.h"

static atomic_int posted, fresh_ready, go, touched;
static void (*count_handler)(int);
static long (*count_calls)(void);
static int (*touch)(void);

static void on_usr1(int sig)
{
	(void)sig;
	if (count_handler)
		count_handler(1);
	int n = post_waiters();
	if (count_handler)
		count_handler(0);
	atomic_store(&posted, n);
}

static void *fresh(void *arg)
{
	(void)arg;
	atomic_store(&fresh_ready, 1);
	while (!atomic_load(&go))
		;
	touch(); /* the library's block in this thread's vector */
	atomic_store(&touched, 1);
	while (!atomic_load(&posted))
		;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: sig_tls TOUCHED_LIB LIB_FORMAT N\n");
		return 2;
	}
	*(void **)&count_handler = dlsym(RTLD_DEFAULT, "count_alloc_handler");
	*(void **)&count_calls = dlsym(RTLD_DEFAULT, "count_alloc_calls");
	pthread_t w[WAITERS], f;
	start_waiters(w, on_usr1);
	pthread_create(&f, NULL, fresh, NULL);
	while (!atomic_load(&fresh_ready))
		;
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h || !(*(void **)&touch = dlsym(h, "tls_mod_touch"))) {
		fprintf(stderr, "sig_tls: %s\n", dlerror());
		return 1;
	}
	atomic_store(&go, 1);
	while (!atomic_load(&touched))
		;
	dlclose(h);
	for (int i = 0, n = atoi(argv[3]); i < n; i++) {
		char name[4096];
		snprintf(name, sizeof(name), argv[2], i);
		if (!dlopen(name, RTLD_NOW)) {
			fprintf(stderr, "sig_tls: %s\n", dlerror());
			return 1;
		}
	}
	pthread_kill(f, SIGUSR1);
	pthread_join(f, NULL);
	join_waiters(w);
	printf("handler allocator calls %ld\nposted %d\n", count_calls ? count_calls() : -1L,
	       atomic_load(&posted));
	return 0;
}
