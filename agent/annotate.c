/*
 * annotate.c — the entry points include/ctrace/annotate.h calls (the exported table
 * ctrace_annotate_v1): per-thread label and region stacks, task ids, and the records
 * that carry regions, tasks, logs (events.h, CT_EV_ANN_*: the trace source draws them) and
 * label changes (CT_EV_ANN_LABEL: the CPU source matches samples against them).
 *
 * The stacks are thread-local and bounded (CT_ANN_DEPTH); they are kept whether or not
 * the agent records (before the constructor, under CTRACE_DISABLE, after exit), so that
 * pushes and pops stay paired; records are emitted only while recording, regions, tasks
 * and logs when the trace (sched mode) records, label changes when the CPU mode does.
 * Region begins and ends and label changes — the calls a program makes per request —
 * go to the thread's own ring (annring.c: 16 bytes, an interned name, a ct_fast_now
 * stamp); tasks, logs, and whatever a thread's ring refuses go through the shared rings.
 *
 * Misuse never reaches the program: it is ignored or truncated and counted per kind
 * (ct_ann_misuse → summary.txt). A call that interrupts another annotation call of its
 * own thread (a signal handler) is ignored whole, so the interrupted call's stack update
 * is never torn; its pair, interrupting too, is ignored the same way.
 *
 * Hot path: everything but ctrace_log is allocation-free, lock-free and async-signal-safe.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/ann.h"
#include "agent/annring.h"
#include "agent/hot.h"
#include "agent/internal.h"
#include "agent/sighooks.h"
#define CTRACE_ANNOTATE_ABI_ONLY
#include "include/ctrace/annotate.h"
#include "libtrace/clock.h"

/* Misuse kinds, in summary order. */
enum {
	M_LABEL_POP,	  /* pop without a push */
	M_LABEL_DEEP,	  /* push beyond CT_ANN_DEPTH (ignored, and so is its pop) */
	M_LABEL_FULL,	  /* label table full: the push added nothing */
	M_REGION_END,	  /* end without a begin */
	M_REGION_DEEP,	  /* begin beyond CT_ANN_DEPTH */
	M_TASK_UNKNOWN,	  /* end of a task id never begun, or ended twice */
	M_TASK_UNTRACKED, /* more tasks open at once than the table tracks */
	M_NULL,		  /* NULL name, key, value, category or format */
	M_TRUNCATED,	  /* a name or label over its bound, truncated */
	M_REENTRANT,	  /* a call interrupting another of its thread (signal handler) */
	M_FORK,		  /* a region the forked child inherited, ended in the child */
	M_NKINDS
};
static const char *const misuse_names[M_NKINDS] = {
	"label_pop_without_push",   "label_too_deep",  "label_table_full",
	"region_end_without_begin", "region_too_deep", "task_end_unknown",
	"task_untracked",	    "null_argument",   "truncated",
	"reentrant_call",	    "fork_inherited"};
static _Atomic uint64_t misuse[M_NKINDS];
_Atomic int ct_ann_sample_labels; /* ann.h */
/* Records that took the shared rings because their thread's ring was full or missing:
 * relaxed, for the verbose log at exit. */
static _Atomic uint64_t shared_records;
static _Atomic uint64_t label_async; /* threads whose label changes went to stamps */

static void count(int kind)
{
	atomic_fetch_add_explicit(&misuse[kind], 1, memory_order_relaxed);
}

uint64_t ct_ann_misuse(char *buf, size_t len)
{
	uint64_t total = 0;
	size_t at = 0;
	if (len)
		buf[0] = 0;
	for (int k = 0; k < M_NKINDS; k++) {
		uint64_t n = atomic_load_explicit(&misuse[k], memory_order_relaxed);
		if (!n)
			continue;
		total += n;
		int w = snprintf(buf + at, len > at ? len - at : 0, "%s%s=%llu", at ? " " : "",
				 misuse_names[k], (unsigned long long)n);
		if (w > 0)
			at += (size_t)w;
	}
	return total;
}

