/* sem_waiters.h — WAITERS threads blocked in sem_wait, and a signal handler's posts that
 * wake them from as many call sites (sig_sem_post, sig_tls): with the trace on, the agent
 * records each post's unblock edge with a stack it captures inside the handler. */
#ifndef CT_TESTS_SEM_WAITERS_H
#define CT_TESTS_SEM_WAITERS_H

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define WAITERS 12

static sem_t waiters_sem;

static void *sem_waiter(void *arg)
{
	(void)arg;
	sem_wait(&waiters_sem);
	return NULL;
}

/* Installs handler for SIGUSR1, starts the waiters and gives them time to block. */
static void start_waiters(pthread_t w[WAITERS], void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigaction(SIGUSR1, &sa, NULL);
	sem_init(&waiters_sem, 0, 0);
	for (int i = 0; i < WAITERS; i++)
		pthread_create(&w[i], NULL, sem_waiter, NULL);
	usleep(200000);
}

/* One post per waiter, each from a call site of its own (the agent's stack cache knows
 * none of them): the posts that succeeded. Async-signal-safe. */
static int post_waiters(void)
{
	int n = 0;
#define POST n += sem_post(&waiters_sem) == 0;
	POST POST POST POST POST POST POST POST POST POST POST POST
#undef POST
		return n;
}

static void join_waiters(pthread_t w[WAITERS])
{
	for (int i = 0; i < WAITERS; i++)
		pthread_join(w[i], NULL);
}

#endif
