/*
 * checkpoint.c — periodic checkpoints of the profiles, for a process that never reaches
 * its final write: SIGKILL, the OOM killer, a raw exit_group (cgo-linked Go binaries).
 *
 * A source like the others (agent.h): on the collector thread it sees the same events as
 * the cpu, heap and lock sources and sums them per profile key — (stack, thread) for cpu,
 * (stack, block size) for heap, (stack, object, reason) for mutex and block — into a table
 * of deltas. Every CTRACE_CHECKPOINT (default 1 s; 0 = off) its tick appends those deltas,
 * preceded by the stacks, modules and thread names not written before, to
 * DIR/checkpoint.ctk in one write() (libtrace/ckpt.h), and empties the table. A checkpoint
 * therefore costs what the interval added, not what the profile holds; an interval
 * without data writes nothing, and the journal is created with the first data (so a
 * forked child that records nothing leaves no folder). `ctrace record` rebuilds the
 * profiles from the journal when the process's summary.txt never came; the agent removes
 * the journal once its own files are written (ct_ckpt_done).
 *
 * Whether the process recorded anything at all (ct_ckpt_has_data) is counted here too,
 * checkpoints on or off: main.c writes a forked child's folder only when it did.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/fdguard.h"
#include "agent/internal.h"
#include "agent/lockprof.h"
#include "libtrace/ckpt.h"
#include "libtrace/hindex.h"
#include "libtrace/intern.h"
#include "libtrace/units.h"
#include "libtrace/vec.h"

/* Everything below is the collector thread's (and the exit path's once it stopped). */
typedef struct {
	uint32_t kind, stack;
	uint64_t a, b;
	int64_t v[4];
} delta;

static int64_t period_ns = 1000000000;
static uint64_t last_ns;
static uint64_t events; /* profile events seen since start (or fork) */
static int slot = -1;	/* the journal's fd-guard slot, -1 until the first checkpoint */
static int failed;	/* the journal cannot be written: stop trying */
static ct_ckpt_buf buf;
static delta *deltas;
static size_t ndeltas, cdeltas;
static ct_hindex delta_ix;
static uint64_t *stacks_written; /* bit per stack id */
static size_t stacks_words;
static int modules_written;
static uint32_t *tids_named; /* threads whose name is in the journal */
static size_t ntids, ctids;
static ct_hindex tid_ix;
static uint64_t lost_written = UINT64_MAX;
/* Checkpoints appended, the CPU time they took, and the longest one (the first, usually:
 * it writes every stack once). */
static uint64_t ncheckpoints, checkpoint_ns, checkpoint_max_ns;

static char journal_path[sizeof(ct_cfg.out_dir) + 32];

static void add(uint32_t kind, uint32_t stack, uint64_t a, uint64_t b, const int64_t *v, int n)
{
	events++;
	if (period_ns <= 0)
		return;
	uint32_t h =
		(uint32_t)ct_hash_u64(((uint64_t)kind << 32 | stack) ^ ct_hash_u64(a * 31 + b));
	if (ct_hindex_reserve(&delta_ix) < 0)
		return;
	size_t i = ct_hindex_home(&delta_ix, h);
	for (; delta_ix.slots[i].idx1; i = ct_hindex_next(&delta_ix, i)) {
		delta *d = &deltas[delta_ix.slots[i].idx1 - 1];
		if (delta_ix.slots[i].hash != h || d->kind != kind || d->stack != stack ||
		    d->a != a || d->b != b)
			continue;
		for (int k = 0; k < n; k++)
			d->v[k] = (kind == CT_CKPT_MUTEX || kind == CT_CKPT_BLOCK) && k == 2
					  ? (v[k] > d->v[k] ? v[k] : d->v[k])
					  : d->v[k] + v[k];
		return;
	}
	if (CT_VEC_RESERVE(deltas, cdeltas, ndeltas + 1) < 0)
		return;
	ct_hindex_fill(&delta_ix, i, h, (uint32_t)ndeltas);
	delta *d = &deltas[ndeltas++];
	*d = (delta){.kind = kind, .stack = stack, .a = a, .b = b};
	memcpy(d->v, v, (size_t)n * sizeof(*v));
}

