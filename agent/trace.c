/*
 * trace.c — the sched mode's source: streams the scheduler-event trace to DIR/trace.ctr
 * (docs/trace-format.md) through libtrace's writer (libtrace/tracewrite.h).
 *
 * It turns the events of the one dispatch into the writer's raw facts: context switches
 * (CT_EV_SWITCH, with the CPU and the preempt flag), names (perf COMM records and the
 * hooks' CT_EV_THREAD_NAME), thread lifecycle, every finished hook wait (CT_EV_LOCK_WAIT,
 * the record the block profile sums), unblock edges (CT_EV_UNBLOCK), CPU samples already
 * unwound by the CPU source (CT_EV_SAMPLE_STACK) and lost counts (perf's and our rings').
 *
 * Lifecycle. With the perf engine, PERF_RECORD_FORK/EXIT say when a thread of this process
 * was created and ended; the hooks' CT_EV_THREAD_START, emitted by the new thread itself,
 * adds the creator's stack. The two travel different rings (a short thread's EXIT is often
 * dispatched before its THREAD_START: perf rings are drained first), so the first one seen
 * waits in a small table (tid → what is known) until the other arrives, at most PENDING_NS;
 * then one CREATE is written (a thread made by raw clone() has no THREAD_START and is
 * created from its FORK alone). Events of a thread may be written in any order: readers
 * sort them by time. With the timer engine (or none) there are no perf records: the hooks'
 * THREAD_START/END are the lifecycle. Records of other processes (perf events a forked
 * child inherited report into our rings) are dropped by pid.
 *
 * Streaming. The writer is opened once the engine is chosen (the header says which, and
 * whether switches exist); the collector's tick flushes a chunk at least every 250 ms and
 * whenever more than 1 MiB is buffered, so memory stays bounded and a SIGKILL loses at
 * most the last chunk. At exit the waits still in progress (threads stuck inside a hook:
 * agent/waitreg.c's registry) are written as open waits, then the footer. A forked child
 * writes DIR/<pid>/trace.ctr. The file stops at CTRACE_TRACE_MAX_MB (cap), complete.
 * Windows. Every event written here also goes to the open window traces (tracewin.h:
 * /debug/pprof/trace?seconds=N, CTRACE_PERIOD), through EMIT, flushed with the trace.
 * Collector thread only (and the exit path after the collector stopped). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/fdguard.h"
#include "agent/internal.h"
#include "agent/lockprof.h"
#include "agent/tracenames.h"
#include "agent/tracewin.h"
#include "libtrace/traceann.h"
#include "libtrace/tracewrite.h"

#define FLUSH_NS 250000000ull	    /* a chunk at least this often */
#define FLUSH_BYTES (1u << 20)	    /* and whenever this much is buffered */
#define PENDING_NS 1000000000ull    /* how long half a creation waits for its other half */
#define EXIT_GRACE_NS 1000000000ull /* how long a written creation waits for a late start */
#define MAX_MODULES_OUT 4096

/* A thread creation of which one half was seen (file comment). Kept until both halves
 * were written, or, for one written from its FORK alone (overdue: a raw clone() thread),
 * until EXIT_GRACE_NS after its exit: a late THREAD_START then adds only the start. */
typedef struct {
	uint32_t tid;	  /* 0: empty slot */
	uint32_t creator; /* from FORK (ptid) or THREAD_START */
	uint32_t stack;	  /* THREAD_START: the pthread_create call's stack */
	uint8_t fork, start, written, exited;
	uint64_t fork_time, start_time;
	uint64_t seen; /* collector time the first half arrived, then the exit's */
} pending;

