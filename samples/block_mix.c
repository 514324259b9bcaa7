/*
 * block_mix — one of each way a thread waits: a condition wait, a join, sleeps, a
 * semaphore, a reader waiting for a writer, a spin lock, and lock waits that time out.
 *
 * Each step prints one deterministic line: what it did and the return value / errno it
 * got, so a run under a profiler can be compared line by line with a plain run. Timed
 * waits also check that they lasted about as long as asked (timing ok / timing BAD).
 * Also exercised: errorcheck-mutex errors, invalid time stamps, and a thread cancelled in
 * a condition wait whose cleanup handler releases the mutex. Exit status 0 when every
 * result is the expected one. Runs in about 0.5 s.
 */
#define _GNU_SOURCE /* the clock variants of the timed waits */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The absolute time ms from now on clock clk. */
static struct timespec deadline(clockid_t clk, int ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_nsec += (long)ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* The errno name of a result ("0" for success; its message if it has no name). */
static const char *err_name(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";
	return n ? n : strerror(e);
}

static void expect(const char *what, int got, int want)
{
	printf("%s: %s\n", what, err_name(got));
	if (got != want) {
		printf("  expected %s\n", err_name(want));
		failures++;
	}
}

/* A timed wait of `ms` that returned after elapsed ms: sane if not early, not very late. */
static void expect_timing(const char *what, uint64_t elapsed, int ms)
{
	int ok = elapsed + 1 >= (uint64_t)ms && elapsed < (uint64_t)ms + 400;
	printf("%s timing %s\n", what, ok ? "ok" : "BAD");
	failures += !ok;
}

/* ---- condition variable ---- */
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void *signaller(void *arg)
{
	(void)arg;
	sleep_ms(40);
	pthread_mutex_lock(&cond_lock);
	ready = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&cond_lock);
	return NULL;
}

__attribute__((noinline)) static void wait_for_ready(void)
{
	pthread_mutex_lock(&cond_lock);
	while (!ready)
		pthread_cond_wait(&cond, &cond_lock);
	pthread_mutex_unlock(&cond_lock);
}

static void cond_steps(void)
{
	pthread_t t;
	pthread_create(&t, NULL, signaller, NULL);
	wait_for_ready();
	printf("cond_wait: woken, ready=%d\n", ready);
	pthread_join(t, NULL);

	pthread_mutex_lock(&cond_lock);
	uint64_t t0 = now_ms();
	struct timespec dl = deadline(CLOCK_REALTIME, 30);
	expect("cond_timedwait", pthread_cond_timedwait(&cond, &cond_lock, &dl), ETIMEDOUT);
	expect_timing("cond_timedwait", now_ms() - t0, 30);
	t0 = now_ms();
	dl = deadline(CLOCK_MONOTONIC, 20);
	expect("cond_clockwait", pthread_cond_clockwait(&cond, &cond_lock, CLOCK_MONOTONIC, &dl),
	       ETIMEDOUT);
	expect_timing("cond_clockwait", now_ms() - t0, 20);
	pthread_mutex_unlock(&cond_lock);
}

/* ---- join and sleeps ---- */
static void *sleeper(void *arg)
{
	(void)arg;
	usleep(20000);
	struct timespec ts = deadline(CLOCK_MONOTONIC, 20);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	sleep(0);
	return (void *)42;
}

__attribute__((noinline)) static void join_sleeper(void)
{
	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, sleeper, NULL);
	expect("pthread_join", pthread_join(t, &ret), 0);
	printf("joined: returned %ld\n", (long)ret);
	struct timespec bad = {0, -1};
	errno = 0;
	int rc = nanosleep(&bad, NULL);
	printf("nanosleep(invalid): %d %s\n", rc, err_name(errno));
	expect("clock_nanosleep(bad clock)",
	       clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &bad, NULL), EINVAL);
}

/* ---- semaphore ---- */
static sem_t sem;

static void *poster(void *arg)
{
	(void)arg;
	sleep_ms(30);
	sem_post(&sem);
	return NULL;
}