static void ck_on_sample(const ct_event *ev)
{
	ct_ev_sample_stack s;
	if (!ct_event_get(ev, &s, sizeof(s)))
		return;
	int64_t v[2] = {1, (int64_t)s.weight_ns};
	add(CT_CKPT_CPU, s.stack, ev->tid, 0, v, 2);
}

static void ck_on_heap(const ct_event *ev)
{
	ct_ev_heap r;
	if (!ct_event_get(ev, &r, sizeof(r)))
		return;
	int64_t sz = (int64_t)r.size;
	switch (ev->type) {
	case CT_EV_HEAP_ALLOC: {
		int64_t v[4] = {1, sz, 1, sz};
		add(CT_CKPT_HEAP, r.stack, r.size, 0, v, 4);
		break;
	}
	case CT_EV_HEAP_FREE: {
		int64_t v[4] = {0, 0, -1, -sz};
		add(CT_CKPT_HEAP, r.stack, r.size, 0, v, 4);
		break;
	}
	case CT_EV_HEAP_UNTRACKED:
	case CT_EV_HEAP_ALLOC_AT: {
		int64_t v[4] = {1, sz, 0, 0}; /* its free cannot be matched here: alloc only */
		add(CT_CKPT_HEAP, r.stack, r.size, 0, v, 4);
		break;
	}
	default:
		break;
	}
}

static void ck_on_wait(const ct_event *ev)
{
	ct_ev_lock_wait w;
	if (!(ct_cfg.modes & CT_MODE_BLOCK) || !ct_event_get(ev, &w, sizeof(w)) ||
	    !ct_lk_block_on() || w.delay < ct_lk_block_min_ns)
		return;
	int64_t v[3] = {1, (int64_t)w.delay, (int64_t)w.delay};
	add(CT_CKPT_BLOCK, w.stack, w.obj, w.reason, v, 3);
}

static void ck_on_hold(const ct_event *ev)
{
	ct_ev_lock_hold h;
	if (!(ct_cfg.modes & CT_MODE_LOCK) || !ct_event_get(ev, &h, sizeof(h)))
		return;
	int64_t v[3] = {h.count, (int64_t)h.delay, (int64_t)h.delay};
	add(CT_CKPT_MUTEX, h.stack, h.obj, CT_WAIT_MUTEX, v, 3);
}

/* A thread's (new) name: written again at the next checkpoint. */
static void ck_on_comm(const ct_event *ev)
{
	ct_ev_comm c;
	if (!ct_event_get(ev, &c, sizeof(c)) || period_ns <= 0 || slot < 0)
		return;
	c.name[sizeof(c.name) - 1] = 0;
	ct_ckpt_put_thread(&buf, ev->tid, c.name);
}

/* Appends tid's name (from /proc) the first time the journal sees the thread. */
static void name_thread(uint32_t tid)
{
	uint32_t h = (uint32_t)ct_hash_u64(tid);
	if (ct_hindex_reserve(&tid_ix) < 0)
		return;
	size_t i = ct_hindex_home(&tid_ix, h);
	for (; tid_ix.slots[i].idx1; i = ct_hindex_next(&tid_ix, i))
		if (tid_ix.slots[i].hash == h && tids_named[tid_ix.slots[i].idx1 - 1] == tid)
			return;
	if (CT_VEC_RESERVE(tids_named, ctids, ntids + 1) < 0)
		return;
	ct_hindex_fill(&tid_ix, i, h, (uint32_t)ntids);
	tids_named[ntids++] = tid;
	char path[64], name[32] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, name, sizeof(name) - 1);
		close(fd);
		name[n > 0 ? n : 0] = 0;
		name[strcspn(name, "\n")] = 0;
	}
	if (!*name)
		snprintf(name, sizeof(name), "tid %u", tid);
	ct_ckpt_put_thread(&buf, tid, name);
}