static struct {
	ct_tw *w;
	int slot; /* the file's fd guard slot (agent/fdguard.h), -1 when none */
	char path[4200];
	int failed; /* opening or writing failed: record nothing more */
	uint32_t pid;
	int perf_tasks; /* FORK/EXIT records exist (perf engine with the sched mode) */
	uint64_t last_flush;
	uint64_t ring_drops; /* our rings' drops already written as LOST */
	uint64_t early;	     /* events before the writer was open */
	uint64_t bad;	     /* malformed payloads and writer refusals */
	pending *pend;	     /* open addressing, linear probing; cap a power of two */
	uint32_t npend, cap;
	ct_tw_module *mods; /* scratch for ct_tw_set_modules */
	/* What reached the trace, logged at exit under CTRACE_VERBOSE ("sched: ..."). */
	uint64_t switches, outs, preempted, names, forks, exits, waits, unblocks, samples;
	uint64_t open_waits;
	uint64_t capped_at, capped_bytes; /* trace.ctr closed at its size cap: when, how big */
} tr = {.slot = -1};

/* ---- the pending-creation table ----------------------------------------------------------- */

static uint32_t slot_of(uint32_t tid)
{
	return (tid * 2654435761u) & (tr.cap - 1);
}

static pending *pend_find(uint32_t tid)
{
	if (!tr.cap)
		return NULL;
	for (uint32_t i = slot_of(tid);; i = (i + 1) & (tr.cap - 1)) {
		if (tr.pend[i].tid == tid)
			return &tr.pend[i];
		if (!tr.pend[i].tid)
			return NULL;
	}
}

static int pend_grow(void)
{
	uint32_t cap = tr.cap ? tr.cap * 2 : 64;
	pending *old = tr.pend, *n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	uint32_t oldcap = tr.cap;
	tr.pend = n;
	tr.cap = cap;
	for (uint32_t i = 0; i < oldcap; i++) {
		if (!old[i].tid)
			continue;
		uint32_t j = slot_of(old[i].tid);
		while (tr.pend[j].tid)
			j = (j + 1) & (cap - 1);
		tr.pend[j] = old[i];
	}
	free(old);
	return 0;
}

static pending *pend_add(uint32_t tid, uint64_t now)
{
	pending *p = pend_find(tid);
	if (p)
		return p;
	if ((tr.npend + 1) * 2 > tr.cap && pend_grow() < 0)
		return NULL;
	uint32_t i = slot_of(tid);
	while (tr.pend[i].tid)
		i = (i + 1) & (tr.cap - 1);
	tr.pend[i] = (pending){.tid = tid, .seen = now};
	tr.npend++;
	return &tr.pend[i];
}

/* Removes p, moving later entries of its probe run back (no tombstones). */
static void pend_del(pending *p)
{
	uint32_t i = (uint32_t)(p - tr.pend);
	tr.pend[i].tid = 0;
	tr.npend--;
	for (uint32_t j = (i + 1) & (tr.cap - 1); tr.pend[j].tid; j = (j + 1) & (tr.cap - 1)) {
		pending e = tr.pend[j];
		tr.pend[j].tid = 0;
		uint32_t k = slot_of(e.tid);
		while (tr.pend[k].tid)
			k = (k + 1) & (tr.cap - 1);
		tr.pend[k] = e;
	}
}

/* ---- writing ------------------------------------------------------------------------------ */

static void check(int rc)
{
	if (rc == -EINVAL) {
		tr.bad++;
	} else if (rc < 0) {
		ct_log("trace: cannot write %s: %s; trace stops here", CT_FILE_TRACE,
		       strerror(-rc));
		tr.failed = 1;
	}
}

/* Writes one event to the trace and to every open window trace (agent/tracewin.h). */
#define EMIT(fn, ...)                                                                              \
	do {                                                                                       \
		check(fn(tr.w, __VA_ARGS__));                                                      \
		for (int k_ = 0; k_ < CT_TRACE_WINDOWS; k_++)                                      \
			if (ct_trace_win[k_].w)                                                    \
				ct_win_result(&ct_trace_win[k_],                                   \
					      fn(ct_trace_win[k_].w, __VA_ARGS__));                \
	} while (0)

/* Names the new thread tid, made by creator at t (tracenames.h). */
static void name_new_thread(uint32_t creator, uint32_t tid, uint64_t t, bool exited)
{
	char name[CT_TN_LEN];
	if (ct_tn_new_thread(creator, tid, exited, name))
		EMIT(ct_tw_name, tid, t, name);
}

