/*
 * perf_floor.c — a preloaded library that opens the perf events ctrace's perf engine opens
 * for CPU sampling (cpu-clock, user mode, per CPU, inherited by every thread, the same
 * sample fields: registers and PERF_FLOOR_STACK bytes of user stack, default 16384) at
 * PERF_FLOOR_HZ (default 999) and does nothing with the samples: a thread empties the rings
 * every 10 ms without reading them. bench_cpu.sh runs samples/cpu_hot under it for what
 * the kernel alone charges the program for sampling at that rate (the timer interrupt and
 * the copy into the ring), the floor under any perf_event-based profiler's added CPU; what
 * ctrace adds over it is its own work. The sample count goes to stderr at exit.
 */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_CPUS 256
#define RING_PAGES 256 /* 1 MiB, as ctrace's */

static struct perf_event_mmap_page *rings[MAX_CPUS];
static int ncpus;

static void *empty_rings(void *arg)
{
	(void)arg;
	for (;;) {
		usleep(10000);
		for (int c = 0; c < ncpus; c++) {
			if (!rings[c])
				continue;
			uint64_t head = __atomic_load_n(&rings[c]->data_head, __ATOMIC_ACQUIRE);
			__atomic_store_n(&rings[c]->data_tail, head, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

static int fds[MAX_CPUS];

/* Samples taken: the cpu-clock counts of every CPU's event, in periods. */
__attribute__((destructor)) static void report(void)
{
	uint64_t ns = 0;
	for (int c = 0; c < ncpus; c++) {
		uint64_t v = 0;
		if (fds[c] > 0 && read(fds[c], &v, sizeof(v)) == (ssize_t)sizeof(v))
			ns += v;
	}
	const char *hz = getenv("PERF_FLOOR_HZ");
	uint64_t period = 1000000000ull / (uint64_t)(hz ? atoi(hz) : 999);
	fprintf(stderr, "perf_floor: samples=%llu\n", (unsigned long long)(ns / period));
}

__attribute__((constructor)) static void start(void)
{
	const char *hz = getenv("PERF_FLOOR_HZ"), *stack = getenv("PERF_FLOOR_STACK");
	unsetenv("LD_PRELOAD"); /* the program's children run bare */
	struct perf_event_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.sample_period = 1000000000ull / (uint64_t)(hz ? atoi(hz) : 999);
	a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
			PERF_SAMPLE_PERIOD | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	a.sample_regs_user = (1ull << 6) | (1ull << 7) | (1ull << 8); /* bp, sp, ip */
	a.sample_stack_user = stack ? (uint32_t)atoi(stack) & ~7u : 16384;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.inherit = 1;
	a.inherit_thread = 1;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.watermark = 1;
	a.wakeup_watermark = RING_PAGES * 4096 / 2;
	long n = sysconf(_SC_NPROCESSORS_CONF);
	ncpus = n < 1 ? 1 : n > MAX_CPUS ? MAX_CPUS : (int)n;
	for (int c = 0; c < ncpus; c++) {
		fds[c] = (int)syscall(SYS_perf_event_open, &a, 0, c, -1, PERF_FLAG_FD_CLOEXEC);
		if (fds[c] < 0)
			continue; /* offline CPU */
		void *m = mmap(NULL, (RING_PAGES + 1) * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fds[c], 0);
		rings[c] = m == MAP_FAILED ? NULL : m;
	}
	pthread_t t;
	pthread_create(&t, NULL, empty_rings, NULL);
}