/* Appends stack id's pcs the first time a delta uses it. */
static void put_stack_once(uint32_t id)
{
	size_t w = id / 64;
	if (w >= stacks_words) {
		size_t nw = w * 2 + 64;
		uint64_t *s = realloc(stacks_written, nw * sizeof(*s));
		if (!s)
			return;
		memset(s + stacks_words, 0, (nw - stacks_words) * sizeof(*s));
		stacks_written = s;
		stacks_words = nw;
	}
	if (stacks_written[w] >> (id % 64) & 1)
		return;
	stacks_written[w] |= 1ull << (id % 64);
	const uintptr_t *pcs;
	int n = ct_stack_get(id, &pcs);
	int depth = n > 0 && pcs[n - 1] == 0 ? n - 1 : n;
	ct_ckpt_put_stack(&buf, id, pcs, n, depth >= CT_MAX_FRAMES);
}

/* Creates the journal with its START record. 0, or -errno (then checkpoints stop). */
static int open_journal(void)
{
	int r = ct_out_dir_create();
	if (r < 0)
		return r;
	snprintf(journal_path, sizeof(journal_path), "%s/%s", ct_cfg.out_dir, CT_FILE_CHECKPOINT);
	unlink(journal_path); /* an earlier run's: replaced, never written through */
	int fd = open(journal_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
		      0644);
	if (fd < 0)
		return -errno;
	slot = ct_fdg_adopt(fd, CT_FDG_FILE);
	if (slot < 0)
		return slot;
	char cmd[256] = "";
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
		while (n > 0 && cmd[n - 1] == ' ')
			n--;
		cmd[n > 0 ? n : 0] = 0;
	}
	ct_ckpt_start s = {.pid = (uint32_t)getpid(),
			   .hz = (uint32_t)ct_cfg.hz,
			   .heap_rate = ct_cfg.heap_rate ? ct_cfg.heap_rate : 512 * 1024,
			   .modes = ct_cfg.modes,
			   .flags = ct_cfg.heap_rate == 1 ? CT_CKPT_HEAP_DIRECT : 0,
			   .wall_ns = ct_start_clock.wall_ns,
			   .mono_ns = ct_start_clock.mono_ns,
			   .engine = ct_engine_name(ct_engine_get()),
			   .reason = ct_engine_reason,
			   .cmd = cmd};
	ct_ckpt_buf head = {0};
	ct_ckpt_put_magic(&head);
	ct_ckpt_put_start(&head, &s);
	r = head.oom								? -ENOMEM
	    : write(ct_fdg_get(slot), head.data, head.len) == (ssize_t)head.len ? 0
										: -EIO;
	ct_ckpt_buf_free(&head);
	return r;
}

/* Appends one checkpoint: what changed since the previous one. */
static void checkpoint(uint64_t now)
{
	uint64_t lost = ct_cpu_lost_count();
	if (failed || (!ndeltas && lost == lost_written))
		return;
	if (slot < 0) {
		int r = open_journal();
		if (r < 0) {
			ct_log("checkpoint: cannot write %s: %s", journal_path, strerror(-r));
			failed = 1;
			return;
		}
	}
	int n;
	const ct_module *m = ct_modules_all(&n);
	for (; modules_written < n; modules_written++) {
		const ct_module *x = &m[modules_written];
		ct_ckpt_put_module(&buf, x->start, x->end, x->file_offset, x->path, x->build_id);
	}
	for (size_t i = 0; i < ndeltas; i++) {
		put_stack_once(deltas[i].stack);
		if (deltas[i].kind == CT_CKPT_CPU)
			name_thread((uint32_t)deltas[i].a);
	}
	for (size_t i = 0; i < ndeltas; i++) {
		const delta *d = &deltas[i];
		ct_ckpt_put_entry(&buf, d->kind, d->stack, d->a, d->b, d->v,
				  d->kind == CT_CKPT_CPU    ? 2
				  : d->kind == CT_CKPT_HEAP ? 4
							    : 3);
	}
	ct_ckpt_commit c = {.mono_ns = now,
			    .samples = ct_cpu_samples(),
			    .lost = lost,
			    .threads = ct_cpu_threads(),
			    .events_lost = ct_collector_dropped()};
	ct_ckpt_put_commit(&buf, &c);
	int fd = ct_fdg_check(slot);
	if (buf.oom || fd < 0 || write(fd, buf.data, buf.len) != (ssize_t)buf.len) {
		ct_log("checkpoint: cannot append to %s", journal_path);
		failed = 1;
	}
	ncheckpoints++;
	lost_written = lost;
	buf.len = 0;
	ndeltas = 0;
	ct_hindex_free(&delta_ix);
}