/* Writes what is known of p's creation (the one CREATE, then its START when known) and
 * forgets p once nothing more can come. Returns whether p was removed. */
static bool pend_write(pending *p)
{
	if (!p->written) {
		uint64_t t = p->fork ? p->fork_time : p->start_time;
		EMIT(ct_tw_create, p->creator, t, p->tid, p->stack);
		name_new_thread(p->creator, p->tid, t, p->exited);
		p->written = 1;
	}
	if (p->start)
		EMIT(ct_tw_start, p->tid, p->start_time);
	if (p->start || !tr.perf_tasks) {
		pend_del(p);
		return true;
	}
	return false;
}

/* Writes the creations whose other half is overdue, forgets those whose thread ended long
 * ago (everything when now is UINT64_MAX). */
static void pend_expire(uint64_t now)
{
	bool all = now == UINT64_MAX;
	for (uint32_t i = 0; i < tr.cap;) {
		pending *p = &tr.pend[i];
		bool gone = false;
		if (p->tid && !p->written && (all || now - p->seen > PENDING_NS))
			gone = pend_write(p);
		if (!gone && p->tid && p->written &&
		    (all || (p->exited && now - p->seen > EXIT_GRACE_NS))) {
			pend_del(p);
			gone = true;
		}
		if (!gone) /* else a later entry may have moved into slot i: look at it again */
			i++;
	}
}

/* The entry of a new life of tid: a left-over one of an earlier life (the tid was reused
 * before the other half came) is written and dropped first. half: FORK (0) or START (1). */
static pending *pend_life(uint32_t tid, int half)
{
	pending *p = pend_find(tid);
	if (p && (half ? p->start : p->fork) && !pend_write(p))
		pend_del(p);
	p = pend_add(tid, ct_now());
	if (!p)
		tr.bad++;
	return p;
}

static void set_modules(void)
{
	if (atomic_load_explicit(&ct_modules_dirty, memory_order_relaxed)) {
		ct_modules_hold();
		ct_modules_refresh();
		ct_modules_release();
	}
	int n;
	const ct_module *m = ct_modules_all(&n);
	if (!tr.mods && !(tr.mods = malloc(MAX_MODULES_OUT * sizeof(*tr.mods)))) /* k used */
		return;
	uint32_t k = 0;
	for (int i = 0; i < n && k < MAX_MODULES_OUT; i++)
		tr.mods[k++] = (ct_tw_module){.path = m[i].path,
					      .build_id = m[i].build_id,
					      .start = m[i].start,
					      .end = m[i].end,
					      .file_offset = m[i].file_offset};
	EMIT(ct_tw_set_modules, tr.mods, k);
}

/* Events lost since the last chunk: our rings' drops (the kernel's come as CT_EV_LOST). */
static void note_ring_drops(uint64_t now)
{
	uint64_t d = ct_collector_dropped();
	if (d > tr.ring_drops) {
		EMIT(ct_tw_lost, now, d - tr.ring_drops, "ring records");
		tr.ring_drops = d;
	}
	if (tr.early) {
		check(ct_tw_lost(tr.w, now, tr.early, "events before the trace started"));
		tr.early = 0;
	}
}

/* Before the writer writes: the file's current fd (the fd guard moves ours away when the
 * program dup2()s onto its number), else the file opened again where the writer left it
 * (the program closed our number, e.g. a raw close_range, and may reuse it: never written).
 * 0 with the fd pinned until the writes end (ct_fdg_unpin), or -1: the trace given up. */
static int own_fd(void)
{
	int fd = ct_fdg_pin(tr.slot);
	if (fd < 0) {
		ct_fdg_release(tr.slot); /* forgotten: frees the slot, closes nothing */
		fd = open(tr.path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && lseek(fd, (off_t)ct_tw_offset(tr.w), SEEK_SET) < 0) {
			close(fd);
			fd = -1;
		}
		tr.slot = fd < 0 ? -1 : ct_fdg_adopt(fd, CT_FDG_FILE);
		fd = ct_fdg_pin(tr.slot);
	}
	if (fd < 0) {
		ct_log("trace: lost %s and cannot open it again", tr.path);
		return -1;
	}
	ct_tw_set_fd(tr.w, fd);
	return 0;
}