void ct_ann_misuse_line(char *buf, size_t len)
{
	char kinds[400];
	uint64_t n = ct_ann_misuse(kinds, sizeof(kinds));
	if (n && len)
		snprintf(buf, len, "%llu (%s)", (unsigned long long)n, kinds);
}

/* ---- per-thread state (initial-exec TLS: async-signal-safe, no allocation) ---- */
typedef struct {
	uint64_t task;
	uint32_t emitted;   /* the begin record went out: the end may too */
	uint32_t inherited; /* opened before a fork, in the parent */
} region_slot;

/* A thread's regions and the flag that keeps its annotation calls from nesting (a signal
 * handler's call inside another): one TLS block, so that a region's begin or end finds all
 * of it from one offset. */
typedef struct {
	int busy;
	uint32_t nregions, over; /* open regions; begins past CT_ANN_DEPTH, counted only */
	uint32_t name_id;	 /* the id of name_ptr */
	const char *name_ptr;	 /* the last region name, when a literal */
	region_slot regions[CT_ANN_DEPTH];
} ann_thread;
static __thread ann_thread tls_ann CT_ANN_IE;
static __thread uint32_t tls_labels[CT_ANN_DEPTH]; /* the set after each push */
static __thread uint32_t tls_nlabels, tls_labels_over;
/* Whether the perf engine's SIGTRAP reads this thread's labels (labelsig.c): unknown
 * until its first label change, then read, or stamped for good once the thread blocks
 * SIGTRAP (its signals would come late, or never): its changes are then recorded. */
enum { LABELS_UNKNOWN, LABELS_READ, LABELS_STAMPED };
static __thread int tls_label_mode;

/* tls_nlabels' and tls_labels' offsets from the thread pointer, on the hooks' hot page
 * (hot.h): every stack a hook records asks for the thread's labels, after the hook's
 * system call, when the GOT's page is one more page walk. Set by a constructor; relaxed
 * (0 reads the variables as usual). */
static intptr_t nlabels_off CT_HOT_DATA, labels_off CT_HOT_DATA;

__attribute__((constructor)) static void ann_offsets(void)
{
	__atomic_store_n(&labels_off, ct_tls_offset(tls_labels), __ATOMIC_RELAXED);
	__atomic_store_n(&nlabels_off, ct_tls_offset(&tls_nlabels), __ATOMIC_RELAXED);
}

CT_HOT_FN uint32_t ct_ann_current(void)
{
	intptr_t no = __atomic_load_n(&nlabels_off, __ATOMIC_RELAXED);
	intptr_t lo = __atomic_load_n(&labels_off, __ATOMIC_RELAXED);
	if (__builtin_expect(!no || !lo, 0)) {
		uint32_t n = tls_nlabels;
		return n ? tls_labels[n - 1] : 0;
	}
	uint32_t n = *(const uint32_t *)ct_tls_at(no);
	return n ? ((const uint32_t *)ct_tls_at(lo))[n - 1] : 0;
}

static int enter(void)
{
	if (tls_ann.busy) {
		count(M_REENTRANT);
		return 0;
	}
	tls_ann.busy = 1;
	atomic_signal_fence(memory_order_seq_cst); /* the flag is set before any update */
	return 1;
}

static void leave(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	tls_ann.busy = 0;
}

static int recording(unsigned mode)
{
	return ct_active() && (ct_cfg.modes & mode);
}

/* ---- records ---- */

