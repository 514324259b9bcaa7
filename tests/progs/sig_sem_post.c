/* sig_sem_post — a signal handler's sem_posts on a thread that has made no hooked call yet
 * (test_hook_events). WAITERS threads wait in sem_wait; a fresh thread spins until main
 * signals it; the handler posts the semaphore WAITERS times, from as many call sites. With
 * the trace on, the agent records each post's unblock edge with a stack taken inside the
 * handler: the thread's first captures (libunwind's unw_backtrace takes over from the
 * ninth, and its first call on a thread allocated libunwind's thread-local block). None
 * may call malloc there: the signal may have interrupted malloc, whose lock the handler's
 * thread then holds (a deadlock). This program defines malloc, calloc and realloc (passing
 * to glibc's __libc_* functions) to count the calls its handler's thread makes while the
 * handler runs, and prints "handler mallocs N" and "posted N". */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void __libc_free(void *);

static __thread volatile sig_atomic_t in_handler; /* this thread runs the handler */
static atomic_int handler_mallocs;

void *malloc(size_t n)
{
	if (in_handler)
		atomic_fetch_add(&handler_mallocs, 1);
	return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
	if (in_handler)
		atomic_fetch_add(&handler_mallocs, 1);
	return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
	if (in_handler)
		atomic_fetch_add(&handler_mallocs, 1);
	return __libc_realloc(p, n);
}
void free(void *p)
{
	__libc_free(p);
}

#include "sem_waiters.h"

static atomic_int posted, fresh_ready;

static void on_usr1(int sig)
{
	(void)sig;
	in_handler = 1;
	int n = post_waiters();
	in_handler = 0;
	atomic_store(&posted, n);
}

static void *fresh(void *arg)
{
	(void)arg;
	atomic_store(&fresh_ready, 1);
	while (!atomic_load(&posted))
		; /* no hooked call before the signal */
	return NULL;
}

int main(void)
{
	pthread_t w[WAITERS], f;
	start_waiters(w, on_usr1);
	pthread_create(&f, NULL, fresh, NULL);
	while (!atomic_load(&fresh_ready))
		;
	pthread_kill(f, SIGUSR1);
	pthread_join(f, NULL);
	join_waiters(w);
	printf("handler mallocs %d\nposted %d\n", atomic_load(&handler_mallocs),
	       atomic_load(&posted));
	return 0;
}
