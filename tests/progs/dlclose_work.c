/* dlclose_work — runs ~0.4 s of work in a dlopened library (libclosed.so's closed_work),
 * dlcloses it, then works ~0.1 s in main_after_close(): the closed library's samples must
 * still be symbolized. */
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

static volatile unsigned long sink;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) static void main_after_close(void)
{
	double t0 = now();
	while (now() - t0 < 0.1)
		for (int i = 0; i < 100000; i++)
			sink = sink * 31 + (unsigned long)i;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	void (*work)(double) = (void (*)(double))dlsym(h, "closed_work");
	if (!work)
		return 1;
	work(0.4);
	dlclose(h);
	main_after_close();
	return 0;
}
