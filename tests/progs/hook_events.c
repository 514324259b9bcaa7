#define _GNU_SOURCE
/* hook_events — the scheduler trace's hook records, each made a known number of times:
 * a joiner waiting for a thread's exit (1 unblock with the woken tid), a cond signal to a
 * waiter and a sem_post to a waiter (1 unblock each), a contended mutex handed over (>= 1),
 * names set with pthread_setname_np (on itself and on another thread) and with prctl, and
 * one thread left blocked forever in pthread_cond_wait inside stuck_forever() at exit, one
 * in a read(2) of a pipe inside stuck_reader(), and one in an epoll_wait of an empty set
 * inside poll_forever(), called by stuck_poller(). */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t never_mu = PTHREAD_MUTEX_INITIALIZER;
static sem_t sem, started;
static int ready;

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void *exiter(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "exiter");
	nap_ms(200); /* main is in pthread_join by then */
	return NULL;
}

static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!ready)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *sem_waiter(void *arg)
{
	(void)arg;
	sem_wait(&sem);
	return NULL;
}

static void *mutex_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

__attribute__((noinline)) static void stuck_forever(void)
{
	pthread_mutex_lock(&never_mu);
	for (;;)
		pthread_cond_wait(&never, &never_mu);
}

__attribute__((noinline)) static void *stuck_reader(void *arg)
{
	int *p = arg;
	char c;
	if (read(p[0], &c, 1) < 0) /* nobody ever writes */
		perror("read");
	return NULL;
}

__attribute__((noinline)) static void poll_forever(int ep)
{
	struct epoll_event ev;
	while (epoll_wait(ep, &ev, 1, -1) >= 0) /* nothing is ever added */
		;
	perror("epoll_wait");
}

__attribute__((noinline)) static void *stuck_poller(void *arg)
{
	poll_forever(epoll_create1(0));
	__asm__ volatile("" ::: "memory"); /* no tail call: stuck_poller stays on the stack */
	return arg;
}

static void *stuck(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "stuck", 0, 0, 0);
	sem_post(&started);
	stuck_forever();
	return NULL;
}

int main(void)
{
	pthread_t t;
	sem_init(&sem, 0, 0);
	sem_init(&started, 0, 0);

	pthread_create(&t, NULL, exiter, NULL);
	pthread_join(t, NULL);

	pthread_create(&t, NULL, cond_waiter, NULL);
	nap_ms(200);
	pthread_mutex_lock(&mu);
	ready = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);

	pthread_create(&t, NULL, sem_waiter, NULL);
	nap_ms(200);
	sem_post(&sem);
	pthread_join(t, NULL);

	pthread_mutex_lock(&mu);
	pthread_create(&t, NULL, mutex_waiter, NULL);
	nap_ms(200);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);

	static int p[2];
	if (pipe(p) < 0)
		return 1;
	pthread_t r;
	pthread_create(&r, NULL, stuck_reader, p);
	pthread_t e;
	pthread_create(&e, NULL, stuck_poller, NULL);
	pthread_t s;
	pthread_create(&s, NULL, stuck, NULL);
	sem_wait(&started); /* it has started and named itself */
	pthread_setname_np(s, "renamed");
	nap_ms(100); /* it is inside pthread_cond_wait by then */
	printf("hook_events done\n");
	return 0;
}
