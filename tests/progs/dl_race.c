/* dl_race — dlopen and dlclose on several threads at once, while library constructors
 * dlopen and dlclose too (test_cpu_edges): usage dl_race LIBCTOR LIBWORK THREADS ROUNDS.
 * Each thread, ROUNDS times, opens LIBWORK, works ~1 ms in it and closes it; every other
 * round it also opens and closes LIBCTOR, whose constructor opens and closes LIBWORK
 * (tests/progs/lib/ctor_dl.c). A thread's dlclose then overlaps another's constructor,
 * which holds the loader's lock: the agent's dlclose hook once deadlocked there. With
 * THREADS 0 the main thread alone opens LIBCTOR ROUNDS times. Prints "done N". */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char *libctor, *libwork;
static int rounds;

static int one_round(int i)
{
	void *h = dlopen(libwork, RTLD_NOW | RTLD_LOCAL);
	void (*work)(double) = h ? (void (*)(double))dlsym(h, "closed_work") : NULL;
	if (!work)
		return 0;
	work(0.001);
	if (i & 1) {
		void *c = dlopen(libctor, RTLD_NOW);
		if (!c)
			return 0;
		dlclose(c);
	}
	dlclose(h);
	return 1;
}

static void *worker(void *arg)
{
	long done = 0;
	for (int i = 0; i < rounds; i++)
		done += one_round(i + (int)(long)arg);
	return (void *)done;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	libctor = argv[1];
	libwork = argv[2];
	int nt = atoi(argv[3]);
	rounds = atoi(argv[4]);
	setenv("CT_CTOR_LIB", libwork, 1);
	long done = 0;
	if (nt == 0) {
		for (int i = 0; i < rounds; i++) {
			void *c = dlopen(libctor, RTLD_NOW);
			done += c != NULL;
			if (c)
				dlclose(c);
		}
		printf("done %ld\n", done);
		return 0;
	}
	pthread_t t[16];
	nt = nt > 16 ? 16 : nt;
	for (long i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < nt; i++) {
		void *r;
		pthread_join(t[i], &r);
		done += (long)r;
	}
	printf("done %ld\n", done);
	return 0;
}