/* Emits one CT_EV_ANN_* record: hdr, then name (truncated to CT_ANN_NAME_MAX) and msg. */
static int emit_annot(uint16_t type, ct_ev_annot *hdr, const char *name, const char *msg,
		      size_t msg_len)
{
	size_t nl = name ? strnlen(name, CT_ANN_NAME_MAX + 1) : 0;
	if (nl > CT_ANN_NAME_MAX) {
		count(M_TRUNCATED);
		nl = CT_ANN_NAME_MAX;
	}
	hdr->name_len = (uint16_t)nl;
	hdr->msg_len = (uint16_t)msg_len;
	ct_rec *rec = ct_emit_reserve(type, (uint32_t)(sizeof(*hdr) + nl + msg_len));
	if (!rec)
		return 0; /* counted by the ring */
	char *p = ct_rec_payload(rec);
	memcpy(p, hdr, sizeof(*hdr));
	memcpy(p + sizeof(*hdr), name, nl);
	if (msg_len)
		memcpy(p + sizeof(*hdr) + nl, msg, msg_len);
	rec->tid = ct_gettid();
	rec->time = ct_now();
	ct_emit_commit(rec);
	return 1;
}

/* A CT_EV_ANN_LABEL record of the thread's current set: a change (kind 0) or an
 * observation (CT_ANN_OBSERVED). The thread's own ring unless shared (the ring is in use:
 * a signal handler interrupted an annotation call) or the ring refuses. */
static void emit_label(uint16_t kind, int shared)
{
	uint32_t rec[2] = {ct_ann_current(), kind};
	if (shared || ct_ann_ring_put(CT_EV_ANN_LABEL, rec[0], kind) < 0) {
		atomic_fetch_add_explicit(&shared_records, 1, memory_order_relaxed);
		ct_emit(CT_EV_ANN_LABEL, 0, rec, sizeof(rec));
	}
}

/* This thread's labels can no longer be read at its samples: record its changes from now
 * on, starting with the set it has. */
static void stamp_from_now(int busy)
{
	if (tls_label_mode == LABELS_STAMPED)
		return;
	tls_label_mode = LABELS_STAMPED;
	atomic_fetch_add_explicit(&label_async, 1, memory_order_relaxed);
	if (recording(CT_MODE_CPU))
		emit_label(0, busy);
}

/* The thread's label set changed: the CPU source's timeline needs it, unless the samples
 * read the set themselves (the timer's handler, or the perf engine's SIGTRAP for a thread
 * that does not block it). */
static void emit_label_change(void)
{
	if (!recording(CT_MODE_CPU))
		return;
	if (atomic_load_explicit(&ct_ann_sample_labels, memory_order_relaxed)) {
		if (__builtin_expect(tls_label_mode == LABELS_UNKNOWN, 0)) {
			/* A thread may start with SIGTRAP blocked (its creator's mask). */
			if (ct_perf_label_signal() && ct_sig_blocked(SIGTRAP)) {
				stamp_from_now(1);
				return; /* that record carries this change */
			}
			tls_label_mode = LABELS_READ;
		}
		if (tls_label_mode == LABELS_READ)
			return;
	}
	emit_label(0, 0);
}

void ct_ann_observe(int async)
{
	if (!recording(CT_MODE_CPU) || tls_label_mode == LABELS_STAMPED)
		return;
	int busy = tls_ann.busy; /* the handler interrupted an annotation call of this thread */
	/* A signal that waited while SIGTRAP was blocked comes flagged asynchronous. Inside the
	 * agent (a hook's stack capture: libunwind blocks every signal around its cache and
	 * dl_iterate_phdr) the block was the agent's own and brief, and no label changed since
	 * the sample: the set is the sample's. Elsewhere the thread blocked SIGTRAP out of our
	 * sight (glibc's internal blocks, a raw system call): the set now may not be the
	 * sample's, and its later samples may come late too. */
	if (async && !ct_tls_guard)
		stamp_from_now(busy);
	else
		emit_label(CT_ANN_OBSERVED, busy);
}

void ct_ann_label_blocked(int event, const void *caller)
{
	if (event != CT_SIG_BLOCKED)
		return;
	/* libunwind blocks every signal around its caches: at a thread's exit (its per-thread
	 * cache's destructor runs outside any hook) that block is still the agent's. */
	if (!ct_perf_label_signal() || ct_stack_in_unwinder(caller))
		return;
	/* Shared rings when this call came inside an annotation call (a handler). */
	stamp_from_now(tls_ann.busy);
}

