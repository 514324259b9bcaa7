/* dl_loop — THREADS threads dlopen and dlclose a library each in a tight loop while the
 * main thread burns SECONDS of CPU (test_cpu_edges): usage dl_loop PATTERN THREADS
 * SECONDS, thread i's library being PATTERN with %d replaced by i (copies of one file:
 * each dlclose then unmaps its library). Some thread is nearly always inside dlclose: the agent's
 * collector must still get its turn at the module lock (it once waited for seconds while the rings
 * overflowed). Prints "cycles>0" when the threads made progress. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "burn.h"

static const char *pattern;
static volatile int stop;

static void *cycle(void *arg)
{
	long n = 0;
	char lib[4096];
	snprintf(lib, sizeof(lib), pattern, (int)(long)arg);
	while (!stop) {
		void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
		if (h && dlclose(h) == 0)
			n++;
	}
	return (void *)n;
}

__attribute__((noinline)) static void main_burn(double seconds)
{
	burn(seconds);
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	pattern = argv[1];
	int nt = atoi(argv[2]);
	pthread_t t[32];
	nt = nt > 32 ? 32 : nt;
	for (int i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, cycle, (void *)(long)i);
	main_burn(atof(argv[3]));
	stop = 1;
	long total = 0;
	for (int i = 0; i < nt; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)r;
	}
	printf("cycles>0 %d\n", total > 0);
	return 0;
}
