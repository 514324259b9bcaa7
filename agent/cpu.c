/*
 * cpu.c — the CPU profile source: unwinds the samples of either engine (CT_EV_SAMPLE),
 * aggregates them by (stack, thread) in a libtrace/cpuagg.h aggregator and writes
 * cpu.pb.gz at exit.
 *
 * Sample types follow Go's runtime: samples/count and cpu/nanoseconds, period_type
 * cpu/nanoseconds, period = 1e9/hz. Each sample carries the labels `thread` (the thread's
 * name: CT_EV_COMM, else /proc) and `tid` so that pprof's -tagfocus can select threads, and
 * the labels the program had pushed (include/ctrace/annotate.h; matched by time, ann.h).
 * Samples the kernel or our rings lost are written as one sample on a synthetic
 * "[ctrace: lost samples]" frame, so that totals are honest, and counted in a comment.
 * Samples taken in the agent's own code are charged to one "[ctrace]" leaf (selffold.h).
 * Threads that ended between two perf samples add their samples on their start routine
 * (CT_EV_THREAD_CPU, lifecycle.c), also counted in a comment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/internal.h"
#include "agent/live.h"
#include "agent/selffold.h"
#include "libtrace/clock.h"
#include "libtrace/cpuagg.h"

/* The aggregate and the count of stacks cut at CT_MAX_FRAMES: collector thread (and the
 * exit path after it stopped). */
static ct_cpu_agg *agg;
static uint64_t truncated, ended_threads;

/* Names a thread seen in a sample for the first time from /proc (its COMM record, when
 * the sched mode asked for them, may come later and then wins). */
static void learn_thread(uint32_t tid)
{
	if (ct_cpu_agg_name(agg, tid))
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
	ct_cpu_agg_set_name(agg, tid, name);
}

/* ---- labels (agent/ann.h): a timer sample carries its thread's labels, read by the
 * signal handler. A perf sample, once the program pushed labels, waits one drain in
 * `pending` so that the label records of every ring up to its time have been seen, then
 * is counted on its stack interned with the labels its thread had. */
typedef struct {
	uint32_t stack, tid;
	uint64_t time, ns;
} pending_sample;
static pending_sample *pending;
static size_t npending, cap_pending;

static void cpu_labels_flush(void)
{
	for (size_t i = 0; i < npending; i++) {
		pending_sample *ps = &pending[i];
		uint32_t set = ct_ann_labels_at(ps->tid, ps->time);
		ct_cpu_agg_add(agg, ct_ann_stack_with(ps->stack, set), ps->tid, ps->time, ps->ns);
	}
	npending = 0;
}

/* 1 when the sample was queued for its labels, 0 when the caller counts it now. */
static int labels_defer(uint32_t stack, uint32_t tid, uint64_t time, uint64_t ns)
{
	if (!ct_ann_labels_seen())
		return 0;
	if (npending == cap_pending) {
		size_t ncap = cap_pending ? cap_pending * 2 : 256;
		pending_sample *np = realloc(pending, ncap * sizeof(*np));
		if (!np)
			return 0;
		pending = np;
		cap_pending = ncap;
	}
	pending[npending++] = (pending_sample){.stack = stack, .tid = tid, .time = time, .ns = ns};
	return 1;
}

static void cpu_tick(uint64_t now)
{
	(void)now;
	if (agg) {
		ct_ann_ring_drain(); /* the label changes up to the samples' times */
		cpu_labels_flush();
	}
}

