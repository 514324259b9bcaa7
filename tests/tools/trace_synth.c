/*
 * trace_synth.c — writes a synthetic trace.ctr with libtrace/tracewrite.h, for the tests
 * and benchmarks of the trace views before (and besides) real recordings.
 *
 *   trace_synth [-t THREADS] [-e EVENTS] [-s SHORT] [-c CPUS] [-d DEPTH] [-r] [-q] OUT.ctr
 *
 * A small scheduler simulation on CPUS CPUs: THREADS long-lived workers (plus "main") run
 * slices, are preempted (runnable until a CPU is free) or wait with every reason in turn,
 * each wait at its own function's stack and object; sync waits (mutex, rwlock, sem, cond,
 * join, futex) end with an unblock edge from another thread. CPU samples every millisecond
 * of running. SHORT short-lived "conn-handler" threads are created by main along the way,
 * run a little, wait on io and exit. It stops at about EVENTS raw events. Stacks are
 * DEPTH frames deep (default 3; deeper ones repeat worker_loop as callers, like recursion).
 * With -r, program annotations too (docs/annotate-trace.md): each slice of a long-lived
 * thread is a region; a "request" task begins in an "accept" region (with a log) and is
 * handled by the next slice of another thread in a "handle" region holding a nested
 * "parse", where the task ends; other slices are "background" regions.
 *
 * Stacks are real return addresses of functions of this program, with its executable
 * mapping as the module, so `ctrace report` symbolizes them to the names below and their
 * file:line. On standard output: "events N threads N waits N unblocks N" (-q: nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libtrace/traceann.h"
#include "libtrace/tracewrite.h"

#define NOINLINE __attribute__((noinline, used))
#define US 1000ull
#define MS 1000000ull

/* The functions the stacks name: each one's address is a frame of some stack. */
static volatile int sink;
NOINLINE static void thread_start(void)
{
	sink++;
}
NOINLINE static void worker_loop(void)
{
	sink++;
}
NOINLINE static void serve_conn(void)
{
	sink++;
}
NOINLINE static void compute_hash(void)
{
	sink++;
}
NOINLINE static void parse_request(void)
{
	sink++;
}
NOINLINE static void compress_block(void)
{
	sink++;
}
NOINLINE static void lock_queue(void)
{
	sink++;
}
NOINLINE static void read_config(void)
{
	sink++;
}
NOINLINE static void spin_counter(void)
{
	sink++;
}
NOINLINE static void wait_slot(void)
{
	sink++;
}
NOINLINE static void wait_work(void)
{
	sink++;
}
NOINLINE static void join_helper(void)
{
	sink++;
}
NOINLINE static void poll_socket(void)
{
	sink++;
}
NOINLINE static void backoff_sleep(void)
{
	sink++;
}
NOINLINE static void futex_park(void)
{
	sink++;
}
NOINLINE static void read_file(void)
{
	sink++;
}
NOINLINE static void page_fault(void)
{
	sink++;
}
NOINLINE static void release_lock(void)
{
	sink++;
}
NOINLINE static void spawn_handler(void)
{
	sink++;
}

typedef void (*fn)(void);
/* Wait site per reason, in ct_wait_reason order. */
static const fn wait_fn[CT_WAIT_NREASONS] = {lock_queue, read_config, spin_counter, wait_slot,
					     wait_work,	 join_helper, poll_socket,  backoff_sleep,
					     futex_park, read_file,   page_fault};
static const fn cpu_fn[3] = {compute_hash, parse_request, compress_block};

typedef struct {
	uint32_t tid;
	uint64_t ready;	   /* runnable from this time */
	uint64_t run_left; /* short-lived: running time left before it exits */
	bool on_cpu, short_lived, gone;
	unsigned reason_turn;
} sim_thread;

typedef struct {
	ct_tw *w;
	ct_stacks *stacks;
	uint64_t seed;
	sim_thread *th;
	size_t n, cap;
	uint64_t events, waits, unblocks;
	uint32_t next_tid;
	size_t nlong; /* the long-lived threads: the first nlong of th (wakers) */
	unsigned depth;
	bool annotate;	       /* -r */
	uint64_t task, ntasks; /* the request waiting for its handler (0 none); tasks begun */
	uint32_t task_tid;     /* the thread that began it */
} sim;

