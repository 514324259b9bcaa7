/*
 * cpu.c — the CPU profile source: unwinds samples from either engine, aggregates them by
 * (stack, thread) and writes cpu.pb.gz at exit.
 *
 * Sample types follow Go's runtime: samples/count and cpu/nanoseconds, period_type
 * cpu/nanoseconds, period = 1e9/hz. Each sample carries the labels `thread` (the thread's
 * name) and `tid` so that pprof's -tagfocus can select threads. Samples the kernel or our
 * rings lost are written as one sample on a synthetic "[ctrace: lost samples]" frame, so
 * that totals are honest, and counted in a comment.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/internal.h"
#include "libtrace/clock.h"

extern ct_clock_snapshot ct_start_clock;
extern uint64_t ct_stop_mono;

void ct_timer_on_record(const ct_rec *rec);
uint64_t ct_timer_period_ns(void);

typedef struct {
	uint32_t stack, tid; /* stack 0 = empty slot */
	uint64_t count, ns;
} agg_entry;

typedef struct {
	uint32_t tid;
	char name[32];
} thread_name;

static agg_entry *agg;
static size_t agg_cap, agg_len;
static thread_name *names;
static size_t names_len, names_cap;
static uint64_t lost, nsamples, truncated;
static uint64_t first_time, last_time;

static thread_name *find_thread(uint32_t tid)
{
	for (size_t i = 0; i < names_len; i++)
		if (names[i].tid == tid)
			return &names[i];
	return NULL;
}

void ct_cpu_thread_name(uint32_t tid, const char *name)
{
	thread_name *t = find_thread(tid);
	if (!t) {
		if (names_len == names_cap) {
			size_t cap = names_cap ? names_cap * 2 : 64;
			thread_name *n = realloc(names, cap * sizeof(*n));
			if (!n)
				return;
			names = n;
			names_cap = cap;
		}
		t = &names[names_len++];
		t->tid = tid;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
}

static void learn_thread(uint32_t tid)
{
	if (find_thread(tid))
		return;
	char path[64], name[32] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n > 0) {
			name[n] = 0;
			name[strcspn(name, "\n")] = 0;
		}
	}
	if (!*name)
		snprintf(name, sizeof(name), "tid %u", tid);
	ct_cpu_thread_name(tid, name);
}

static int agg_grow(void)
{
	size_t cap = agg_cap ? agg_cap * 2 : 4096;
	agg_entry *n = calloc(cap, sizeof(*n));
	if (!n)
		return -1;
	for (size_t i = 0; i < agg_cap; i++) {
		if (!agg[i].stack)
			continue;
		size_t h = (agg[i].stack * 2654435761u ^ agg[i].tid * 40503u) & (cap - 1);
		while (n[h].stack)
			h = (h + 1) & (cap - 1);
		n[h] = agg[i];
	}
	free(agg);
	agg = n;
	agg_cap = cap;
	return 0;
}

void ct_cpu_sample(uint32_t tid, uint64_t time, uint64_t weight_ns, const uint64_t regs[CT_NREGS],
		   const uint8_t *stack, size_t stack_len)
{
	uintptr_t pcs[CT_MAX_FRAMES];
	int n = ct_unwind(regs, stack, stack_len, pcs, CT_MAX_FRAMES);
	if (n == CT_MAX_FRAMES)
		truncated++;
	/* Mark sample stacks so that out.c keeps the leaf pc exact: a sample's stack is
	 * stored with a trailing 0 sentinel, which hook stacks never have. */
	if (n < CT_MAX_FRAMES)
		pcs[n++] = 0;
	uint32_t id = ct_stack_intern(pcs, n);
	if (!id) {
		lost++;
		return;
	}
	if (!first_time || time < first_time)
		first_time = time;
	if (time > last_time)
		last_time = time;
	nsamples++;
	learn_thread(tid);
	if ((agg_len + 1) * 2 > agg_cap && agg_grow() < 0) {
		lost++;
		return;
	}
	size_t h = (id * 2654435761u ^ tid * 40503u) & (agg_cap - 1);
	while (agg[h].stack && !(agg[h].stack == id && agg[h].tid == tid))
		h = (h + 1) & (agg_cap - 1);
	if (!agg[h].stack) {
		agg[h].stack = id;
		agg[h].tid = tid;
		agg_len++;
	}
	agg[h].count++;
	agg[h].ns += weight_ns;
}

