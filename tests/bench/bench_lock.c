/*
 * bench_lock — the lock hooks' cost, measured by running this bare and with the agent
 * preloaded, alternately, from tests/bench/bench_lock.sh.
 *
 *   bench_lock interposed N     N uncontended lock/unlock pairs on one mutex, one thread,
 *                               in rounds of 20000 through the program's calls (so through
 *                               the agent's hooks when it is preloaded), each followed by
 *                               a round calling libc's functions directly; prints
 *                               "added_ns X ns_per_pair Y": the median over rounds of the
 *                               difference, and the best round of the program's calls.
 *                               The calling thread binds itself to one CPU.
 *   bench_lock interposed_many N  the same, the pairs taking 4096 mutexes in turn, as a
 *                               program with many locks does
 *   bench_lock pairs N          N pairs in one call of lock_pairs(), for instruction
 *                               counts (valgrind --tool=callgrind --toggle-collect=lock_pairs)
 *   bench_lock timedout N       N pthread_mutex_timedlock calls with an expired deadline
 *                               on a mutex another thread holds: each is one contention
 *                               the agent times and records (waiter side), without any
 *                               scheduling noise; prints "ns_per_call X"
 *   bench_lock contended T N    T threads each doing N lock/unlock pairs around a short
 *                               critical section on one mutex; prints "cpu_ns X", the CPU
 *                               time of the whole process (wall time on a shared machine
 *                               is too noisy to compare)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t counter;
static long iterations;

/* The mutexes the uncontended loops take in turn: lock alone, or the MANY (index masked
 * with spread). */
#define MANY 4096
static pthread_mutex_t many[MANY];
static pthread_mutex_t *locks = &lock;
static long spread;

/* The measured loop, a function of its own so that callgrind can count it alone. */
__attribute__((noinline)) void lock_pairs(long n);
__attribute__((noinline)) void lock_pairs(long n)
{
	for (long i = 0; i < n; i++) {
		pthread_mutex_t *m = &locks[i & spread];
		pthread_mutex_lock(m);
		counter++;
		pthread_mutex_unlock(m);
	}
}

/* The same loop calling libc's functions directly, past any interposer. */
static int (*direct_lock)(pthread_mutex_t *);
static int (*direct_unlock)(pthread_mutex_t *);

__attribute__((noinline)) static void direct_pairs(long n)
{
	for (long i = 0; i < n; i++) {
		pthread_mutex_t *m = &locks[i & spread];
		direct_lock(m);
		counter++;
		direct_unlock(m);
	}
}

#define ROUND 20000L /* pairs per round: a fraction of a millisecond, rarely preempted */

static double round_ns(void (*loop)(long))
{
	uint64_t t0 = now_ns();
	loop(ROUND);
	return (double)(now_ns() - t0) / (double)ROUND;
}

static double hooked_round(void)
{
	return round_ns(lock_pairs);
}

static double direct_round(void)
{
	return round_ns(direct_pairs);
}

/* Binds the calling thread, and it alone, to the last CPU it may run on: the measured
 * loops never migrate, while the agent's collector thread stays free to run elsewhere. */
static void pin_self(void)
{
	cpu_set_t set;
	if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		return;
	for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--) {
		if (CPU_ISSET(cpu, &set)) {
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
			return;
		}
	}
}

/* Rounds of the program's loop and of the direct one, alternately, in this process: the
 * median over rounds of their difference is what interposition adds to a pair, measured
 * under the same conditions within a millisecond. */
static int interposed(long n)
{
	pin_self();
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	direct_lock = libc ? (int (*)(pthread_mutex_t *))dlsym(libc, "pthread_mutex_lock") : NULL;
	direct_unlock =
		libc ? (int (*)(pthread_mutex_t *))dlsym(libc, "pthread_mutex_unlock") : NULL;
	if (!direct_lock || !direct_unlock)
		return 1;
	long rounds = n / ROUND > 0 ? n / ROUND : 1;
	return print_added(rounds, hooked_round, direct_round, "ns_per_pair");
}

/* Makes the loops take the MANY mutexes in turn. */
static void use_many(void)
{
	for (int i = 0; i < MANY; i++)
		pthread_mutex_init(&many[i], NULL);
	locks = many;
	spread = MANY - 1;
}

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < iterations; i++) {
		pthread_mutex_lock(&lock);
		for (int k = 0; k < 200; k++) /* ~0.2 us inside */
			counter++;
		pthread_mutex_unlock(&lock);
		sched_yield(); /* lets a woken waiter in: the lock changes hands often */
	}
	return NULL;
}

static pthread_barrier_t held, done;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	pthread_barrier_wait(&held);
	pthread_barrier_wait(&done);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static double timedout(long n)
{
	pthread_t t;
	pthread_barrier_init(&held, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	pthread_create(&t, NULL, holder, NULL);
	pthread_barrier_wait(&held);
	struct timespec past = {-1, 0}; /* glibc times out without a system call */
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (pthread_mutex_timedlock(&lock, &past) != ETIMEDOUT)
			abort();
	double per = (double)(now_ns() - t0) / (double)n;
	pthread_barrier_wait(&done);
	pthread_join(t, NULL);
	return per;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "interposed") == 0)
		return interposed(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "interposed_many") == 0) {
		use_many();
		return interposed(atol(argv[2]));
	}
	if (argc == 3 && strcmp(argv[1], "pairs") == 0) {
		lock_pairs(atol(argv[2]));
		printf("pairs %ld\n", atol(argv[2]));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "timedout") == 0) {
		printf("ns_per_call %.2f\n", timedout(atol(argv[2])));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "contended") == 0) {
		int nthreads = atoi(argv[2]);
		pthread_t th[64];
		if (nthreads < 1 || nthreads > 64)
			return 2;
		iterations = atol(argv[3]);
		for (int i = 0; i < nthreads; i++)
			pthread_create(&th[i], NULL, worker, NULL);
		for (int i = 0; i < nthreads; i++)
			pthread_join(th[i], NULL);
		struct timespec cpu;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		printf("cpu_ns %llu\n", (unsigned long long)cpu.tv_sec * 1000000000u +
						(unsigned long long)cpu.tv_nsec);
		return 0;
	}
	fprintf(stderr, "usage: bench_lock interposed N | interposed_many N | pairs N | "
			"timedout N | contended THREADS N\n");
	return 2;
}
