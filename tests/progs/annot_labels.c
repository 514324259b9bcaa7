/* annot_labels — CPU and allocations under profile labels (include/ctrace/annotate.h), for
 * test_annotate. Two threads each run 0.66 s of CPU in 15 ms slices alternating between
 * phase=parse and phase=render (2:1), all under tenant=acme, with a short unlabelled
 * stretch; each thread measures its own CPU per phase with CLOCK_THREAD_CPUTIME_ID, and
 * the program prints the totals: "cpu_ms parse=P render=R none=N".
 * With argument "alloc": one 12345-byte malloc under phase=alloc_here and one 23456-byte
 * malloc with no label (the heap profile must carry the label on the first only).
 * With argument "lock": the main thread holds a mutex for 50 ms under who=holder while a
 * thread under who=waiter waits for it (block profile: the waiter's label; mutex profile:
 * the holder's). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctrace/annotate.h"

#include "burn.h"

static double thread_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct {
	double parse, render, none;
} split;

static void *work(void *arg)
{
	split *s = arg;
	char buf[32];
	double t0 = thread_cpu();
	burn(0.03); /* unlabelled */
	double t1 = thread_cpu();
	s->none += t1 - t0;
	ctrace_label_push("tenant", "acme");
	for (int i = 0; i < 42; i++) {
		/* The value comes from a reused buffer: the agent must copy it. */
		snprintf(buf, sizeof buf, "%s", i % 3 == 2 ? "render" : "parse");
		ctrace_label_push("phase", buf);
		double a = thread_cpu();
		burn(0.015);
		double b = thread_cpu();
		ctrace_label_pop();
		if (i % 3 == 2)
			s->render += b - a;
		else
			s->parse += b - a;
	}
	ctrace_label_pop();
	return NULL;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *waiter(void *arg)
{
	(void)arg;
	ctrace_label_push("who", "waiter");
	pthread_mutex_lock(&mu);
	pthread_mutex_unlock(&mu);
	ctrace_label_pop();
	return NULL;
}

static void lock_mode(void)
{
	ctrace_label_push("who", "holder");
	pthread_mutex_lock(&mu);
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	struct timespec d = {0, 50000000};
	nanosleep(&d, NULL);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	ctrace_label_pop();
	printf("annot_labels lock done\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "lock") == 0) {
		lock_mode();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "alloc") == 0) {
		ctrace_label_push("phase", "alloc_here");
		char *volatile p = malloc(12345);
		ctrace_label_pop();
		char *volatile q = malloc(23456);
		free(p);
		free(q);
		printf("annot_labels alloc done\n");
		return 0;
	}
	split s[2] = {{0, 0, 0}, {0, 0, 0}};
	pthread_t t;
	pthread_create(&t, NULL, work, &s[1]);
	work(&s[0]);
	pthread_join(t, NULL);
	printf("cpu_ms parse=%.0f render=%.0f none=%.0f\n", (s[0].parse + s[1].parse) * 1e3,
	       (s[0].render + s[1].render) * 1e3, (s[0].none + s[1].none) * 1e3);
	return 0;
}