void ct_ann_label_warning(char *buf, size_t len)
{
	uint64_t n = atomic_load_explicit(&label_async, memory_order_relaxed);
	if (n)
		ct_warning_add(
			buf, len,
			"%llu thread(s) block SIGTRAP: their label changes were stamped, not "
			"read at each sample",
			(unsigned long long)n);
}

/* The interned id of a region's name (the lookup, out of line). A thread that keeps
 * beginning the same literal (a string in a read-only segment, which cannot change) finds
 * it in region_name without a call. */
static __attribute__((noinline)) uint32_t region_name_slow(const char *name, int *trunc)
{
	uint32_t id = ct_ann_name_intern(name, trunc);
	if (id && !*trunc && ct_ann_constant(name)) {
		tls_ann.name_ptr = name;
		tls_ann.name_id = id;
	}
	return id;
}

static inline uint32_t region_name(const char *name, int *trunc)
{
	return name == tls_ann.name_ptr ? tls_ann.name_id : region_name_slow(name, trunc);
}

/* emit_region's other cases: a task's region, a truncated name, an unknown name, or a
 * thread ring that refused (tried: the plain record was already offered to it). */
static __attribute__((noinline)) int emit_region_slow(uint16_t type, uint64_t task, uint16_t depth,
						      const char *name, uint32_t id, int trunc,
						      int tried)
{
	if ((id || !name) && !tried && ct_ann_ring_push(type, id, depth, task) == 0) {
		if (trunc)
			count(M_TRUNCATED);
		return 1;
	}
	atomic_fetch_add_explicit(&shared_records, 1, memory_order_relaxed);
	ct_ev_annot h = {.task = task, .depth = depth};
	return emit_annot(type, &h, name, NULL, 0); /* counts a truncation itself */
}

/* A region's begin (name) or end (name NULL) record: 1 when it went out. Inline: the
 * common case is a few stores and the stamp. */
static inline __attribute__((always_inline)) int emit_region(uint16_t type, uint64_t task,
							     uint16_t depth, const char *name)
{
	uint32_t id = 0;
	int trunc = 0;
	if (name)
		id = region_name(name, &trunc);
	if (__builtin_expect(!task && !trunc && (id || !name), 1)) {
		if (ct_ann_ring_put(type, id, depth) == 0)
			return 1;
		return emit_region_slow(type, task, depth, name, id, trunc, 1);
	}
	return emit_region_slow(type, task, depth, name, id, trunc, 0);
}

/* ---- labels ---- */

/* Room for a push on a per-thread stack of depth levels: false when it is full (the level is
 * counted in *over instead, and as misuse kind deep). */
static bool push_room(uint32_t *over, uint32_t depth, int deep)
{
	if (depth < CT_ANN_DEPTH)
		return true;
	(*over)++;
	count(deep);
	return false;
}

/* A pop of a per-thread stack whose levels past CT_ANN_DEPTH were counted in *over, not
 * pushed: true when the caller pops a real level; false when it took off a counted one, or
 * when the stack is empty (counted as misuse kind empty). */
static bool pop_real(uint32_t *over, uint32_t depth, int empty)
{
	if (*over) {
		(*over)--;
		return false;
	}
	if (!depth) {
		count(empty);
		return false;
	}
	return true;
}

static void label_push(const char *key, const char *value)
{
	if (!enter())
		return;
	if (!push_room(&tls_labels_over, tls_nlabels, M_LABEL_DEEP)) {
		leave();
		return;
	}
	uint32_t cur = ct_ann_current(), set = cur;
	if (!key || !value) {
		count(M_NULL);
	} else {
		int trunc = 0;
		set = ct_ann_set_intern(cur, key, value, &trunc);
		if (trunc)
			count(M_TRUNCATED);
		if (!set) {
			count(M_LABEL_FULL);
			set = cur;
		}
	}
	tls_labels[tls_nlabels] = set;
	atomic_signal_fence(memory_order_release); /* the slot before the depth that shows it */
	tls_nlabels++;
	if (set && !atomic_load_explicit(&ct_ann_pushed, memory_order_relaxed))
		atomic_store_explicit(&ct_ann_pushed, 1, memory_order_relaxed);
	if (set != cur)
		emit_label_change();
	leave();
}

