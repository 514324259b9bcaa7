/* tls_resize — a thread's TLS vector grows at its first access to a library dlopened after
 * it started: glibc's loader reallocs it (test_hook_events). The thread first allocates
 * from 40 call chains, so that at heap rate 1 the agent captures with unw_backtrace (past
 * the first cursor walks). A sampled realloc of the vector captured a stack whose
 * libunwind TLS access re-entered the loader's update before the new vector was in place,
 * and the program crashed. usage: tls_resize LIB_FORMAT N (N > 14 libraries with
 * thread-local data, as libtls_mod.so) — prints "touched N". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int warm, warmed, go;
static int (*touch)(void);

static __attribute__((noinline)) void alloc_at(int d)
{
	if (d > 0) {
		alloc_at(d - 1);
		__asm__ volatile("" ::: "memory");
		return;
	}
	void *volatile p = malloc(100);
	free(p);
}

static void *worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&warm))
		;
	for (int i = 0; i < 40; i++)
		alloc_at(i);
	atomic_store(&warmed, 1);
	while (!atomic_load(&go))
		;
	return (void *)(long)touch();
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: tls_resize LIB_FORMAT N\n");
		return 2;
	}
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	atomic_store(&warm, 1);
	while (!atomic_load(&warmed))
		;
	for (int i = 0, n = atoi(argv[2]); i < n; i++) {
		char name[4096];
		snprintf(name, sizeof(name), argv[1], i);
		void *h = dlopen(name, RTLD_NOW);
		if (!h || !(*(void **)&touch = dlsym(h, "tls_mod_touch"))) {
			fprintf(stderr, "tls_resize: %s\n", dlerror());
			return 1;
		}
	}
	atomic_store(&go, 1);
	void *r;
	pthread_join(t, &r);
	printf("touched %ld\n", (long)r);
	return 0;
}
