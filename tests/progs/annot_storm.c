/* annot_storm — regions from many threads and from one burst, for test_annotate_trace:
 * WAVES waves of WIDTH threads (each thread exits before the next wave starts, so the
 * agent hands its per-thread rings to new threads) each record PER "storm" regions; then
 * the main thread records NAMES regions each named differently, more names than the
 * agent interns (the rest carry their string), and BURST "burst" regions back to back,
 * more records than a thread's own ring holds, so that the rest take the shared rings.
 * Prints "storm THREADS REGIONS", "burst REGIONS" and "names NAMES": the trace must hold
 * exactly that many. */
#include <pthread.h>
#include <stdio.h>

#include "ctrace/annotate.h"

enum { WAVES = 15, WIDTH = 10, PER = 200, BURST = 30000, NAMES = 3000 };

static void *storm(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER; i++) {
		ctrace_region_begin("storm");
		ctrace_region_end();
	}
	return NULL;
}

int main(void)
{
	for (int w = 0; w < WAVES; w++) {
		pthread_t t[WIDTH];
		for (int i = 0; i < WIDTH; i++)
			if (pthread_create(&t[i], NULL, storm, NULL) != 0)
				return 1;
		for (int i = 0; i < WIDTH; i++)
			pthread_join(t[i], NULL);
	}
	for (int i = 0; i < NAMES; i++) {
		char name[32];
		snprintf(name, sizeof name, "name%d", i);
		ctrace_region_begin(name);
		ctrace_region_end();
	}
	for (int i = 0; i < BURST; i++) {
		ctrace_region_begin("burst");
		ctrace_region_end();
	}
	printf("storm %d %d\nburst %d\nnames %d\n", WAVES * WIDTH, WAVES * WIDTH * PER, BURST,
	       NAMES);
	return 0;
}