/* trace.ctr reached CTRACE_TRACE_MAX_MB: closed there, complete, its last event saying why
 * it ends early. The writer goes on into /dev/null: the windows get every event with it. */
static void cap(uint64_t now)
{
	tr.capped_at = now;
	tr.capped_bytes = ct_tw_offset(tr.w);
	check(ct_tw_lost(tr.w, now, 1, CT_TRACE_CAP_REASON));
	if (own_fd() == 0) {
		check(ct_tw_close(tr.w, now));
		ct_fdg_unpin();
	} else {
		ct_tw_free(tr.w);
	}
	tr.w = NULL;
	ct_fdg_release(tr.slot);
	snprintf(tr.path, sizeof(tr.path), "/dev/null");
	int fd = open(tr.path, O_WRONLY | O_CLOEXEC);
	tr.slot = fd < 0 ? -1 : ct_fdg_adopt(fd, CT_FDG_FILE);
	char args[4096];
	const char *argv[64];
	ct_tw_info info = ct_trace_header(args, sizeof(args), argv, 64);
	if (tr.slot < 0 || ct_tw_open(&tr.w, ct_fdg_get(tr.slot), &info) < 0) {
		tr.w = NULL;
		tr.failed = 1;
	}
}

void ct_trace_warning(char *buf, size_t len)
{
	if (tr.capped_at)
		ct_warning_add(buf, len,
			       "trace.ctr stopped at its size cap (%llu MiB, CTRACE_TRACE_MAX_MB) "
			       "%.1f s after the start; the profiles cover the whole run",
			       (unsigned long long)(tr.capped_bytes >> 20),
			       (double)(tr.capped_at - ct_start_clock.mono_ns) / 1e9);
}

static void flush(uint64_t now)
{
	if (own_fd() < 0) {
		tr.failed = 1;
		return;
	}
	note_ring_drops(now);
	set_modules();
	check(ct_tw_flush(tr.w, now));
	ct_fdg_unpin();
	ct_win_flush(now);
	tr.last_flush = now;
	if (ct_cfg.trace_max && !tr.capped_at && ct_tw_offset(tr.w) >= ct_cfg.trace_max)
		cap(now);
}

