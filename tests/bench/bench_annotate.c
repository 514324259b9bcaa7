/* bench_annotate — what include/ctrace/annotate.h costs the program, run by
 * bench_annotate.sh bare and under the agent. `bench_annotate MODE` with MODE region
 * (ctrace_region_begin + ctrace_region_end), label (ctrace_label_push + ctrace_label_pop)
 * or clock (clock_gettime(CLOCK_MONOTONIC), the baseline the driver divides by) prints
 * "MODE NS" — ns per pair, the slope of the thread's CPU time between batches of 1500 and
 * 3000 pairs (fixed costs cancel). The batches are separated by 5 ms sleeps so that the
 * agent's collector drains its rings: a full ring drops records, which is cheaper than
 * recording them and would flatter the figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctrace/annotate.h"

static double thread_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static volatile long sink;

static void run(const char *mode, int n)
{
	if (strcmp(mode, "region") == 0) {
		for (int i = 0; i < n; i++) {
			ctrace_region_begin("bench");
			ctrace_region_end();
		}
	} else if (strcmp(mode, "label") == 0) {
		for (int i = 0; i < n; i++) {
			ctrace_label_push("endpoint", "/api/bench");
			ctrace_label_pop();
		}
	} else {
		struct timespec t;
		for (int i = 0; i < n; i++) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			sink += t.tv_nsec;
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "region";
	int batches = argc > 2 ? atoi(argv[2]) : 200;
	double small = 0, big = 0;
	struct timespec pause = {0, 5000000};
	run(mode, 3000); /* warm: first lookups, TLS, lazy binding */
	for (int b = 0; b < batches; b++) {
		int n = b % 2 ? 3000 : 1500;
		nanosleep(&pause, NULL);
		double t0 = thread_cpu();
		run(mode, n);
		double t = thread_cpu() - t0;
		if (n == 3000)
			big += t;
		else
			small += t;
	}
	/* batches/2 batches of each size: the extra 1500 pairs of a big batch. */
	printf("%s %.2f\n", mode, (big - small) / (batches / 2) / 1500 * 1e9);
	return 0;
}
