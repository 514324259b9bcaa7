/*
 * mutex_kinds — every mutex type and error case the lock hooks pass through: recursive,
 * errorcheck, robust (owner died, made consistent or not), priority-inheritance, normal
 * under contention, trylock, timed and clock locks with bad arguments, and a fork while
 * another thread waits. Prints one line per call with its result (and errno), so that a
 * run under ctrace can be compared with a bare run line by line (test_mutex_kinds.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The errno name of a result ("0" for success; its message if it has no name). */
static const char *name(int rc)
{
	const char *n = rc ? strerrorname_np(rc) : "0";
	return n ? n : strerror(rc);
}

/* Prints what a call returned and that errno is untouched (set to a marker before). */
#define CALL(expr)                                                                                 \
	do {                                                                                       \
		errno = 12345;                                                                     \
		int rc_ = (expr);                                                                  \
		printf("%-58s %s%s\n", #expr, name(rc_), errno == 12345 ? "" : " errno!");         \
	} while (0)

static void init(pthread_mutex_t *m, int type, int robust, int protocol)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, type);
	pthread_mutexattr_setrobust(&a, robust);
	pthread_mutexattr_setprotocol(&a, protocol);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

static pthread_mutex_t rec, chk, rob, pi, normal;

static void *lock_and_die(void *arg)
{
	pthread_mutex_lock(arg);
	return NULL; /* exits holding the robust mutex */
}

static void *unlock_other(void *arg)
{
	(void)arg;
	CALL(pthread_mutex_unlock(&chk));
	CALL(pthread_mutex_trylock(&normal));
	return NULL;
}

static pthread_barrier_t locked;

/* Locks arg, lets main go on (which then finds it held), holds it 50 ms. */
static void *hold_briefly(void *arg)
{
	pthread_mutex_lock(arg);
	pthread_barrier_wait(&locked);
	usleep(50000);
	pthread_mutex_unlock(arg);
	return NULL;
}

/* Waits for arg, which main holds, after letting main go on. */
static void *wait_for(void *arg)
{
	pthread_barrier_wait(&locked);
	pthread_mutex_lock(arg);
	pthread_mutex_unlock(arg);
	return NULL;
}

static void robust_case(int make_consistent)
{
	pthread_t t;
	pthread_create(&t, NULL, lock_and_die, &rob);
	pthread_join(t, NULL);
	CALL(pthread_mutex_lock(&rob));
	if (make_consistent)
		CALL(pthread_mutex_consistent(&rob));
	CALL(pthread_mutex_unlock(&rob));
	CALL(pthread_mutex_lock(&rob));
	if (make_consistent)
		CALL(pthread_mutex_unlock(&rob));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_barrier_init(&locked, NULL, 2);
	struct timespec bad = {0, 1000000000}, past = {0, 0};

	init(&rec, PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
	CALL(pthread_mutex_lock(&rec));
	CALL(pthread_mutex_lock(&rec));
	CALL(pthread_mutex_trylock(&rec));
	CALL(pthread_mutex_timedlock(&rec, &past));
	CALL(pthread_mutex_unlock(&rec));
	CALL(pthread_mutex_unlock(&rec));
	CALL(pthread_mutex_unlock(&rec));
	CALL(pthread_mutex_unlock(&rec));
	CALL(pthread_mutex_unlock(&rec)); /* not held any more */

	init(&chk, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
	init(&normal, PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
	CALL(pthread_mutex_unlock(&chk));
	CALL(pthread_mutex_lock(&chk));
	CALL(pthread_mutex_lock(&chk));
	CALL(pthread_mutex_timedlock(&chk, &past));
	CALL(pthread_mutex_clocklock(&chk, CLOCK_MONOTONIC, &past));
	CALL(pthread_mutex_lock(&normal));
	pthread_t t;
	pthread_create(&t, NULL, unlock_other, NULL);
	pthread_join(t, NULL);
	CALL(pthread_mutex_unlock(&normal));
	CALL(pthread_mutex_unlock(&chk));

	/* Held by another thread: bad time stamps and clocks, expired deadlines. */
	pthread_create(&t, NULL, hold_briefly, &normal);
	pthread_barrier_wait(&locked);
	CALL(pthread_mutex_trylock(&normal));
	CALL(pthread_mutex_timedlock(&normal, &bad));
	CALL(pthread_mutex_clocklock(&normal, CLOCK_PROCESS_CPUTIME_ID, &past));
	CALL(pthread_mutex_clocklock(&normal, CLOCK_REALTIME, &past));
	CALL(pthread_mutex_lock(&normal)); /* waits ~50 ms for hold_briefly */
	CALL(pthread_mutex_unlock(&normal));
	pthread_join(t, NULL);

	init(&rob, PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ROBUST, PTHREAD_PRIO_NONE);
	robust_case(1);
	init(&rob, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_ROBUST, PTHREAD_PRIO_NONE);
	robust_case(0);

	init(&pi, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_INHERIT);
	CALL(pthread_mutex_lock(&pi));
	CALL(pthread_mutex_lock(&pi));
	CALL(pthread_mutex_unlock(&pi));
	CALL(pthread_mutex_unlock(&pi));
	pthread_create(&t, NULL, hold_briefly, &pi);
	pthread_barrier_wait(&locked);
	CALL(pthread_mutex_trylock(&pi));
	CALL(pthread_mutex_lock(&pi)); /* waits ~50 ms for hold_briefly */
	CALL(pthread_mutex_unlock(&pi));
	pthread_join(t, NULL);

	/* A fork while another thread waits for a lock: the child's locks work. */
	pthread_mutex_lock(&normal);
	pthread_t waiter;
	pthread_create(&waiter, NULL, wait_for, &normal);
	pthread_barrier_wait(&locked);
	usleep(10000); /* most likely waiting by now; the child must not care either way */
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
		int ok = pthread_mutex_lock(&m) == 0 && pthread_mutex_unlock(&m) == 0 &&
			 pthread_mutex_unlock(&normal) == 0;
		_exit(ok ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	printf("child after fork: %s\n",
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
	CALL(pthread_mutex_unlock(&normal));
	pthread_join(waiter, NULL);
	return 0;
}
