/*
 * annot_regions.c — known regions and tasks for test_annotate_trace: the main thread runs
 * ROUNDS "outer" regions, each holding an "inner" region that burns about 2 ms of CPU and
 * then sleeping about 1 ms inside "outer"; an acceptor thread begins TASKS "request" tasks,
 * each in an "accept" region, and hands them alternately to two workers, who serve each
 * in a "serve" region of that task (burning 1 ms), log it and end the task. The program
 * measures every region itself (CLOCK_MONOTONIC around begin and end) and prints per name
 * "NAME COUNT TOTAL_NS" (accept and serve add the total measured inside: INSIDE_NS), then
 * "tasks N".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"
#include "ctrace/annotate.h"

enum { ROUNDS = 40, TASKS = 24 };

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t task[TASKS];
	int n, taken, done;
} queue;

static queue qs[2] = {{PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0},
		      {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0}};
static uint64_t serve_ns[2], accept_ns;
/* The same measured inside each region (after begin, before end): a preemption between
 * the program's clock read and the call lies outside it. */
static uint64_t serve_in_ns[2], accept_in_ns;
static int served[2];

static void *worker(void *arg)
{
	int w = (int)(intptr_t)arg;
	queue *q = &qs[w];
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (q->taken == q->n && !q->done)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->taken == q->n) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		uint64_t task = q->task[q->taken++];
		pthread_mutex_unlock(&q->mu);
		uint64_t t0 = now();
		ctrace_task_region_begin(task, "serve");
		uint64_t i0 = now();
		burn(0.001);
		ctrace_log("serve", "worker %d served a request", w);
		serve_in_ns[w] += now() - i0;
		ctrace_region_end();
		serve_ns[w] += now() - t0;
		served[w]++;
		ctrace_task_end(task);
	}
}

static void *acceptor(void *arg)
{
	(void)arg;
	for (int i = 0; i < TASKS; i++) {
		uint64_t t0 = now();
		uint64_t task = ctrace_task_begin("request");
		ctrace_task_region_begin(task, "accept");
		uint64_t i0 = now();
		burn(0.0005);
		accept_in_ns += now() - i0;
		ctrace_region_end();
		accept_ns += now() - t0;
		queue *q = &qs[i % 2];
		pthread_mutex_lock(&q->mu);
		q->task[q->n++] = task;
		pthread_cond_signal(&q->cv);
		pthread_mutex_unlock(&q->mu);
		usleep(2000);
	}
	for (int w = 0; w < 2; w++) {
		pthread_mutex_lock(&qs[w].mu);
		qs[w].done = 1;
		pthread_cond_signal(&qs[w].cv);
		pthread_mutex_unlock(&qs[w].mu);
	}
	return NULL;
}

int main(void)
{
	pthread_t a, w[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, worker, (void *)(intptr_t)i);
	pthread_create(&a, NULL, acceptor, NULL);
	uint64_t outer = 0, inner = 0;
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t0 = now();
		ctrace_region_begin("outer");
		uint64_t t1 = now();
		ctrace_region_begin("inner");
		burn(0.002);
		ctrace_region_end();
		inner += now() - t1;
		usleep(1000);
		ctrace_region_end();
		outer += now() - t0;
	}
	pthread_join(a, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	printf("outer %d %llu\ninner %d %llu\n", ROUNDS, (unsigned long long)outer, ROUNDS,
	       (unsigned long long)inner);
	printf("accept %d %llu %llu\nserve %d %llu %llu\n", TASKS, (unsigned long long)accept_ns,
	       (unsigned long long)accept_in_ns, served[0] + served[1],
	       (unsigned long long)(serve_ns[0] + serve_ns[1]),
	       (unsigned long long)(serve_in_ns[0] + serve_in_ns[1]));
	printf("tasks %d\n", TASKS);
	return 0;
}