static void label_pop(void)
{
	if (!enter())
		return;
	if (pop_real(&tls_labels_over, tls_nlabels, M_LABEL_POP)) {
		uint32_t before = ct_ann_current();
		tls_nlabels--;
		if (ct_ann_current() != before)
			emit_label_change();
	}
	leave();
}

/* ---- regions ---- */

static __attribute__((noinline)) void region_begin_slow(uint64_t task, const char *name)
{
	if (!enter())
		return;
	if (!push_room(&tls_ann.over, tls_ann.nregions, M_REGION_DEEP)) {
		leave();
		return;
	}
	if (!name) {
		count(M_NULL);
		name = "(null)";
	}
	region_slot *r = &tls_ann.regions[tls_ann.nregions];
	r->task = task;
	r->inherited = 0;
	r->emitted = 0;
	if (recording(CT_MODE_SCHED))
		r->emitted = (uint32_t)emit_region(CT_EV_ANN_REGION_BEGIN, task,
						   (uint16_t)(tls_ann.nregions + 1), name);
	atomic_signal_fence(memory_order_release);
	tls_ann.nregions++;
	leave();
}

static __attribute__((noinline)) void region_end_slow(void)
{
	if (!enter())
		return;
	if (pop_real(&tls_ann.over, tls_ann.nregions, M_REGION_END)) {
		region_slot *r = &tls_ann.regions[tls_ann.nregions - 1];
		if (r->inherited)
			count(M_FORK);
		else if (r->emitted && recording(CT_MODE_SCHED))
			emit_region(CT_EV_ANN_REGION_END, r->task, (uint16_t)tls_ann.nregions,
				    NULL);
		tls_ann.nregions--;
	}
	leave();
}

/* The common cases of a region's begin and end take no call and spill no register: the
 * thread's ring with room, the TSC clock, recording. region_fast tries one, with the busy
 * flag set (so that the thread's state read after it is what a signal handler left): it
 * appends the record, and returns 0 when it did nothing (the caller takes the slow path),
 * 1 when done, 2 when done and the collector must be woken (the ring got half full). */
static inline __attribute__((always_inline)) int region_fast(uint16_t type, uint32_t id,
							     uint32_t depth)
{
	if (__builtin_expect(!ct_fast_tsc || !recording(CT_MODE_SCHED), 0))
		return 0;
	ann_ring *r = ct_ann_tls_ring;
	if (__builtin_expect(r == NULL, 0))
		return 0;
	/* Relaxed: only this thread writes head (and a signal handler of it sees busy). */
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (__builtin_expect(h + 1 - r->tail_seen > CT_ANN_RING_RECS, 0))
		return 0;
	int w = ct_ann_ring_store(r, h, ct_tsc(), type, id, (uint16_t)depth);
	if (__builtin_expect(w < 0, 0))
		return 0; /* the stamp's high bits changed: ct_ann_ring_push says so */
	return 1 + w;
}

/* The fast paths' start, on a thread not inside an annotation call: sets the busy flag,
 * then reads the thread's open regions (what a signal handler may have left). */
static inline uint32_t region_enter(ann_thread *t)
{
	t->busy = 1;
	atomic_signal_fence(memory_order_seq_cst);
	return t->nregions;
}

/* The fast paths' end: clears the busy flag and wakes the collector when region_fast
 * said so. Returns done (0: the slow path must run). */
static inline int region_leave(int done)
{
	leave();
	if (__builtin_expect(done > 1, 0))
		ct_collector_wake();
	return done;
}

