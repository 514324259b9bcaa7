/* annot_labels — CPU and allocations under profile labels (include/ctrace/annotate.h), for
 * test_annotate. Two threads each run 0.66 s of CPU in 5 ms slices alternating between
 * phase=parse and phase=render (2:1; ANNOT_ROUNDS slices, default 126, for a longer run),
 * all under tenant=acme, with a short unlabelled
 * stretch; each thread measures its own CPU per phase with CLOCK_THREAD_CPUTIME_ID, and
 * the program prints the totals: "cpu_ms parse=P render=R none=N".
 * Four short threads first label a sampled allocation and exit (no "block SIGTRAP"
 * warning may come of that: the agent's own unwinder blocks signals as they end).
 * With argument "alloc": one 12345-byte malloc under phase=alloc_here and one 23456-byte
 * malloc with no label (the heap profile must carry the label on the first only).
 * With argument "lock": the main thread holds a mutex for 50 ms under who=holder while a
 * thread under who=waiter waits for it (block profile: the waiter's label; mutex profile:
 * the holder's).
 * With argument "blocked": the same CPU run, both threads with every signal blocked (as
 * servers that leave signals to one thread do): the perf engine's SIGTRAP cannot read
 * their labels, so their changes must be stamped instead.
 * With argument "trap": the same CPU run under the program's own SIGTRAP handler, which
 * each thread raises once per slice; prints "traps=N" (the agent's own SIGTRAPs must
 * never reach it) and whether a query of SIGTRAP's action returns the program's handler. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

static int block_all, raise_trap;
static atomic_int traps;

static void on_trap(int sig)
{
	(void)sig;
	atomic_fetch_add(&traps, 1);
}

/* One function per phase, so that a sample's stack tells its true phase (each stores its
 * own mark, so that the compiler cannot fold them into one). */
static volatile int phase_mark;

__attribute__((noinline)) static void burn_parse(double s)
{
	phase_mark = 1;
	burn(s);
	phase_mark = 0;
}

__attribute__((noinline)) static void burn_render(double s)
{
	phase_mark = 2;
	burn(s);
	phase_mark = 0;
}

static void *work(void *arg)
{
	split *s = arg;
	char buf[32];
	if (block_all) {
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	double t0 = thread_cpu();
	burn(0.03); /* unlabelled */
	double t1 = thread_cpu();
	s->none += t1 - t0;
	ctrace_label_push("tenant", "acme");
	const char *r = getenv("ANNOT_ROUNDS");
	int rounds = r && atoi(r) > 0 ? atoi(r) : 126;
	for (int i = 0; i < rounds; i++) {
		/* The value comes from a reused buffer: the agent must copy it. */
		snprintf(buf, sizeof buf, "%s", i % 3 == 2 ? "render" : "parse");
		ctrace_label_push("phase", buf);
		double a = thread_cpu();
		if (i % 3 == 2)
			burn_render(0.005);
		else
			burn_parse(0.005);
		double b = thread_cpu();
		if (raise_trap)
			raise(SIGTRAP);
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

/* A short thread that labels a sampled allocation (its stack captured by the agent) and
 * exits: the agent's unwinder blocks every signal as the thread ends, which is not the
 * program blocking SIGTRAP. */
static void *short_worker(void *arg)
{
	(void)arg;
	ctrace_label_push("phase", "warmup");
	char *volatile p = malloc(1 << 20);
	p[0] = 1;
	free(p);
	ctrace_label_pop();
	return NULL;
}

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
	block_all = argc > 1 && strcmp(argv[1], "blocked") == 0;
	raise_trap = argc > 1 && strcmp(argv[1], "trap") == 0;
	if (raise_trap)
		signal(SIGTRAP, on_trap);
	pthread_t t;
	for (int i = 0; i < 4; i++) {
		pthread_create(&t, NULL, short_worker, NULL);
		pthread_join(t, NULL);
	}
	split s[2] = {{0, 0, 0}, {0, 0, 0}};
	pthread_create(&t, NULL, work, &s[1]);
	work(&s[0]);
	pthread_join(t, NULL);
	printf("cpu_ms parse=%.0f render=%.0f none=%.0f\n", (s[0].parse + s[1].parse) * 1e3,
	       (s[0].render + s[1].render) * 1e3, (s[0].none + s[1].none) * 1e3);
	if (raise_trap) {
		struct sigaction now;
		sigaction(SIGTRAP, NULL, &now);
		printf("traps=%d handler=%s\n", atomic_load(&traps),
		       now.sa_handler == on_trap ? "mine" : "other");
	}
	return 0;
}