static uint64_t rnd(sim *s, uint64_t lo, uint64_t hi)
{
	s->seed = s->seed * 6364136223846793005ull + 1442695040888963407ull;
	return lo + (s->seed >> 33) % (hi - lo + 1);
}

static uint32_t stack_of(sim *s, fn leaf, fn mid)
{
	uintptr_t pcs[64] = {(uintptr_t)leaf + 4, (uintptr_t)mid + 4};
	unsigned n = 2;
	while (n + 1 < s->depth)
		pcs[n++] = (uintptr_t)worker_loop + 4;
	pcs[n++] = (uintptr_t)thread_start + 4;
	return ct_stacks_intern(s->stacks, pcs, n);
}

static int check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "trace_synth: %s: %s\n", what, strerror(-rc));
		exit(1);
	}
	return 0;
}

/* The module of this program's code: its executable mapping, from /proc/self/maps. */
static void set_module(sim *s)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096], self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (!f || n <= 0) {
		fprintf(stderr, "trace_synth: cannot find its own mapping\n");
		exit(1);
	}
	self[n] = '\0';
	uintptr_t here = (uintptr_t)thread_start;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		char perm[8], path[4096] = "";
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &lo, &hi, perm, &off, path) < 4)
			continue;
		if (here < lo || here >= hi)
			continue;
		ct_tw_module m = {
			.path = self, .build_id = "", .start = lo, .end = hi, .file_offset = off};
		check(ct_tw_set_modules(s->w, &m, 1), "modules");
	}
	fclose(f);
}

static sim_thread *add_thread(sim *s, uint64_t t, const char *name, bool short_lived)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->th = realloc(s->th, s->cap * sizeof(*s->th));
		if (!s->th)
			exit(1);
	}
	sim_thread *x = &s->th[s->n++];
	*x = (sim_thread){.tid = s->next_tid++, .ready = t, .short_lived = short_lived};
	if (s->n > 1) {
		check(ct_tw_create(s->w, s->th[0].tid, t, x->tid,
				   stack_of(s, spawn_handler, worker_loop)),
		      "create");
		s->events++;
	}
	check(ct_tw_name(s->w, x->tid, t, name), "name");
	check(ct_tw_start(s->w, x->tid, t), "start");
	s->events += 2;
	if (!short_lived)
		s->nlong++;
	else
		x->run_left = rnd(s, 20 * US, 200 * US);
	return x;
}

/* -r: the regions (and task, log) of a slice [t, end) of a long-lived thread. */
static void annotate(sim *s, const sim_thread *x, uint64_t t, uint64_t end)
{
	char msg[64];
	if (s->task && s->task_tid != x->tid) {
		check(ct_tw_region_begin(s->w, x->tid, t, "handle", s->task, 1, 0), "region");
		check(ct_tw_region_begin(s->w, x->tid, t, "parse", s->task, 2, 0), "region");
		check(ct_tw_region_end(s->w, x->tid, t + (end - t) / 2, "parse", s->task, 2, 0),
		      "region");
		check(ct_tw_region_end(s->w, x->tid, end, "handle", s->task, 1, 0), "region");
		check(ct_tw_task_end(s->w, x->tid, end, s->task, 0), "task");
		s->task = 0;
		s->events += 5;
		return;
	}
	if (s->task) {
		check(ct_tw_region_begin(s->w, x->tid, t, "background", 0, 1, 0), "region");
		check(ct_tw_region_end(s->w, x->tid, end, "background", 0, 1, 0), "region");
		s->events += 2;
		return;
	}
	s->task = ++s->ntasks;
	s->task_tid = x->tid;
	snprintf(msg, sizeof(msg), "request %" PRIu64 " accepted", s->task);
	check(ct_tw_task_begin(s->w, x->tid, t, s->task, 0, "request", 0), "task");
	check(ct_tw_region_begin(s->w, x->tid, t, "accept", s->task, 1, 0), "region");
	check(ct_tw_log(s->w, x->tid, t, s->task, "net", msg, 0), "log");
	check(ct_tw_region_end(s->w, x->tid, end, "accept", s->task, 1, 0), "region");
	s->events += 4;
}