/* The common begin: this thread's last literal name again, no task, room on the stack.
 * Anything else, and every misuse, goes to region_begin_slow, which does the same with
 * every check. */
static void region_begin(uint64_t task, const char *name)
{
	ann_thread *t = &tls_ann;
	if (__builtin_expect(!t->busy, 1)) {
		uint32_t n = region_enter(t);
		int done = 0;
		if (__builtin_expect(!task && name && name == t->name_ptr && n < CT_ANN_DEPTH, 1))
			done = region_fast(CT_EV_ANN_REGION_BEGIN, t->name_id, n + 1);
		if (__builtin_expect(done, 1)) {
			t->regions[n] = (region_slot){.emitted = 1};
			atomic_signal_fence(memory_order_release);
			t->nregions = n + 1;
		}
		if (__builtin_expect(region_leave(done), 1))
			return;
	}
	region_begin_slow(task, name);
}

/* The common end: of a region that region_begin recorded, without a task. */
static void region_end(void)
{
	ann_thread *t = &tls_ann;
	if (__builtin_expect(!t->busy, 1)) {
		uint32_t n = region_enter(t);
		int done = 0;
		if (__builtin_expect(!t->over && n, 1)) {
			const region_slot *s = &t->regions[n - 1];
			if (__builtin_expect(!s->task && s->emitted && !s->inherited, 1))
				done = region_fast(CT_EV_ANN_REGION_END, 0, n);
		}
		if (__builtin_expect(done, 1))
			t->nregions = n - 1;
		if (__builtin_expect(region_leave(done), 1))
			return;
	}
	region_end_slow();
}

/* ---- tasks ----
 * Ids come from one counter. Open tasks live in a table of slots (an id is tried at
 * TASK_PROBE slots from id mod TASK_SLOTS, claimed by CAS from 0) so that an end can tell
 * an open task from one never begun or already ended; a task that finds no free slot is
 * still recorded, but its end cannot be checked (counted as untracked). Ids stay below
 * 2^63: the top bit of a slot says whether the begin was recorded. */
enum { TASK_SLOTS = 1 << 16, TASK_PROBE = 16 };
#define TASK_EMITTED (1ull << 63) /* in a slot: the task's begin record went out */
static _Atomic uint64_t task_next = 1;
static _Atomic uint64_t task_open[TASK_SLOTS];

/* The task of the innermost open region of this thread, 0 if none. */
static uint64_t current_task(void)
{
	for (uint32_t i = tls_ann.nregions; i > 0; i--)
		if (tls_ann.regions[i - 1].task)
			return tls_ann.regions[i - 1].task;
	return 0;
}

static uint64_t task_begin(const char *name)
{
	uint64_t id = atomic_fetch_add_explicit(&task_next, 1, memory_order_relaxed);
	if (!name) {
		count(M_NULL);
		name = "(null)";
	}
	int emitted = 0;
	if (enter()) {
		if (recording(CT_MODE_SCHED)) {
			ct_ev_annot h = {.task = id, .parent = current_task()};
			emitted = emit_annot(CT_EV_ANN_TASK_BEGIN, &h, name, NULL, 0);
		}
		leave();
	}
	/* Published before the id is returned, so no end can look for it earlier. */
	uint64_t v = id | (emitted ? TASK_EMITTED : 0);
	int tracked = 0;
	for (unsigned i = 0; i < TASK_PROBE && !tracked; i++) {
		uint64_t zero = 0;
		tracked = atomic_compare_exchange_strong_explicit(&task_open[(id + i) % TASK_SLOTS],
								  &zero, v, memory_order_relaxed,
								  memory_order_relaxed);
	}
	if (!tracked)
		count(M_TASK_UNTRACKED);
	return id;
}