/* Opens DIR/trace.ctr once the engine is known (its header says which). 1 when open. */
static int ensure_open(void)
{
	if (tr.w)
		return 1;
	if (tr.failed || !ct_engine_known())
		return 0;
	char args[4096];
	const char *argv[64];
	snprintf(tr.path, sizeof(tr.path), "%s/%s", ct_cfg.out_dir, CT_FILE_TRACE);
	/* A forked child's DIR/<pid> is made by its first write; a trace of an earlier run is
	 * replaced, never written through (O_EXCL | O_NOFOLLOW after the unlink). The fd is
	 * the agent's own: held high by the fd guard and checked before every chunk. */
	if (ct_out_dir_create() == 0)
		unlink(tr.path);
	int fd = open(tr.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	tr.slot = fd < 0 ? -errno : ct_fdg_adopt(fd, CT_FDG_FILE);
	if (tr.slot < 0) {
		ct_log("trace: cannot create %s: %s", tr.path, strerror(-tr.slot));
		tr.failed = 1;
		return 0;
	}
	tr.pid = (uint32_t)getpid();
	tr.perf_tasks = ct_engine_get() == CT_ENGINE_PERF;
	ct_tw_info info = ct_trace_header(args, sizeof(args), argv, 64);
	int rc = ct_tw_open(&tr.w, ct_fdg_get(tr.slot), &info);
	if (rc < 0) {
		ct_log("trace: cannot write %s: %s", tr.path, strerror(-rc));
		tr.failed = 1;
		tr.w = NULL;
		return 0;
	}
	tr.last_flush = ct_now();
	char name[CT_TN_LEN] = "";
	if (ct_tn_read(tr.pid, name))
		EMIT(ct_tw_name, tr.pid, ct_start_clock.mono_ns, name);
	ct_tn_reset(name);
	return 1;
}

/* The writer, when this event should be written; counts events that come too early. */
static ct_tw *writer(void)
{
	if (ensure_open())
		return tr.w;
	if (!tr.failed)
		tr.early++;
	return NULL;
}

/* ---- subscribers ---------------------------------------------------------------------------- */

static void after_event(void)
{
	if (tr.w && ct_tw_pending(tr.w) > FLUSH_BYTES)
		flush(ct_now());
}

static void on_switch(const ct_event *ev)
{
	ct_ev_switch sw;
	ct_tw *w = writer();
	if (!w || !ct_event_get(ev, &sw, sizeof(sw)) || sw.pid != tr.pid)
		return;
	tr.switches++;
	tr.outs += (sw.flags & CT_SWITCH_OUT) != 0;
	tr.preempted += (sw.flags & CT_SWITCH_PREEMPT) != 0;
	if (sw.flags & CT_SWITCH_OUT)
		EMIT(ct_tw_switch_out, ev->tid, ev->time, sw.cpu,
		     (sw.flags & CT_SWITCH_PREEMPT) != 0);
	else
		EMIT(ct_tw_switch_in, ev->tid, ev->time, sw.cpu);
	after_event();
}

static void on_comm(const ct_event *ev)
{
	ct_ev_comm c;
	ct_tw *w = writer();
	if (!w || !ct_event_get(ev, &c, sizeof(c)))
		return;
	/* perf COMM records carry the process; the hooks' names are our own threads'. */
	if (ev->type == CT_EV_COMM && c.pid != tr.pid)
		return;
	c.name[sizeof(c.name) - 1] = 0;
	tr.names++;
	ct_tn_set(ev->tid, c.name);
	EMIT(ct_tw_name, ev->tid, ev->time, c.name);
	after_event();
}

static void on_fork(const ct_event *ev)
{
	ct_ev_task t;
	if (!writer() || !ct_event_get(ev, &t, sizeof(t)) || t.pid != tr.pid || ev->tid == t.pid)
		return;
	tr.forks++;
	pending *p = pend_life(ev->tid, 0);
	if (!p)
		return;
	p->fork = 1;
	p->fork_time = ev->time;
	if (!p->start)
		p->creator = t.ptid;
	else
		pend_write(p);
}

static void on_exit_task(const ct_event *ev)
{
	ct_ev_task t;
	ct_tw *w = writer();
	if (!w || !ct_event_get(ev, &t, sizeof(t)) || t.pid != tr.pid)
		return;
	/* A pending creation stays: a short thread's EXIT (perf ring) is often dispatched
	 * before its THREAD_START (user ring, drained after); the model orders them by time. */
	pending *p = pend_find(ev->tid);
	if (p) {
		p->exited = 1;
		p->seen = ct_now();
	}
	tr.exits++;
	ct_tn_gone(ev->tid);
	EMIT(ct_tw_exit, ev->tid, ev->time);
}

static void on_thread_start(const ct_event *ev)
{
	ct_ev_thread_start s;
	ct_tw *w = writer();
	if (!w || !ct_event_get(ev, &s, sizeof(s)))
		return;
	if (!tr.perf_tasks) { /* no FORK records: this is the creation */
		EMIT(ct_tw_create, s.creator, ev->time, ev->tid, s.create_stack);
		EMIT(ct_tw_start, ev->tid, ev->time);
		name_new_thread(s.creator, ev->tid, ev->time, false);
		return;
	}
	pending *p = pend_life(ev->tid, 1);
	if (!p)
		return;
	p->start = 1;
	p->start_time = ev->time;
	p->creator = s.creator;
	p->stack = s.create_stack;
	if (p->fork) /* complete now (or its creation was already written from the FORK) */
		pend_write(p);
}

static void on_thread_end(const ct_event *ev)
{
	ct_tw *w = writer();
	if (w && !tr.perf_tasks) { /* with perf, its EXIT record is the end */
		ct_tn_gone(ev->tid);
		EMIT(ct_tw_exit, ev->tid, ev->time);
	}
}

static void on_wait(const ct_event *ev)
{
	ct_ev_lock_wait lw;
	ct_tw *w = writer();
	if (!w || !ct_event_get(ev, &lw, sizeof(lw)))
		return;
	ct_lk_wait_ns(ev, &lw);
	tr.waits++;
	EMIT(ct_tw_wait, ev->tid, lw.start, lw.start + lw.delay, (ct_wait_reason)lw.reason, lw.obj,
	     lw.stack);
	after_event();
}

static void on_unblock(const ct_event *ev)
{
	ct_ev_unblock u;
	ct_tw *w = writer();
	if (!w || !ct_event_get(ev, &u, sizeof(u)))
		return;
	tr.unblocks++;
	EMIT(ct_tw_unblock, ev->tid, ev->time, u.woken, u.obj, u.stack);
	after_event();
}

static void on_sample(const ct_event *ev)
{
	ct_ev_sample_stack s;
	ct_tw *w = writer();
	if (!w || !ct_event_get(ev, &s, sizeof(s)) || s.pid != tr.pid)
		return;
	tr.samples++;
	EMIT(ct_tw_sample, ev->tid, ev->time, s.stack, s.weight_ns);
	after_event();
}

static void on_lost(const ct_event *ev)
{
	ct_ev_lost l;
	ct_tw *w = writer();
	if (w && ct_event_get(ev, &l, sizeof(l)))
		EMIT(ct_tw_lost, ev->time, l.count, "perf records");
}

/* ---- window traces (agent/tracewin.h) ------------------------------------------------------ */

int ct_trace_window_open(int slot)
{
	if (!(ct_cfg.modes & CT_MODE_SCHED) || tr.failed)
		return -ENOENT;
	if (!ensure_open())
		return tr.failed ? -ENOENT : -EAGAIN;
	char args[4096];
	const char *argv[64];
	ct_tw_info info = ct_trace_header(args, sizeof(args), argv, 64);
	return ct_win_open(slot, &info, ct_now());
}

int ct_trace_window_close(int id)
{
	if (tr.w)
		set_modules(); /* a window shorter than a tick has not placed its frames yet */
	return ct_win_close(id, ct_now());
}

/* ---- annotations (include/ctrace/annotate.h) ----------------------------------------------- */

static void on_annot(const ct_event *ev)
{
	ct_ev_annot a;
	char name[CT_ANN_NAME_MAX + 1], msg[CT_ANN_MSG_MAX + 1];
	if (!writer())
		return;
	if (!ct_event_get_annot(ev, &a, name, msg)) {
		tr.bad++;
		return;
	}
	if (ev->type == CT_EV_ANN_REGION_BEGIN || ev->type == CT_EV_ANN_REGION_END)
		ct_win_region(ev->tid, ev->type == CT_EV_ANN_REGION_BEGIN, name, a.task, a.depth,
			      a.stack);
	if (ev->type == CT_EV_ANN_REGION_BEGIN)
		EMIT(ct_tw_region_begin, ev->tid, ev->time, name, a.task, a.depth, a.stack);
	else if (ev->type == CT_EV_ANN_REGION_END)
		EMIT(ct_tw_region_end, ev->tid, ev->time, name, a.task, a.depth, a.stack);
	else if (ev->type == CT_EV_ANN_TASK_BEGIN)
		EMIT(ct_tw_task_begin, ev->tid, ev->time, a.task, a.parent, name, a.stack);
	else if (ev->type == CT_EV_ANN_TASK_END)
		EMIT(ct_tw_task_end, ev->tid, ev->time, a.task, a.stack);
	else
		EMIT(ct_tw_log, ev->tid, ev->time, a.task, name, msg, a.stack);
	after_event();
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static void trace_tick(uint64_t now)
{
	if (!ensure_open())
		return;
	ct_ann_ring_drain(); /* the threads' region records up to now, before a chunk closes */
	pend_expire(now);
	if (now - tr.last_flush >= FLUSH_NS || ct_tw_pending(tr.w) > FLUSH_BYTES)
		flush(now);
}

/* A thread still inside a blocking hook at exit (leaked or stuck): its wait, open-ended. */
static void write_open_wait(const ct_lk_open_wait *ow, void *arg)
{
	(void)arg;
	tr.open_waits++;
	check(ct_tw_wait(tr.w, ow->tid, ow->begin, CT_TW_OPEN, (ct_wait_reason)ow->reason, ow->obj,
			 ow->stack));
}

static void trace_finish(void)
{
	if (!ensure_open())
		return;
	uint64_t end = ct_stop_mono ? ct_stop_mono : ct_now();
	pend_expire(UINT64_MAX);
	ct_lk_open_waits(write_open_wait, NULL);
	note_ring_drops(end);
	set_modules();
#define U64 "%" PRIu64
	ct_log("sched: " U64 " switch events (" U64 " out, " U64 " preempted), " U64 " names, " U64
	       " fork, " U64 " exit, " U64 " waits (" U64 " open at exit), " U64 " unblocks, " U64
	       " samples, " U64 " refused",
	       tr.switches, tr.outs, tr.preempted, tr.names, tr.forks, tr.exits, tr.waits,
	       tr.open_waits, tr.unblocks, tr.samples, tr.bad);
#undef U64
	ct_tw_stats st;
	ct_tw_get_stats(tr.w, &st);
	int rc = -EBADF;
	if (own_fd() == 0) {
		rc = ct_tw_close(tr.w, end);
		ct_fdg_unpin();
	}
	tr.w = NULL;
	if (rc < 0)
		ct_log("trace: cannot finish %s: %s", CT_FILE_TRACE, strerror(-rc));
	else
		ct_log("trace: %llu events in %llu chunks, %llu bytes",
		       (unsigned long long)st.events, (unsigned long long)st.chunks + 1,
		       (unsigned long long)st.bytes);
	ct_fdg_release(tr.slot);
	tr.slot = -1;
	ct_win_drop(1); /* a /debug/pprof/trace still open: its request gets an error */
}

/* In a forked child: the parent's writer and table may have been mid-call in its collector
 * when the process forked, so they are abandoned (not freed) and the descriptor closed; the child
 * opens its own DIR/<pid>/trace.ctr once its engine is chosen. */
static void trace_fork_child(void)
{
	if (tr.slot >= 0)
		ct_fdg_release(tr.slot);
	ct_tw_module *mods = tr.mods;
	memset(&tr, 0, sizeof(tr));
	tr.slot = -1;
	tr.mods = mods;
	ct_win_drop(0);
}

static const ct_subscription trace_subs[] = {
	{CT_EV_SWITCH, on_switch},
	{CT_EV_COMM, on_comm},
	{CT_EV_THREAD_NAME, on_comm},
	{CT_EV_FORK, on_fork},
	{CT_EV_EXIT, on_exit_task},
	{CT_EV_THREAD_START, on_thread_start},
	{CT_EV_THREAD_END, on_thread_end},
	{CT_EV_LOCK_WAIT, on_wait},
	{CT_EV_UNBLOCK, on_unblock},
	{CT_EV_SAMPLE_STACK, on_sample},
	{CT_EV_LOST, on_lost},
	{CT_EV_ANN_REGION_BEGIN, on_annot},
	{CT_EV_ANN_REGION_END, on_annot},
	{CT_EV_ANN_TASK_BEGIN, on_annot},
	{CT_EV_ANN_TASK_END, on_annot},
	{CT_EV_ANN_LOG, on_annot},
	{0, NULL},
};

CT_SOURCE(trace_source) = {
	.name = "sched",
	.mode = CT_MODE_SCHED,
	.subs = trace_subs,
	.finish = trace_finish,
	.tick = trace_tick,
	.fork_child = trace_fork_child,
};
