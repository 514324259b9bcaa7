/* loop_thread.h — a named thread that calls one function over and over until the program
 * sets loop_stop, for the long-running test programs (live_server, live_sigs). */
#ifndef CT_TEST_LOOP_THREAD_H
#define CT_TEST_LOOP_THREAD_H

#include <pthread.h>

static volatile int loop_stop;

struct loop_job {
	const char *name; /* the thread's name (pthread_setname_np) */
	void (*body)(void);
};

/* The thread start routine: arg is a const struct loop_job *. */
static void *loop_thread(void *arg)
{
	const struct loop_job *job = arg;
	pthread_setname_np(pthread_self(), job->name);
	while (!loop_stop)
		job->body();
	return NULL;
}

#endif
