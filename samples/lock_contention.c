/*
 * lock_contention — one global lock guarding a slow critical section, then the same work
 * with the lock sharded per thread.
 *
 * Phase 1: THREADS workers each run ROUNDS rounds of slow_critical_section() under one
 * global mutex, so all but one of them wait most of the time. Phase 2 does the same work
 * under a lock per worker: nobody waits. The program measures around its own lock calls
 * how long its threads waited and prints it (measured_wait_ns=...), so a profiler's mutex
 * and block profiles can be checked against it: the holder's slow_critical_section should
 * top the mutex profile and contended_lock the block profile.
 *
 * Output: the measured wait and a checksum line (deterministic). Runs in well under 1 s.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum { THREADS = 4, ROUNDS = 40, WORK_NS = 1000000 /* 1 ms per critical section */ };

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t shard_lock[THREADS];
static uint64_t shared_counter;
static uint64_t wait_ns[THREADS];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Burns WORK_NS of CPU while the caller holds a lock, then releases it. */
__attribute__((noinline)) static void slow_critical_section(pthread_mutex_t *m)
{
	uint64_t end = now_ns() + WORK_NS;
	while (now_ns() < end)
		shared_counter++;
	pthread_mutex_unlock(m);
	__asm__ volatile("" ::: "memory"); /* keeps the unlock a call from this function */
}

/* Takes m, adding the time it waited to *waited. */
__attribute__((noinline)) static void contended_lock(pthread_mutex_t *m, uint64_t *waited)
{
	uint64_t t0 = now_ns();
	pthread_mutex_lock(m);
	*waited += now_ns() - t0;
}

/* Same work under the worker's own lock: never contended. */
__attribute__((noinline)) static void sharded_section(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
	uint64_t end = now_ns() + WORK_NS / 4;
	while (now_ns() < end)
		__asm__ volatile("" ::: "memory");
	pthread_mutex_unlock(m);
}

static void *global_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < ROUNDS; i++) {
		contended_lock(&global_lock, &wait_ns[id]);
		slow_critical_section(&global_lock);
	}
	return NULL;
}

static void *sharded_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < ROUNDS; i++)
		sharded_section(&shard_lock[id]);
	return NULL;
}

static void run(void *(*fn)(void *))
{
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, fn, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
}

int main(void)
{
	for (int i = 0; i < THREADS; i++)
		pthread_mutex_init(&shard_lock[i], NULL);
	run(global_worker);
	run(sharded_worker);
	uint64_t total = 0;
	for (int i = 0; i < THREADS; i++)
		total += wait_ns[i];
	printf("measured_wait_ns=%llu\n", (unsigned long long)total);
	printf("critical sections: %d global, %d sharded\n", THREADS * ROUNDS, THREADS * ROUNDS);
	return shared_counter > 0 ? 0 : 1;
}