static void task_end(uint64_t id)
{
	if (!id)
		return; /* what task_begin returned without the agent: never an error */
	uint64_t found = 0;
	if (id < atomic_load_explicit(&task_next, memory_order_relaxed))
		for (unsigned i = 0; i < TASK_PROBE && !found; i++) {
			_Atomic uint64_t *slot = &task_open[(id + i) % TASK_SLOTS];
			uint64_t v = atomic_load_explicit(slot, memory_order_relaxed);
			if ((v & ~TASK_EMITTED) == id &&
			    atomic_compare_exchange_strong_explicit(
				    slot, &v, 0, memory_order_relaxed, memory_order_relaxed))
				found = v;
		}
	if (!found) {
		count(M_TASK_UNKNOWN);
		return;
	}
	/* Only a task whose begin went out gets an end record. */
	if (!(found & TASK_EMITTED) || !enter())
		return;
	if (recording(CT_MODE_SCHED)) {
		ct_ev_annot h = {.task = id};
		emit_annot(CT_EV_ANN_TASK_END, &h, NULL, NULL, 0);
	}
	leave();
}

/* ---- logs ---- */

static void logv(const char *category, const char *fmt, va_list ap)
{
	if (!category || !fmt) {
		count(M_NULL);
		if (!fmt)
			return;
		category = "(null)";
	}
	if (!recording(CT_MODE_SCHED) || !enter())
		return;
	char msg[CT_ANN_MSG_MAX + 1];
	int saved = ct_tls_guard;
	ct_tls_guard = 1; /* vsnprintf may allocate: not the program's allocation */
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	ct_tls_guard = saved;
	if (n > CT_ANN_MSG_MAX) {
		count(M_TRUNCATED);
		n = CT_ANN_MSG_MAX;
	}
	ct_ev_annot h = {.task = current_task()};
	emit_annot(CT_EV_ANN_LOG, &h, category, msg, n > 0 ? (size_t)n : 0);
	leave();
}

/* ---- fork: the child's copy of the forking thread keeps its stacks (its labels stay
 * true), but the regions it inherited began in the parent's recording, not the child's:
 * their ends are not recorded. */
static void ann_fork_child(void)
{
	for (int k = 0; k < M_NKINDS; k++) /* the child's summary counts the child's */
		atomic_store_explicit(&misuse[k], 0, memory_order_relaxed);
	atomic_store_explicit(&shared_records, 0, memory_order_relaxed);
	for (uint32_t i = 0; i < tls_ann.nregions; i++)
		tls_ann.regions[i].inherited = 1;
}

static int ann_start(void)
{
	pthread_atfork(NULL, NULL, ann_fork_child);
	ct_ann_const_snapshot();
	return ct_ann_ring_init();
}

static void ann_finish(void)
{
	uint64_t n = atomic_load_explicit(&shared_records, memory_order_relaxed);
	if (n)
		ct_log("annotate: %llu region and label records took the shared rings (their "
		       "thread's ring was full or gone)",
		       (unsigned long long)n);
}

/* After every drain: the threads' rings. (The CPU source drains them too before it
 * matches samples to labels, and the trace source before it closes a chunk: ticks run in
 * no particular order.) */
static void ann_tick(uint64_t now)
{
	(void)now;
	ct_ann_ring_drain();
}

/* The table annotate.h finds with dlsym. */
CT_EXPORT const struct ctrace_annotate_api ctrace_annotate_v1 = {
	.version = 1,
	.size = sizeof(struct ctrace_annotate_api),
	.label_push = label_push,
	.label_pop = label_pop,
	.region_begin = region_begin,
	.region_end = region_end,
	.task_begin = task_begin,
	.task_end = task_end,
	.logv = logv,
};

static const ct_subscription ann_subs[] = {{0, NULL}};

CT_SOURCE(ann_source) = {
	.name = "annotate",
	.mode = CT_MODE_ALL,
	.subs = ann_subs,
	.start = ann_start,
	.finish = ann_finish,
	.tick = ann_tick,
	.fork_child = ct_ann_ring_fork_child,
};