/* CT_EV_SAMPLE from either engine: unwind, intern, count. */
static void cpu_on_sample(const ct_event *ev)
{
	ct_ev_sample s;
	if (!agg || !ct_event_get(ev, &s, sizeof(s)))
		return;
	uintptr_t pcs[CT_MAX_FRAMES];
	int n = ct_unwind(s.regs, s.stack, s.stack_len, pcs, CT_MAX_FRAMES);
	if (n == CT_MAX_FRAMES)
		truncated++;
	n = ct_selffold(pcs, n); /* the agent's own frames: one [ctrace] leaf */
	/* Mark sample stacks so that out.c keeps the leaf pc exact: a sample's stack is
	 * stored with a trailing 0 sentinel, which hook stacks never have. */
	if (n < CT_MAX_FRAMES)
		pcs[n++] = 0;
	uint32_t id = ct_stack_intern(pcs, n);
	if (id)
		learn_thread(ev->tid);
	if (id && (s.labels & CT_SAMPLE_LABELS)) /* the sampler read the thread's labels */
		ct_cpu_agg_add(agg, ct_ann_stack_with(id, (uint32_t)s.labels), ev->tid, ev->time,
			       s.weight_ns);
	else if (!id || !labels_defer(id, ev->tid, ev->time, s.weight_ns))
		ct_cpu_agg_add(agg, id, ev->tid, ev->time, s.weight_ns); /* id 0 counts as lost */
	if (!id)
		return;
	/* The unwound sample for its other listeners (the trace): one unwind per sample. */
	ct_ev_sample_stack st = {.stack = id, .cpu = s.cpu, .pid = s.pid, .weight_ns = s.weight_ns};
	ct_dispatch_derived(ev, CT_EV_SAMPLE_STACK, &st, sizeof(st));
}

/* CT_EV_THREAD_CPU: a period of CPU time that ended threads ran unsampled. */
static void cpu_on_thread_cpu(const ct_event *ev)
{
	ct_ev_thread_cpu c;
	if (!agg || !ct_event_get(ev, &c, sizeof(c)) || !c.stack)
		return;
	learn_thread(ev->tid);
	ct_cpu_agg_add(agg, c.stack, ev->tid, ev->time, c.weight_ns);
	ended_threads++;
	ct_ev_sample_stack st = {.stack = c.stack,
				 .cpu = UINT32_MAX,
				 .pid = (uint32_t)getpid(),
				 .weight_ns = c.weight_ns};
	ct_dispatch_derived(ev, CT_EV_SAMPLE_STACK, &st, sizeof(st)); /* the trace's sample */
}

/* CT_EV_LOST: the samples among the records the kernel dropped count as lost. */
static void cpu_on_lost(const ct_event *ev)
{
	ct_ev_lost l;
	if (!agg || !ct_event_get(ev, &l, sizeof(l)))
		return;
	ct_cpu_agg_lost(agg, l.samples);
}

/* CT_EV_COMM, CT_EV_THREAD_NAME: a thread's (new) name labels its samples. */
static void cpu_on_comm(const ct_event *ev)
{
	ct_ev_comm c;
	if (!agg || !ct_event_get(ev, &c, sizeof(c)))
		return;
	c.name[sizeof(c.name) - 1] = 0;
	ct_cpu_agg_set_name(agg, ev->tid, c.name);
}

static ct_cpu_agg_stats stats(void)
{
	ct_cpu_agg_stats st = {0};
	if (agg)
		ct_cpu_agg_get_stats(agg, &st);
	return st;
}

uint64_t ct_cpu_samples(void)
{
	return stats().samples;
}
/* CPU samples lost (perf's PERF_RECORD_LOST, timer samples a full ring refused), never
 * more than the sampler could have taken: hz x online CPUs x the recording's duration.
 * Hook events a full ring dropped are not samples (summary.txt counts them apart). */
/* What the profile written at exit said: the summary repeats it, so that both agree even
 * when a late perf LOST record is drained after the profile was written. */
static uint64_t lost_written = UINT64_MAX;

uint64_t ct_cpu_lost_count(void)
{
	if (lost_written != UINT64_MAX)
		return lost_written;
	uint64_t n = stats().lost + ct_timer_dropped();
	uint64_t end = ct_stop_mono ? ct_stop_mono : ct_now();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double cap =
		(double)(end - ct_start_clock.mono_ns) / 1e9 * ct_cfg.hz * (cpus > 0 ? cpus : 1);
	return (double)n > cap + 1 ? (uint64_t)cap + 1 : n;
}
size_t ct_cpu_threads(void)
{
	return stats().threads;
}

static int cpu_start(void)
{
	agg = ct_cpu_agg_new();
	return agg ? 0 : -ENOMEM;
}

/* The parent's aggregate is left, not freed (see lk_fork_child). */
static void cpu_fork_child(void)
{
	npending = 0;
	truncated = 0;
	ended_threads = 0;
	cpu_start();
}

