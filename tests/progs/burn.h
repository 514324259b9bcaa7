/* burn.h — CPU work for the test programs: spins until the calling thread has used
 * `seconds` of CPU. Always inlined, so the profile charges it to its caller. */
#ifndef CT_TEST_BURN_H
#define CT_TEST_BURN_H

#include <time.h>

static volatile unsigned long burn_sink;

static inline __attribute__((always_inline)) void burn(double seconds)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do {
		for (int i = 0; i < 100000; i++)
			burn_sink = burn_sink * 31 + (unsigned long)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

#endif