__attribute__((noinline)) static void sem_steps(void)
{
	pthread_t t;
	sem_init(&sem, 0, 0);
	pthread_create(&t, NULL, poster, NULL);
	expect("sem_wait", sem_wait(&sem) == 0 ? 0 : errno, 0);
	pthread_join(t, NULL);
	uint64_t t0 = now_ms();
	struct timespec dl = deadline(CLOCK_REALTIME, 20);
	errno = 0;
	expect("sem_timedwait", sem_timedwait(&sem, &dl) == 0 ? 0 : errno, ETIMEDOUT);
	expect_timing("sem_timedwait", now_ms() - t0, 20);
	dl.tv_nsec = 2000000000;
	sem_post(&sem);
	expect("sem_timedwait(invalid)", sem_timedwait(&sem, &dl) == 0 ? 0 : errno, EINVAL);
	expect("sem_clockwait(bad clock)",
	       sem_clockwait(&sem, CLOCK_PROCESS_CPUTIME_ID, &dl) == 0 ? 0 : errno, EINVAL);
	dl = deadline(CLOCK_MONOTONIC, 10);
	expect("sem_clockwait(available)",
	       sem_clockwait(&sem, CLOCK_MONOTONIC, &dl) == 0 ? 0 : errno, 0);
	errno = 0;
	expect("sem_trywait(empty)", sem_trywait(&sem) == 0 ? 0 : errno, EAGAIN);
	sem_destroy(&sem);
}

/* ---- rwlock ---- */
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void *writer(void *arg)
{
	pthread_rwlock_wrlock(&rw);
	*(int *)arg = 1;
	sleep_ms(40);
	pthread_rwlock_unlock(&rw);
	return NULL;
}

__attribute__((noinline)) static void rwlock_steps(void)
{
	pthread_t t;
	volatile int started = 0;
	pthread_create(&t, NULL, writer, (void *)&started);
	while (!started)
		sched_yield();
	expect("rwlock_rdlock", pthread_rwlock_rdlock(&rw), 0);
	uint64_t t0 = now_ms();
	struct timespec dl = deadline(CLOCK_REALTIME, 20);
	expect("rwlock_timedwrlock", pthread_rwlock_timedwrlock(&rw, &dl), ETIMEDOUT);
	expect_timing("rwlock_timedwrlock", now_ms() - t0, 20);
	dl = deadline(CLOCK_MONOTONIC, 10);
	expect("rwlock_clockrdlock(held by self)",
	       pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &dl), 0);
	pthread_rwlock_unlock(&rw);
	dl.tv_nsec = -5;
	expect("rwlock_timedrdlock(invalid)", pthread_rwlock_timedrdlock(&rw, &dl), EINVAL);
	pthread_rwlock_unlock(&rw);
	pthread_join(t, NULL);
}

/* ---- spin lock (the waiter burns its CPU) ---- */
static pthread_spinlock_t spin;

static void *spin_holder(void *arg)
{
	pthread_spin_lock(&spin);
	*(volatile int *)arg = 1;
	sleep_ms(20);
	pthread_spin_unlock(&spin);
	return NULL;
}

__attribute__((noinline)) static void spin_steps(void)
{
	pthread_t t;
	volatile int started = 0;
	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	pthread_create(&t, NULL, spin_holder, (void *)&started);
	while (!started)
		sched_yield();
	expect("spin_trylock(held)", pthread_spin_trylock(&spin), EBUSY);
	expect("spin_lock", pthread_spin_lock(&spin), 0);
	pthread_spin_unlock(&spin);
	pthread_join(t, NULL);
	pthread_spin_destroy(&spin);
}

/* ---- mutexes that time out, and error cases ---- */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;

static void *holder(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&held);
	pthread_barrier_wait(&barrier);
	sleep_ms(120);
	pthread_mutex_unlock(&held);
	return NULL;
}

