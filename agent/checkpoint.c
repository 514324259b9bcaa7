/*
 * checkpoint.c — periodic checkpoints of the profiles, for a process that never reaches
 * its final write: SIGKILL, the OOM killer, a raw exit_group (cgo-linked Go binaries).
 *
 * A source like the others (agent.h): on the collector thread it sees the same events as
 * the cpu, heap and lock sources and sums them per profile key — (stack, thread) for cpu,
 * (stack, block size) for heap, (stack, object, reason) for mutex and block — keeping
 * each key's running total and its delta since the last checkpoint, with a list of the
 * keys that changed. Every CTRACE_CHECKPOINT (default 1 s; 0 = off) its tick appends the
 * changed keys' deltas, preceded by the stacks, modules and thread names not written
 * before, to DIR/checkpoint.ctk in one write() (libtrace/ckpt.h). A checkpoint therefore
 * costs what the interval added, not what the profile holds; an interval without data
 * writes nothing, and the journal is created with the first data (so a forked child that
 * records nothing leaves no folder). So that a long run's journal stays bounded, once it
 * has grown to 4 times its last full size (at least 16 MiB) it is rewritten in full from
 * the running totals (compact), to a temporary name renamed over it. `ctrace record` rebuilds the
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
	int64_t v[4]; /* since the start: what a compacted journal holds */
	int64_t d[4]; /* since the last checkpoint: what the next one appends */
	int dirty;    /* on the dirty list */
} entry;

/* A thread named in the journal, and the name (kept for a compaction). */
typedef struct {
	uint32_t tid;
	char name[32];
} named;

static int64_t period_ns = 1000000000;
static uint64_t last_ns;
static uint64_t events; /* profile events seen since start (or fork) */
static int slot = -1;	/* the journal's fd-guard slot, -1 until the first checkpoint */
static int failed;	/* the journal cannot be written: stop trying */
static ct_ckpt_buf buf;
static entry *entries; /* every key seen */
static size_t nentries, centries;
static ct_hindex entry_ix;
static uint32_t *dirty; /* entries changed since the last checkpoint */
static size_t ndirty, cdirty;
/* The journal's size, and the size at which it is rewritten in full (compact): 4 times
 * what the last full write took, at least 16 MiB, so that a long run's journal stays
 * within a small multiple of its profiles' size. */
static uint64_t journal_bytes, compact_at;
static uint64_t compact_min = 16u << 20; /* CTRACE_CHECKPOINT_COMPACT, for tests */
static uint64_t *stacks_written;	 /* bit per stack id */
static size_t stacks_words;
static int modules_written;
static named *tids_named; /* threads whose name is in the journal */
static size_t ntids, ctids;
static ct_hindex tid_ix;
static uint64_t lost_written = UINT64_MAX;
/* Checkpoints appended, the CPU time they took, and the longest one (the first, usually:
 * it writes every stack once). */
static uint64_t ncheckpoints, checkpoint_ns, checkpoint_max_ns;

static char journal_path[sizeof(ct_cfg.out_dir) + 32];

static int is_max(uint32_t kind, int k)
{
	return (kind == CT_CKPT_MUTEX || kind == CT_CKPT_BLOCK) && k == 2;
}