/* Runs thread x on cpu from t for a slice; decides how it leaves. Returns the end. */
static uint64_t run_slice(sim *s, sim_thread *x, uint32_t cpu, uint64_t t, uint64_t total)
{
	uint64_t d = x->short_lived ? x->run_left : rnd(s, 30 * US, 3 * MS);
	check(ct_tw_switch_in(s->w, x->tid, t, cpu), "switch in");
	fn mid = x->short_lived ? serve_conn : worker_loop;
	uint32_t cpu_stack = stack_of(s, cpu_fn[x->tid % 3], mid);
	for (uint64_t at = t + MS - (t % MS); at < t + d; at += MS, s->events++)
		check(ct_tw_sample(s->w, x->tid, at, cpu_stack, MS), "sample");
	uint64_t end = t + d;
	s->events += 2;
	if (s->annotate && !x->short_lived)
		annotate(s, x, t, end);
	if (x->short_lived && x->run_left <= d && x->reason_turn) {
		check(ct_tw_switch_out(s->w, x->tid, end, cpu, false), "switch out");
		check(ct_tw_exit(s->w, x->tid, end + 1), "exit");
		s->events++;
		x->gone = true;
		return end;
	}
	bool preempt = !x->short_lived && rnd(s, 0, 2) == 0;
	check(ct_tw_switch_out(s->w, x->tid, end, cpu, preempt), "switch out");
	if (preempt) {
		x->ready = end;
		return end;
	}
	ct_wait_reason r =
		x->short_lived ? CT_WAIT_IO : (ct_wait_reason)(x->reason_turn % CT_WAIT_NREASONS);
	x->reason_turn++;
	uint64_t w = rnd(s, 50 * US, r == CT_WAIT_SLEEP ? 20 * MS : 5 * MS);
	if (end + w > total)
		w = total - end;
	uint64_t obj =
		r == CT_WAIT_IO || r == CT_WAIT_NET ? 3 + x->tid % 5 : 0x7f0000001000 + r * 64;
	bool edge = ct_wait_reason_is_sync(r) || r == CT_WAIT_JOIN;
	check(ct_tw_wait(s->w, x->tid, end - 1 * US, end + w, r, obj, stack_of(s, wait_fn[r], mid)),
	      "wait");
	s->waits++;
	s->events++;
	if (edge && s->n > 1 && end + w < total) {
		uint32_t waker = s->th[rnd(s, 0, s->nlong - 1)].tid;
		if (waker == x->tid)
			waker = s->th[0].tid;
		check(ct_tw_unblock(s->w, waker, end + w, x->tid, obj,
				    stack_of(s, release_lock, worker_loop)),
		      "unblock");
		s->unblocks++;
		s->events++;
	}
	x->ready = end + w;
	x->run_left = x->run_left > d ? x->run_left - d : 10 * US;
	return end;
}

/* The runnable thread that has waited longest at time t (ready <= t), or NULL. */
static sim_thread *pick(sim *s, uint64_t t, uint64_t *next_ready)
{
	sim_thread *best = NULL;
	*next_ready = UINT64_MAX;
	for (size_t i = 0; i < s->n; i++) {
		sim_thread *x = &s->th[i];
		if (x->gone || x->on_cpu)
			continue;
		if (x->ready <= t && (!best || x->ready < best->ready))
			best = x;
		if (x->ready < *next_ready)
			*next_ready = x->ready;
	}
	return best;
}

/* Drops exited threads from the table (keeps it small with many short-lived ones). */
static void compact(sim *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++)
		if (!s->th[i].gone)
			s->th[k++] = s->th[i];
	s->n = k;
}