__attribute__((noinline)) static void timed_lock_steps(void)
{
	pthread_t t;
	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&t, NULL, holder, NULL);
	pthread_barrier_wait(&barrier);
	uint64_t t0 = now_ms();
	struct timespec dl = deadline(CLOCK_REALTIME, 30);
	expect("mutex_timedlock", pthread_mutex_timedlock(&held, &dl), ETIMEDOUT);
	expect_timing("mutex_timedlock", now_ms() - t0, 30);
	t0 = now_ms();
	dl = deadline(CLOCK_MONOTONIC, 20);
	expect("mutex_clocklock", pthread_mutex_clocklock(&held, CLOCK_MONOTONIC, &dl), ETIMEDOUT);
	expect_timing("mutex_clocklock", now_ms() - t0, 20);
	expect("mutex_clocklock(bad clock)",
	       pthread_mutex_clocklock(&held, CLOCK_THREAD_CPUTIME_ID, &dl), EINVAL);
	expect("mutex_trylock(held)", pthread_mutex_trylock(&held), EBUSY);
	expect("mutex_lock(after holder)", pthread_mutex_lock(&held), 0);
	pthread_mutex_unlock(&held);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&barrier);

	pthread_mutexattr_t a;
	pthread_mutex_t ec;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&ec, &a);
	expect("errorcheck unlock(unlocked)", pthread_mutex_unlock(&ec), EPERM);
	expect("errorcheck lock", pthread_mutex_lock(&ec), 0);
	expect("errorcheck relock", pthread_mutex_lock(&ec), EDEADLK);
	dl = deadline(CLOCK_REALTIME, 10);
	expect("errorcheck timedlock(self)", pthread_mutex_timedlock(&ec, &dl), EDEADLK);
	expect("errorcheck unlock", pthread_mutex_unlock(&ec), 0);
	pthread_mutex_destroy(&ec);
	pthread_mutexattr_destroy(&a);
}

/* ---- cancellation inside a condition wait ---- */
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancel_cond = PTHREAD_COND_INITIALIZER;
static int cleanup_ran;

static void unlock_cleanup(void *m)
{
	cleanup_ran = 1;
	pthread_mutex_unlock(m);
}

static void *cancellee(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cancel_lock);
	pthread_cleanup_push(unlock_cleanup, &cancel_lock);
	for (;;)
		pthread_cond_wait(&cancel_cond, &cancel_lock);
	pthread_cleanup_pop(1);
	return NULL;
}

static void *sem_cancellee(void *arg)
{
	pthread_mutex_lock(&cancel_lock); /* not a cancellation point: waits for the cancel */
	pthread_mutex_unlock(&cancel_lock);
	sem_wait(arg); /* available, but a cancellation request is pending: never returns */
	return (void *)1;
}

__attribute__((noinline)) static void cancel_steps(void)
{
	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, cancellee, NULL);
	sleep_ms(20);
	pthread_cancel(t);
	pthread_join(t, &ret);
	printf("cancel in cond_wait: %s, cleanup %s\n",
	       ret == PTHREAD_CANCELED ? "canceled" : "returned", cleanup_ran ? "ran" : "skipped");
	expect("mutex free after cancel", pthread_mutex_trylock(&cancel_lock), 0);
	pthread_mutex_unlock(&cancel_lock);

	sem_t s;
	sem_init(&s, 0, 1);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_mutex_lock(&cancel_lock); /* held until the cancel has been sent */
	pthread_create(&t, &a, sem_cancellee, &s);
	pthread_cancel(t);
	pthread_mutex_unlock(&cancel_lock);
	pthread_join(t, &ret);
	printf("cancel pending at sem_wait: %s\n",
	       ret == PTHREAD_CANCELED ? "canceled" : "returned");
	pthread_attr_destroy(&a);
	sem_destroy(&s);
}

int main(void)
{
	cond_steps();
	join_sleeper();
	sem_steps();
	rwlock_steps();
	spin_steps();
	timed_lock_steps();
	cancel_steps();
	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