static void add(uint32_t kind, uint32_t stack, uint64_t a, uint64_t b, const int64_t *v, int n)
{
	events++;
	if (period_ns <= 0)
		return;
	uint32_t h =
		(uint32_t)ct_hash_u64(((uint64_t)kind << 32 | stack) ^ ct_hash_u64(a * 31 + b));
	if (ct_hindex_reserve(&entry_ix) < 0)
		return;
	size_t i = ct_hindex_home(&entry_ix, h);
	entry *e = NULL;
	for (; entry_ix.slots[i].idx1; i = ct_hindex_next(&entry_ix, i)) {
		entry *x = &entries[entry_ix.slots[i].idx1 - 1];
		if (entry_ix.slots[i].hash == h && x->kind == kind && x->stack == stack &&
		    x->a == a && x->b == b) {
			e = x;
			break;
		}
	}
	if (!e) {
		if (CT_VEC_RESERVE(entries, centries, nentries + 1) < 0)
			return;
		ct_hindex_fill(&entry_ix, i, h, (uint32_t)nentries);
		e = &entries[nentries++];
		*e = (entry){.kind = kind, .stack = stack, .a = a, .b = b};
	}
	if (!e->dirty) {
		if (CT_VEC_RESERVE(dirty, cdirty, ndirty + 1) < 0)
			return;
		dirty[ndirty++] = (uint32_t)(e - entries);
		e->dirty = 1;
	}
	for (int k = 0; k < n; k++) {
		e->v[k] = is_max(kind, k) ? (v[k] > e->v[k] ? v[k] : e->v[k]) : e->v[k] + v[k];
		e->d[k] = is_max(kind, k) ? (v[k] > e->d[k] ? v[k] : e->d[k]) : e->d[k] + v[k];
	}
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
	    !ct_lk_block_on())
		return;
	ct_lk_wait_ns(ev, &w);
	if (w.delay < ct_lk_block_min_ns)
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
	for (size_t i = 0; i < ntids; i++)
		if (tids_named[i].tid == ev->tid)
			snprintf(tids_named[i].name, sizeof(tids_named[i].name), "%s", c.name);
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
		if (tid_ix.slots[i].hash == h && tids_named[tid_ix.slots[i].idx1 - 1].tid == tid)
			return;
	if (CT_VEC_RESERVE(tids_named, ctids, ntids + 1) < 0)
		return;
	ct_hindex_fill(&tid_ix, i, h, (uint32_t)ntids);
	named *t = &tids_named[ntids++];
	t->tid = tid;
	char path[64], *name = t->name;
	*name = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, name, sizeof(t->name) - 1);
		close(fd);
		name[n > 0 ? n : 0] = 0;
		name[strcspn(name, "\n")] = 0;
	}
	if (!*name)
		snprintf(name, sizeof(t->name), "tid %u", tid);
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

/* The journal's magic and START record into b. */
static void put_head(ct_ckpt_buf *b)
{
	char cmd[256] = "";
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
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
	ct_ckpt_put_magic(b);
	ct_ckpt_put_start(b, &s);
}

/* Creates path (O_EXCL | O_NOFOLLOW: an earlier file is unlinked first, never written
 * through) holding b, and adopts its fd. The slot, or -errno. */
static int create_with(const char *path, const ct_ckpt_buf *b)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int s = ct_fdg_adopt(fd, CT_FDG_FILE);
	if (s < 0)
		return s;
	int wfd = b->oom ? -1 : ct_fdg_pin(s);
	ssize_t w = wfd < 0 ? -1 : write(wfd, b->data, b->len);
	if (wfd >= 0)
		ct_fdg_unpin();
	if (w != (ssize_t)b->len) {
		ct_fdg_release(s);
		unlink(path);
		return b->oom ? -ENOMEM : -EIO;
	}
	return s;
}

/* Creates the journal with its START record. 0, or -errno (then checkpoints stop). */
static int open_journal(void)
{
	int r = ct_out_dir_create();
	if (r < 0)
		return r;
	snprintf(journal_path, sizeof(journal_path), "%s/%s", ct_cfg.out_dir, CT_FILE_CHECKPOINT);
	ct_ckpt_buf head = {0};
	put_head(&head);
	slot = create_with(journal_path, &head);
	journal_bytes = head.len;
	compact_at = compact_min;
	ct_ckpt_buf_free(&head);
	return slot < 0 ? slot : 0;
}

static int nvalues(uint32_t kind)
{
	return kind == CT_CKPT_CPU ? 2 : kind == CT_CKPT_HEAP ? 4 : 3;
}

static ct_ckpt_commit commit_now(uint64_t now, uint64_t lost)
{
	return (ct_ckpt_commit){.mono_ns = now,
				.samples = ct_cpu_samples(),
				.lost = lost,
				.threads = ct_cpu_threads(),
				.events_lost = ct_collector_dropped()};
}

/* Puts to buf every entry with its running total (totals) or only the dirty ones with their
 * deltas, clears the deltas and closes the batch with a COMMIT. */
static void put_entries_and_commit(bool totals, uint64_t now, uint64_t lost)
{
	size_t n = totals ? nentries : ndirty;
	for (size_t i = 0; i < n; i++) {
		entry *e = &entries[totals ? i : dirty[i]];
		ct_ckpt_put_entry(&buf, e->kind, e->stack, e->a, e->b, totals ? e->v : e->d,
				  nvalues(e->kind));
		memset(e->d, 0, sizeof(e->d));
		e->dirty = 0;
	}
	ndirty = 0;
	ct_ckpt_commit c = commit_now(now, lost);
	ct_ckpt_put_commit(&buf, &c);
}