static void ck_tick(uint64_t now)
{
	if (period_ns <= 0)
		return;
	if (!last_ns)
		last_ns = now;
	if (now - last_ns < (uint64_t)period_ns)
		return;
	last_ns = now;
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	uint64_t before = ncheckpoints;
	checkpoint(now);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	uint64_t ns = (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec));
	if (ncheckpoints != before) {
		checkpoint_ns += ns;
		checkpoint_max_ns = ns > checkpoint_max_ns ? ns : checkpoint_max_ns;
	}
}

void ct_ckpt_stats(uint64_t *count, uint64_t *cpu_ns, uint64_t *max_ns)
{
	*count = ncheckpoints;
	*cpu_ns = checkpoint_ns;
	*max_ns = checkpoint_max_ns;
}

uint64_t ct_ckpt_has_data(void)
{
	return events;
}

void ct_ckpt_done(void)
{
	if (slot < 0)
		return;
	ct_fdg_release(slot);
	slot = -1;
	unlink(journal_path);
}

static int ck_start(void)
{
	const char *v = getenv("CTRACE_CHECKPOINT");
	if (v && *v) {
		period_ns = ct_units_parse_duration(v);
		if (period_ns < 0) {
			ct_log("CTRACE_CHECKPOINT=%s: not a duration; checkpoints every 1s", v);
			period_ns = 1000000000;
		} else if (period_ns > 0 && period_ns < 10000000) {
			period_ns = 10000000; /* at most 100 a second */
		}
	}
	return 0;
}

/* A forked child journals to its own DIR/<pid>/ from scratch (the parent's fd is the
 * parent's: closed here, never written). */
static void ck_fork_child(void)
{
	if (slot >= 0)
		ct_fdg_release(slot);
	slot = -1;
	failed = 0;
	events = 0;
	last_ns = 0;
	buf.len = 0;
	buf.oom = 0;
	ndeltas = 0;
	ct_hindex_free(&delta_ix);
	if (stacks_written)
		memset(stacks_written, 0, stacks_words * sizeof(*stacks_written));
	modules_written = 0;
	ntids = 0;
	ct_hindex_free(&tid_ix);
	lost_written = UINT64_MAX;
	ncheckpoints = checkpoint_ns = checkpoint_max_ns = 0;
}

static const ct_subscription ck_subs[] = {
	{CT_EV_SAMPLE_STACK, ck_on_sample}, {CT_EV_HEAP_ALLOC, ck_on_heap},
	{CT_EV_HEAP_FREE, ck_on_heap},	    {CT_EV_HEAP_UNTRACKED, ck_on_heap},
	{CT_EV_HEAP_ALLOC_AT, ck_on_heap},  {CT_EV_LOCK_WAIT, ck_on_wait},
	{CT_EV_LOCK_HOLD, ck_on_hold},	    {CT_EV_COMM, ck_on_comm},
	{CT_EV_THREAD_NAME, ck_on_comm},    {0, NULL},
};

CT_SOURCE(checkpoint_source) = {
	.name = "checkpoint",
	.mode = CT_MODE_CPU | CT_MODE_HEAP | CT_MODE_LOCK | CT_MODE_BLOCK,
	.subs = ck_subs,
	.start = ck_start,
	.tick = ck_tick,
	.fork_child = ck_fork_child,
};