void ct_cpu_lost(uint64_t n)
{
	lost += n;
}

uint64_t ct_cpu_samples(void)
{
	return nsamples;
}
/* CPU samples lost (perf's PERF_RECORD_LOST, timer samples a full ring refused), never
 * more than the sampler could have taken: hz x online CPUs x the recording's duration.
 * Hook events a full ring dropped are not samples (summary.txt counts them apart). */
uint64_t ct_cpu_lost_count(void)
{
	uint64_t n = lost + ct_timer_dropped();
	uint64_t end = ct_stop_mono ? ct_stop_mono : ct_now();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double cap =
		(double)(end - ct_start_clock.mono_ns) / 1e9 * ct_cfg.hz * (cpus > 0 ? cpus : 1);
	return (double)n > cap + 1 ? (uint64_t)cap + 1 : n;
}
size_t ct_cpu_threads(void)
{
	return names_len;
}

static void cpu_on_record(const ct_rec *rec)
{
	ct_timer_on_record(rec);
}

static void cpu_fork_child(void)
{
	free(agg);
	agg = NULL;
	agg_cap = agg_len = 0;
	names_len = 0;
	lost = nsamples = truncated = 0;
	first_time = last_time = 0;
}

static int cpu_start(void)
{
	return 0;
}

static void cpu_finish(void)
{
	if (strcmp(ct_engine_name, "off") == 0)
		return;
	ct_profile *p = ct_out_profile_new();
	if (!p)
		return;
	ct_profile_add_sample_type(p, "samples", "count");
	ct_profile_add_sample_type(p, "cpu", "nanoseconds");
	p->period_type.type = ct_profile_str(p, "cpu");
	p->period_type.unit = ct_profile_str(p, "nanoseconds");
	p->period = 1000000000ll / ct_cfg.hz;
	for (size_t i = 0; i < agg_cap; i++) {
		if (!agg[i].stack)
			continue;
		thread_name *t = find_thread(agg[i].tid);
		ct_label labels[2] = {
			{.key = "thread", .str = t ? t->name : "?"},
			{.key = "tid", .str = NULL, .num = agg[i].tid},
		};
		int64_t v[2] = {(int64_t)agg[i].count, (int64_t)agg[i].ns};
		ct_out_add_stack(p, agg[i].stack, v, labels, 2);
	}
	uint64_t dropped = ct_cpu_lost_count();
	if (dropped) {
		uint32_t fn = ct_profile_add_function(p, "[ctrace: lost samples]", "", "", 0);
		ct_line line = {.function = fn, .line = 0};
		uint32_t loc = ct_profile_add_location(p, 0, 0, &line, 1);
		int64_t v[2] = {(int64_t)dropped, (int64_t)dropped * p->period};
		ct_profile_add_sample(p, &loc, 1, v, NULL, 0);
	}
	char c[160];
	snprintf(c, sizeof(c),
		 "ctrace: %llu samples, %llu lost, %zu threads, %llu stacks truncated",
		 (unsigned long long)nsamples, (unsigned long long)dropped, names_len,
		 (unsigned long long)truncated);
	ct_profile_add_comment(p, c);
	if (last_time > first_time)
		p->duration_nanos = (int64_t)(last_time - first_time);
	ct_out_write(p, "cpu.pb.gz");
}

CT_SOURCE(cpu_source) = {
	.name = "cpu",
	.mode = CT_MODE_CPU,
	.type_min = CT_REC_CPU_FIRST,
	.type_max = CT_REC_CPU_LAST,
	.start = cpu_start,
	.on_record = cpu_on_record,
	.finish = cpu_finish,
	.fork_child = cpu_fork_child,
};