/* Rewrites the journal in full — START, every module, every stack and thread name in use,
 * every entry's running total — to a temporary name renamed over it, so that it never
 * holds less than a complete checkpoint. The pending deltas are in the totals. */
static void compact(uint64_t now, uint64_t lost)
{
	ct_ckpt_buf full = {0};
	put_head(&full);
	int n;
	const ct_module *m = ct_modules_all(&n);
	for (int i = 0; i < n; i++)
		ct_ckpt_put_module(&full, m[i].start, m[i].end, m[i].file_offset, m[i].path,
				   m[i].build_id);
	if (stacks_written)
		memset(stacks_written, 0, stacks_words * sizeof(*stacks_written));
	ct_ckpt_buf keep = buf; /* put_stack_once writes to buf: borrow it */
	buf = full;
	for (size_t i = 0; i < nentries; i++)
		put_stack_once(entries[i].stack);
	for (size_t i = 0; i < ntids; i++)
		ct_ckpt_put_thread(&buf, tids_named[i].tid, tids_named[i].name);
	put_entries_and_commit(true, now, lost);
	full = buf;
	buf = keep;
	buf.len = 0;
	char tmp[sizeof(journal_path) + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", journal_path, (int)getpid());
	int s = create_with(tmp, &full);
	if (s >= 0 && rename(tmp, journal_path) == 0) {
		ct_fdg_release(slot);
		slot = s;
		modules_written = n;
		journal_bytes = full.len;
		compact_at = 4 * full.len > compact_min ? 4 * full.len : compact_min;
	} else {
		if (s >= 0) {
			ct_fdg_release(s);
			unlink(tmp);
		}
		ct_log("checkpoint: cannot rewrite %s", journal_path);
		failed = 1;
	}
	ct_ckpt_buf_free(&full);
}

/* Appends one checkpoint: what changed since the previous one (or rewrites the journal
 * in full once it has grown past compact_at). */
static void checkpoint(uint64_t now)
{
	uint64_t lost = ct_cpu_lost_count();
	if (failed || (!ndirty && lost == lost_written))
		return;
	if (slot < 0) {
		int r = open_journal();
		if (r < 0) {
			ct_log("checkpoint: cannot write %s: %s", journal_path, strerror(-r));
			failed = 1;
			return;
		}
	}
	lost_written = lost;
	ncheckpoints++;
	if (journal_bytes > compact_at) {
		compact(now, lost);
		return;
	}
	int n;
	const ct_module *m = ct_modules_all(&n);
	for (; modules_written < n; modules_written++) {
		const ct_module *x = &m[modules_written];
		ct_ckpt_put_module(&buf, x->start, x->end, x->file_offset, x->path, x->build_id);
	}
	for (size_t i = 0; i < ndirty; i++) {
		put_stack_once(entries[dirty[i]].stack);
		if (entries[dirty[i]].kind == CT_CKPT_CPU)
			name_thread((uint32_t)entries[dirty[i]].a);
	}
	put_entries_and_commit(false, now, lost);
	int fd = buf.oom ? -1 : ct_fdg_pin(slot);
	ssize_t w = fd < 0 ? -1 : write(fd, buf.data, buf.len);
	if (fd >= 0)
		ct_fdg_unpin();
	if (w != (ssize_t)buf.len) {
		ct_log("checkpoint: cannot append to %s", journal_path);
		failed = 1;
	}
	journal_bytes += buf.len;
	buf.len = 0;
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
	ct_env_u64("CTRACE_CHECKPOINT_COMPACT", 0, UINT64_MAX, &compact_min);
	const char *v = getenv("CTRACE_CHECKPOINT");
	if (v && *v) {
		period_ns = ct_units_parse_duration(v);
		if (period_ns < 0) {
			ct_config_warn("CTRACE_CHECKPOINT=%s: not a duration; checkpoints every 1s",
				       v);
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
	nentries = ndirty = 0;
	/* The parent's tables are left, not freed or cleared (see lk_fork_child). */
	entry_ix = (ct_hindex){0};
	stacks_written = NULL;
	stacks_words = 0;
	modules_written = 0;
	ntids = 0;
	tid_ix = (ct_hindex){0};
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