/* The lost samples as one sample on a synthetic frame, so that totals stay honest. */
static void add_lost(ct_profile *p, uint64_t dropped)
{
	uint32_t fn = ct_profile_add_function(p, "[ctrace: lost samples]", "", "", 0);
	ct_line line = {.function = fn, .line = 0};
	uint32_t loc = ct_profile_add_location(p, 0, 0, &line, 1);
	int64_t v[2] = {(int64_t)dropped, (int64_t)dropped * p->period};
	ct_profile_add_sample(p, &loc, 1, v, NULL, 0);
}

ct_profile *ct_cpu_profile_now(void)
{
	if (ct_engine_get() == CT_ENGINE_OFF || !agg)
		return NULL;
	ct_profile *p = ct_out_profile_new();
	if (!p)
		return NULL;
	ct_profile_add_sample_type(p, "samples", "count");
	ct_profile_add_sample_type(p, "cpu", "nanoseconds");
	p->period_type.type = ct_profile_str(p, "cpu");
	p->period_type.unit = ct_profile_str(p, "nanoseconds");
	p->period = 1000000000ll / ct_cfg.hz;
	ct_ann_ring_drain();
	cpu_labels_flush();
	size_t cursor = 0;
	ct_cpu_entry e;
	while (ct_cpu_agg_next(agg, &cursor, &e)) {
		ct_label labels[2];
		uint32_t nl = ct_cpu_agg_labels(agg, &e, labels);
		int64_t v[2] = {(int64_t)e.count, (int64_t)e.ns};
		ct_out_add_stack(p, e.stack, v, labels, nl);
	}
	ct_cpu_agg_stats st = stats();
	uint64_t dropped = ct_cpu_lost_count();
	if (dropped)
		add_lost(p, dropped);
	char c[160];
	snprintf(c, sizeof(c),
		 "ctrace: %llu samples, %llu lost, %zu threads, %llu stacks truncated",
		 (unsigned long long)st.samples, (unsigned long long)dropped, st.threads,
		 (unsigned long long)truncated);
	ct_profile_add_comment(p, c);
	ct_unwind_counts u;
	ct_unwind_stats(&u);
	snprintf(c, sizeof(c),
		 "ctrace: unwound %llu samples from cached rows, %llu with libunwind (%llu rows, "
		 "%llu not plain)",
		 (unsigned long long)u.by_rows, (unsigned long long)u.by_libunwind,
		 (unsigned long long)u.rows_computed, (unsigned long long)u.rows_other);
	if (u.verify)
		snprintf(c + strlen(c), sizeof(c) - strlen(c), ", verified: %llu mismatches",
			 (unsigned long long)u.verify_mismatches);
	ct_profile_add_comment(p, c);
	if (ended_threads) {
		snprintf(c, sizeof(c),
			 "ctrace: %llu samples stand for CPU time that threads ran after their "
			 "last sample, on their start routine",
			 (unsigned long long)ended_threads);
		ct_profile_add_comment(p, c);
	}
	if (st.last_time > st.first_time)
		p->duration_nanos = (int64_t)(st.last_time - st.first_time);
	return p;
}

static void cpu_finish(void)
{
	lost_written = ct_cpu_lost_count();
	ct_profile *p = ct_cpu_profile_now();
	if (p)
		ct_out_write(p, CT_FILE_CPU);
}

static const ct_subscription cpu_subs[] = {
	{CT_EV_SAMPLE, cpu_on_sample},
	{CT_EV_LOST, cpu_on_lost},
	{CT_EV_COMM, cpu_on_comm},
	{CT_EV_THREAD_NAME, cpu_on_comm}, /* the hooks' renames: the timer engine has no COMM */
	{CT_EV_THREAD_CPU, cpu_on_thread_cpu},
	{0, NULL},
};

CT_SOURCE(cpu_source) = {
	.name = "cpu",
	.mode = CT_MODE_CPU,
	.subs = cpu_subs,
	.start = cpu_start,
	.finish = cpu_finish,
	.tick = cpu_tick,
	.fork_child = cpu_fork_child,
};
