/* handler_capture — a signal handler that allocates while the agent captures a stack on
 * the same thread (test_hook_events). The main thread only takes a contended mutex, from
 * call chains of varying depth (the agent captures each wait's stack), and never
 * allocates; another thread signals it every ~30 µs, and the handler calls malloc,
 * memalign and aligned_alloc with an alignment of 4 (which glibc accepts). Inside a
 * capture the agent serves the loader's allocations from its arena (heapdivert.c), and
 * only those of the loader, the C library and libunwind: the handler must get its own
 * allocator's blocks (malloc(1)'s usable size as main's, measured outside any capture).
 * usage: handler_capture [ITERATIONS] — prints "handled N memalign_null N aligned_null N
 * other_usable N". */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int done;
static pthread_t main_thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter, handled, memalign_null, aligned_null, other_usable;
static size_t usable_1; /* malloc(1)'s usable size, from main */

static void on_usr1(int sig)
{
	(void)sig;
	int saved = errno;
	void *b = malloc(1);
	other_usable += b && malloc_usable_size(b) != usable_1;
	free(b);
	void *p = memalign(4, 32);
	memalign_null += !p;
	free(p);
	p = aligned_alloc(4, 32);
	aligned_null += !p;
	free(p);
	handled++;
	errno = saved;
}

static void *signaller(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		pthread_kill(main_thread, SIGUSR1);
		usleep(30);
	}
	return NULL;
}

static void *holder(void *arg)
{
	(void)arg;
	while (!atomic_load(&done)) {
		pthread_mutex_lock(&mu);
		for (volatile int k = 0; k < 2000; k++)
			;
		counter++;
		pthread_mutex_unlock(&mu);
		sched_yield();
	}
	return NULL;
}

/* A contended lock at depth d: a new call chain for the agent's stack cache. */
static __attribute__((noinline)) void lock_at(int d)
{
	if (d > 0) {
		lock_at(d - 1);
		__asm__ volatile("" ::: "memory");
		return;
	}
	pthread_mutex_lock(&mu);
	counter++;
	pthread_mutex_unlock(&mu);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	void *b = malloc(1);
	usable_1 = malloc_usable_size(b);
	free(b);
	main_thread = pthread_self();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t s, h;
	pthread_create(&h, NULL, holder, NULL);
	pthread_create(&s, NULL, signaller, NULL);
	unsigned seed = 1;
	for (long i = 0; i < n; i++)
		lock_at(rand_r(&seed) % 80);
	atomic_store(&done, 1);
	pthread_join(s, NULL);
	pthread_join(h, NULL);
	printf("handled %ld memalign_null %ld aligned_null %ld other_usable %ld\n", handled,
	       memalign_null, aligned_null, other_usable);
	return 0;
}