static void usage(void)
{
	fprintf(stderr, "usage: trace_synth [-t THREADS] [-e EVENTS] [-s SHORT] [-c CPUS] "
			"[-d DEPTH] [-r] [-q] OUT.ctr\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long threads = 8, events = 20000, nshort = 0, ncpu = 4, depth = 3;
	bool quiet = false, annotations = false;
	for (int o; (o = getopt(argc, argv, "t:e:s:c:d:rq")) != -1;) {
		if (o == 'q' || o == 'r') {
			quiet |= o == 'q';
			annotations |= o == 'r';
			continue;
		}
		unsigned long v = optarg ? strtoul(optarg, NULL, 10) : 0;
		if (o == 't' && v)
			threads = v;
		else if (o == 'e' && v)
			events = v;
		else if (o == 's')
			nshort = v;
		else if (o == 'c' && v && v <= 256)
			ncpu = v;
		else if (o == 'd' && v >= 3 && v <= 64)
			depth = v;
		else
			usage();
	}
	if (optind + 1 != argc)
		usage();
	int fd = open(argv[optind], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "trace_synth: cannot write %s: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	const uint64_t t0 = 1000 * MS;
	sim s = {.seed = 42,
		 .stacks = ct_stacks_create(4096, 1 << 16),
		 .next_tid = 1000,
		 .depth = (unsigned)depth,
		 .annotate = annotations};
	const char *args[] = {"synthetic", "--threads"};
	ct_tw_info info = {.pid = 1000,
			   .argv = args,
			   .argc = 2,
			   .engine = "perf",
			   .has_switches = true,
			   .sample_period_ns = MS,
			   .anchor = {.mono_ns = t0, .wall_ns = 1790000000000000000ull},
			   .stacks = s.stacks};
	check(ct_tw_open(&s.w, fd, &info), "open");
	set_module(&s);
	add_thread(&s, t0, "main", false);
	char name[32];
	for (unsigned long i = 1; i < threads; i++) {
		snprintf(name, sizeof(name), i == 3 ? "we\"ird <b>&\x01\x1b[31m" : "worker-%lu", i);
		add_thread(&s, t0 + i * 10 * US, name, false);
	}
	/* Enough simulated time for the events asked for: about 4 events per slice. */
	uint64_t total = t0 + (events / 2 + 1) * 2 * MS / ncpu + 20 * MS;
	uint64_t *cpu_t = calloc(ncpu, sizeof(*cpu_t)), spawned = 0;
	for (unsigned long c = 0; c < ncpu; c++)
		cpu_t[c] = t0 + c * 7 * US;
	while (s.events < events) {
		uint32_t c = 0;
		for (uint32_t k = 1; k < ncpu; k++)
			if (cpu_t[k] < cpu_t[c])
				c = k;
		uint64_t t = cpu_t[c], next;
		if (t >= total)
			break;
		if (spawned < nshort && s.events >= spawned * events / (nshort + 1)) {
			add_thread(&s, t, "conn-handler", true);
			spawned++;
		}
		sim_thread *x = pick(&s, t, &next);
		if (!x) {
			cpu_t[c] = next == UINT64_MAX ? t + 100 * US : next; /* idle */
			continue;
		}
		cpu_t[c] = run_slice(&s, x, c, t, total) + 2 * US;
		if (x->gone && s.n > 256)
			compact(&s);
		if (ct_tw_pending(s.w) > (1u << 20))
			check(ct_tw_flush(s.w, t), "flush");
	}
	uint64_t end = 0;
	for (unsigned long c = 0; c < ncpu; c++)
		end = cpu_t[c] > end ? cpu_t[c] : end;
	for (size_t i = 0; i < s.n; i++) /* waits still running end before the trace does */
		end = !s.th[i].gone && s.th[i].ready > end ? s.th[i].ready : end;
	check(ct_tw_close(s.w, end + MS), "close");
	close(fd);
	if (!quiet)
		printf("events %" PRIu64 " threads %u waits %" PRIu64 " unblocks %" PRIu64 "\n",
		       s.events, s.next_tid - 1000, s.waits, s.unblocks);
	free(cpu_t);
	free(s.th);
	ct_stacks_destroy(s.stacks);
	return 0;
}
