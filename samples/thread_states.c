/*
 * thread_states — threads in every state the scheduler trace tells apart, with the
 * program's own measurements to compare against (`ctrace report --sched`).
 *
 * - spin-0..spin-N: more spinning threads than CPUs (one per CPU plus one), each burning
 *   CPU for a fixed wall time: they are running or runnable (preempted), never waiting;
 * - mutex-wait, cond-wait, sleeper, joiner, net-wait, io-wait: each blocks once, for a few
 *   hundred milliseconds, in one kind of wait (a mutex the main thread holds, a condition
 *   variable it signals, nanosleep, pthread_join of a sleeping thread, poll on a socket
 *   pair and read on a pipe the main thread writes to);
 * - stuck: waits on a condition variable nobody signals and is still blocked at exit,
 *   a leaked thread.
 *
 * Every thread names itself (pthread_setname_np) and prints one line with its own
 * clock_gettime measurements:
 *   ts: name=NAME tid=TID cpu_ns=N wall_ns=N wait=REASON wait_ns=N
 * (wait=none for the spinners; wait_ns=-1 for the stuck thread). With --odd-names one
 * spinner is named with a quote and a control character, to check that every view escapes
 * it. libc only.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPIN_MS 1200
#define WAIT_MS 300

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int signalled;
static int sock[2], pipefd[2];
static int odd_names;
static volatile uint64_t sink; /* the spinners' work, kept */

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

typedef struct {
	char name[16];
	const char *wait; /* reason name, "none" */
	int64_t begin, wait_ns;
} thread_info;

static void name_self(thread_info *t)
{
	pthread_setname_np(pthread_self(), t->name);
	t->begin = now_ns(CLOCK_MONOTONIC);
}

static void report(const thread_info *t)
{
	printf("ts: name=%s tid=%ld cpu_ns=%lld wall_ns=%lld wait=%s wait_ns=%lld\n",
	       odd_names && strchr(t->name, '"') ? "odd" : t->name, (long)syscall(SYS_gettid),
	       (long long)now_ns(CLOCK_THREAD_CPUTIME_ID),
	       (long long)(now_ns(CLOCK_MONOTONIC) - t->begin), t->wait, (long long)t->wait_ns);
	fflush(stdout);
}

static void *spin(void *arg)
{
	thread_info *t = arg;
	name_self(t);
	while (now_ns(CLOCK_MONOTONIC) - t->begin < (int64_t)SPIN_MS * 1000000)
		for (int i = 0; i < 10000; i++)
			sink += (uint64_t)i * i;
	report(t);
	return NULL;
}

/* Times one blocking call of the thread's kind. */
static void *waiter(void *arg)
{
	thread_info *t = arg;
	name_self(t);
	char c;
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	if (strcmp(t->wait, "mutex") == 0) {
		pthread_mutex_lock(&lock);
		t->wait_ns = now_ns(CLOCK_MONOTONIC) - t0;
		pthread_mutex_unlock(&lock);
	} else if (strcmp(t->wait, "cond") == 0) {
		pthread_mutex_lock(&cond_lock);
		t0 = now_ns(CLOCK_MONOTONIC);
		while (!signalled)
			pthread_cond_wait(&cond, &cond_lock);
		t->wait_ns = now_ns(CLOCK_MONOTONIC) - t0;
		pthread_mutex_unlock(&cond_lock);
	} else if (strcmp(t->wait, "sleep") == 0) {
		sleep_ms(WAIT_MS);
		t->wait_ns = now_ns(CLOCK_MONOTONIC) - t0;
	} else if (strcmp(t->wait, "join") == 0) {
		pthread_t j;
		thread_info *ji = calloc(1, sizeof(*ji));
		snprintf(ji->name, sizeof(ji->name), "joinee");
		ji->wait = "sleep";
		pthread_create(&j, NULL, waiter, ji);
		t0 = now_ns(CLOCK_MONOTONIC);
		pthread_join(j, NULL);
		t->wait_ns = now_ns(CLOCK_MONOTONIC) - t0;
		free(ji);
	} else if (strcmp(t->wait, "net") == 0) {
		struct pollfd p = {.fd = sock[1], .events = POLLIN};
		poll(&p, 1, -1);
		t->wait_ns = now_ns(CLOCK_MONOTONIC) - t0;
		if (read(sock[1], &c, 1) != 1)
			t->wait_ns = -2;
	} else if (strcmp(t->wait, "io") == 0) {
		if (read(pipefd[0], &c, 1) != 1)
			t0 = 0;
		t->wait_ns = now_ns(CLOCK_MONOTONIC) - t0;
	} else { /* stuck: waits for good */
		t->wait_ns = -1;
		report(t);
		pthread_mutex_lock(&cond_lock);
		for (;;)
			pthread_cond_wait(&never, &cond_lock);
	}
	report(t);
	return NULL;
}

static const char *const kinds[] = {"mutex", "cond", "sleep", "join", "net", "io", "stuck"};
static const char *const names[] = {"mutex-wait", "cond-wait", "sleeper", "joiner",
				    "net-wait",	  "io-wait",   "stuck"};
enum { NKINDS = sizeof(kinds) / sizeof(kinds[0]), MAX_SPIN = 64 };

int main(int argc, char **argv)
{
	odd_names = argc > 1 && strcmp(argv[1], "--odd-names") == 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nspin = ncpu < 1 ? 2 : ncpu + 1 > MAX_SPIN ? MAX_SPIN : (int)ncpu + 1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock) || pipe(pipefd)) {
		perror("thread_states");
		return 1;
	}
	pthread_setname_np(pthread_self(), "ts-main");
	static thread_info spinners[MAX_SPIN], waiters[NKINDS];
	pthread_t ts[MAX_SPIN], tw[NKINDS];
	pthread_mutex_lock(&lock); /* held for WAIT_MS while mutex-wait waits */
	for (int i = 0; i < nspin; i++) {
		snprintf(spinners[i].name, sizeof(spinners[i].name), "spin-%d", i);
		if (odd_names && i == 0)
			snprintf(spinners[i].name, sizeof(spinners[i].name), "s\"q\x01t");
		spinners[i].wait = "none";
		pthread_create(&ts[i], NULL, spin, &spinners[i]);
	}
	for (int i = 0; i < NKINDS; i++) {
		snprintf(waiters[i].name, sizeof(waiters[i].name), "%s", names[i]);
		waiters[i].wait = kinds[i];
		pthread_create(&tw[i], NULL, waiter, &waiters[i]);
	}
	sleep_ms(WAIT_MS);
	pthread_mutex_unlock(&lock);
	pthread_mutex_lock(&cond_lock);
	signalled = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&cond_lock);
	if (write(sock[0], "x", 1) != 1 || write(pipefd[1], "x", 1) != 1)
		perror("thread_states: write");
	for (int i = 0; i < nspin; i++)
		pthread_join(ts[i], NULL);
	for (int i = 0; i < NKINDS - 1; i++)
		pthread_join(tw[i], NULL);
	printf("ts: done, stuck thread left blocked\n");
	return 0;
}
