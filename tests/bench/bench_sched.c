/*
 * bench_sched — two threads playing ping-pong through one mutex and condition variable,
 * ROUNDS round trips (default 100000): every turn blocks one thread and wakes the other,
 * about two context switches per turn. The program bench_sched.sh records with the agent's
 * scheduler trace and with `perf sched record`.
 *
 * `bench_sched ROUNDS switches` first opens, for itself, the perf events the agent's sched
 * mode opens (a dummy software event per CPU, inherited, with context_switch and task
 * records stamped with tid and CLOCK_MONOTONIC time, a 1 MiB ring each, woken when half
 * full) and a thread that empties the rings without reading them: what the kernel's switch
 * records cost the program, with no hook, no collector work and no file — the floor under
 * the agent's added time.
 */
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long turn, turns;

/* Player me (0 or 1) moves when turn % 2 == me, until every turn is played. */
static void *player(void *arg)
{
	long me = (long)arg;
	pthread_mutex_lock(&lock);
	while (turn < turns) {
		while (turn % 2 != me && turn < turns)
			pthread_cond_wait(&turn_changed, &lock);
		if (turn < turns)
			turn++;
		pthread_cond_signal(&turn_changed);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

#define MAX_CPUS 256
#define RING_PAGES 256
static struct perf_event_mmap_page *rings[MAX_CPUS];
static struct pollfd fds[MAX_CPUS];
static int nrings;
static atomic_int stop;

/* Empties the rings whenever they wake it (or every 100 ms), reading nothing. */
static void *drainer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		poll(fds, (nfds_t)nrings, 100);
		for (int i = 0; i < nrings; i++)
			__atomic_store_n(&rings[i]->data_tail,
					 __atomic_load_n(&rings[i]->data_head, __ATOMIC_ACQUIRE),
					 __ATOMIC_RELEASE);
	}
	return NULL;
}

/* The agent's sched-mode events (agent/perf.c), one per CPU. 0, or -1 with a message. */
static int open_switch_records(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_DUMMY;
	a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
	a.exclude_kernel = a.exclude_hv = a.exclude_idle = 1;
	a.inherit = a.inherit_thread = a.remove_on_exec = 1;
	a.comm = a.context_switch = a.task = a.sample_id_all = 1;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.disabled = 1;
	a.watermark = 1;
	a.wakeup_watermark = RING_PAGES * 4096 / 2;
	long n = sysconf(_SC_NPROCESSORS_CONF);
	for (int c = 0; c < n && c < MAX_CPUS; c++) {
		int fd = (int)syscall(SYS_perf_event_open, &a, 0, c, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			perror("bench_sched: perf_event_open");
			return -1;
		}
		void *m = mmap(NULL, (RING_PAGES + 1) * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, 0);
		if (m == MAP_FAILED) {
			perror("bench_sched: mmap");
			return -1;
		}
		rings[nrings] = m;
		fds[nrings++] = (struct pollfd){.fd = fd, .events = POLLIN};
	}
	for (int i = 0; i < nrings; i++)
		ioctl(fds[i].fd, PERF_EVENT_IOC_ENABLE, 0);
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 100000;
	int records = argc > 2 && strcmp(argv[2], "switches") == 0;
	turns = 2 * rounds;
	pthread_t a, b, d;
	if (records && (open_switch_records() < 0 || pthread_create(&d, NULL, drainer, NULL)))
		return 1;
	pthread_create(&a, NULL, player, (void *)0);
	pthread_create(&b, NULL, player, (void *)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (records) {
		atomic_store(&stop, 1);
		pthread_join(d, NULL);
	}
	printf("%ld turns\n", turn);
	return 0;
}
