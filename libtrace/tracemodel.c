/*
 * tracemodel.c — per-thread state intervals from a trace's events (see tracemodel.h).
 *
 * The events of each thread id (its own batches' events, plus the CREATE events that name
 * it as the new thread) are put in time order and run through a small state machine per
 * thread life. Unblock edges are linked afterwards, once every Waiting interval exists:
 * by woken tid, else by object through an index of waiting intervals sorted by object.
 */
#include "tracemodel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/cmp.h"
#include "libtrace/tracebuf.h"
#include "libtrace/tracefmt.h"
#include "libtrace/traceregions.h"
#include "libtrace/vec.h"

#define UNKNOWN_STATE 0xff /* a life's first state, before a switch record tells it */

typedef struct {
	uint64_t time;
	uint32_t tid, idx;
	uint8_t born; /* a CREATE naming tid as the new thread: sorts first at its time */
} entry;

/* The thread being built: its current, still open interval, and its waits. */
typedef struct {
	ct_trace_model *m;
	const ct_trace *t;
	size_t threads_cap;
	ct_thread *th; /* the current life, NULL between lives */
	size_t iv_cap, samples_cap;
	ct_interval cur;
	bool just_exited;
	uint64_t wait_end;     /* merged mode: end of the wait in progress, 0 when none */
	const uint32_t *waits; /* WAIT/WAIT_OPEN events of the tid, by begin time */
	size_t nwaits;
} builder;

static int entry_cmp(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->born != y->born)
		return x->born ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

const char *ct_thread_state_name(ct_thread_state s)
{
	static const char *const names[] = {"running", "runnable", "waiting",
					    "running-or-runnable"};
	return (unsigned)s < CT_TS_NSTATES ? names[s] : "unknown";
}

const char *ct_thread_label(const ct_thread *th, char *buf, size_t len)
{
	if (th->name[0])
		return th->name;
	snprintf(buf, len, "thread %u", th->tid);
	return buf;
}

/* ---- one thread's life -------------------------------------------------------------------- */

/* Ends the current interval at t (dropped when empty) and opens one in state s. */
static int to_state(builder *b, uint64_t t, uint8_t s)
{
	ct_thread *th = b->th;
	if (t > b->cur.start) {
		if (ct_grow((void **)&th->iv, &b->iv_cap, th->niv + 1, sizeof(*th->iv)))
			return -ENOMEM;
		b->cur.end = t;
		th->iv[th->niv++] = b->cur;
	}
	b->cur = (ct_interval){.start = t > b->cur.start ? t : b->cur.start,
			       .state = s,
			       .cpu = UINT32_MAX,
			       .unblock = CT_NO_EVENT};
	return 0;
}

static int begin_life(builder *b, uint32_t tid, uint64_t t)
{
	ct_trace_model *m = b->m;
	if (ct_grow((void **)&m->threads, &b->threads_cap, m->nthreads + 1, sizeof(*m->threads)))
		return -ENOMEM;
	b->th = &m->threads[m->nthreads++];
	*b->th = (ct_thread){.tid = tid, .name = "", .begin = t, .alive = true};
	b->iv_cap = b->samples_cap = 0;
	b->cur = (ct_interval){.start = t,
			       .state = m->merged ? CT_TS_ONCPU : UNKNOWN_STATE,
			       .cpu = UINT32_MAX,
			       .unblock = CT_NO_EVENT};
	b->wait_end = 0;
	b->just_exited = false;
	return 0;
}

static const ct_trace_event *covering_wait(const builder *b, uint64_t t);

/* Closes the life at t. With no switch record ever seen it ran if it was sampled, else
 * waited if a wait covers its start (a window trace's thread blocked since before the
 * window: its switch-out came earlier), else was runnable. */
static int end_life(builder *b, uint64_t t, bool exited)
{
	const ct_trace_event *w;
	if (b->cur.state == UNKNOWN_STATE && !b->th->nsamples &&
	    (w = covering_wait(b, b->cur.start))) {
		b->cur.state = CT_TS_WAITING;
		b->cur.reason = w->reason;
		b->cur.object = w->arg;
		b->cur.stack = w->stack;
	} else if (b->cur.state == UNKNOWN_STATE) {
		b->cur.state = b->th->nsamples ? CT_TS_RUNNING : CT_TS_RUNNABLE;
	}
	int rc = to_state(b, t, b->cur.state);
	b->th->end = t;
	b->th->alive = !exited;
	b->th = NULL;
	return rc;
}

/* The wait of this thread covering time t, or NULL. */
static const ct_trace_event *covering_wait(const builder *b, uint64_t t)
{
	size_t lo = 0, hi = b->nwaits;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->t->events[b->waits[mid]].time <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	const ct_trace_event *w = lo ? &b->t->events[b->waits[lo - 1]] : NULL;
	return w && w->end >= t && w->time >= b->th->begin ? w : NULL;
}

static int switch_out(builder *b, const ct_trace_event *e)
{
	if (b->cur.state == UNKNOWN_STATE) {
		b->cur.state = CT_TS_RUNNING;
		b->cur.cpu = e->other;
	}
	if (b->cur.state != CT_TS_RUNNING)
		return 0; /* a repeated switch-out says nothing new */
	b->th->switches++;
	if (e->kind == CT_EV_SWITCH_OUT_PREEMPT) {
		b->th->preemptions++;
		return to_state(b, e->time, CT_TS_RUNNABLE);
	}
	const ct_trace_event *w = covering_wait(b, e->time);
	int rc = to_state(b, e->time, CT_TS_WAITING);
	b->cur.reason = w ? w->reason : CT_WAIT_KERNEL;
	b->cur.object = w ? w->arg : 0;
	b->cur.stack = w ? w->stack : 0;
	return rc;
}

static int switch_in(builder *b, const ct_trace_event *e)
{
	if (b->cur.state == UNKNOWN_STATE) {
		const ct_trace_event *w = covering_wait(b, e->time);
		b->cur.state = w ? CT_TS_WAITING : CT_TS_RUNNABLE;
		if (w) {
			b->cur.reason = w->reason;
			b->cur.object = w->arg;
			b->cur.stack = w->stack;
		}
	}
	if (b->cur.state == CT_TS_RUNNING)
		return 0;
	int rc = to_state(b, e->time, CT_TS_RUNNING);
	b->cur.cpu = e->other;
	if (e->other >= b->m->ncpus)
		b->m->ncpus = e->other + 1;
	return rc;
}

/* Merged mode: a hook wait is the Waiting interval itself. */
static int merged_wait(builder *b, const ct_trace_event *e)
{
	if (b->wait_end)
		return 0; /* inside another wait: the first one stands */
	int rc = to_state(b, e->time, CT_TS_WAITING);
	b->cur.reason = e->reason;
	b->cur.object = e->arg;
	b->cur.stack = e->stack;
	b->wait_end = e->end;
	return rc;
}

/* Merged mode: ends the wait in progress when time t is past it. */
static int merged_catch_up(builder *b, uint64_t t)
{
	if (!b->wait_end || b->wait_end > t)
		return 0;
	uint64_t end = b->wait_end;
	b->wait_end = 0;
	return to_state(b, end, CT_TS_ONCPU);
}

static int event(builder *b, const entry *en)
{
	const ct_trace_event *e = &b->t->events[en->idx];
	if (b->m->merged && b->th) {
		int rc = merged_catch_up(b, en->time);
		if (rc)
			return rc;
	}
	if (en->born && b->th && !b->th->created) {
		/* The creator's record came after the new thread's first events (it is taken
		 * when pthread_create returns): it names this life's creator. */
		b->th->created = true;
		b->th->creator = e->tid;
		b->th->create_stack = e->stack;
		return 0;
	}
	if (en->born && b->th) { /* a second creation: the tid was reused, its exit unseen */
		int rc = end_life(b, en->time, true);
		if (rc)
			return rc;
	}
	if (!b->th) {
		if (b->just_exited && !en->born &&
		    (e->kind == CT_EV_SWITCH_OUT || e->kind == CT_EV_SWITCH_OUT_PREEMPT ||
		     e->kind == CT_EV_SWITCH_IN))
			return 0; /* the dying thread's last switches: the kernel reports the exit
				   * before its final switch-out, and it may be preempted between */
		if (b->just_exited && e->kind == CT_EV_NAME && b->m->nthreads &&
		    b->m->threads[b->m->nthreads - 1].tid == en->tid) {
			/* A name given to a thread that had already ended (its creator's
			 * pthread_setname_np after a short thread returned): its life's name,
			 * not a new life that never ends. */
			b->m->threads[b->m->nthreads - 1].name = e->str;
			return 0;
		}
		int rc = begin_life(b, en->tid, en->time);
		if (rc)
			return rc;
		if (en->born) {
			b->th->created = true;
			b->th->creator = e->tid;
			b->th->create_stack = e->stack;
			b->cur.state = b->m->merged ? CT_TS_ONCPU : CT_TS_RUNNABLE;
			return 0;
		}
	}
	ct_thread *th = b->th;
	bool merged = b->m->merged;
	if (merged && (e->kind == CT_EV_WAIT || e->kind == CT_EV_WAIT_OPEN))
		return merged_wait(b, e);
	switch (e->kind) {
	case CT_EV_SWITCH_OUT:
	case CT_EV_SWITCH_OUT_PREEMPT:
		return merged ? 0 : switch_out(b, e);
	case CT_EV_SWITCH_IN:
		return merged ? 0 : switch_in(b, e);
	case CT_EV_EXIT: {
		int rc = end_life(b, e->time, true);
		b->just_exited = true;
		return rc;
	}
	case CT_EV_NAME:
		th->name = e->str;
		return 0;
	case CT_EV_SAMPLE:
		if (ct_grow((void **)&th->samples, &b->samples_cap, th->nsamples + 1,
			    sizeof(*th->samples)))
			return -ENOMEM;
		th->samples[th->nsamples++] = en->idx;
		return 0;
	default: /* WAIT (looked up at switch-outs), UNBLOCK, CREATE, START */
		return 0;
	}
}

/* ---- unblock edges -------------------------------------------------------------------------- */

typedef struct {
	uint64_t object, start;
	uint32_t thread;
	uint32_t iv;
} waiting_ref;

static int ref_cmp(const void *a, const void *b)
{
	const waiting_ref *x = a, *y = b;
	return ct_cmp_u64_2(x->object, y->object, x->start, y->start);
}

/* Points interval iv at unblock event u when u is inside it and later than its current one. */
static void link_edge(const ct_trace *t, ct_interval *iv, uint32_t u)
{
	uint64_t at = t->events[u].time;
	if (iv->state != CT_TS_WAITING || at < iv->start || at > iv->end)
		return;
	if (iv->unblock == CT_NO_EVENT || t->events[iv->unblock].time <= at)
		iv->unblock = u;
}

/* The interval of th holding time at (its start <= at), or NULL. */
static ct_interval *interval_at(const ct_thread *th, uint64_t at)
{
	size_t lo = CT_VEC_UPPER_BOUND(th->iv, th->niv, start, at);
	return lo ? &th->iv[lo - 1] : NULL;
}

/* Edges naming their woken tid. Threads are still grouped by tid (lives in time order). */
static void link_by_tid(ct_trace_model *m, const ct_trace *t)
{
	for (size_t u = 0; u < t->nevents; u++) {
		const ct_trace_event *e = &t->events[u];
		if (e->kind != CT_EV_UNBLOCK || !e->other)
			continue;
		uint32_t lo = 0, hi = m->nthreads;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (m->threads[mid].tid < e->other)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < m->nthreads && m->threads[lo].tid == e->other; lo++) {
			ct_thread *th = &m->threads[lo];
			ct_interval *iv = e->time >= th->begin && e->time <= th->end
						  ? interval_at(th, e->time)
						  : NULL;
			if (iv)
				link_edge(t, iv, (uint32_t)u);
		}
	}
}

/* Edges with an unknown woken tid: every wait on their object that they fall inside. */
static int link_by_object(ct_trace_model *m, const ct_trace *t)
{
	waiting_ref *refs = NULL;
	size_t n = 0, cap = 0;
	for (uint32_t i = 0; i < m->nthreads; i++)
		for (size_t k = 0; k < m->threads[i].niv; k++) {
			const ct_interval *iv = &m->threads[i].iv[k];
			if (iv->state != CT_TS_WAITING || !iv->object)
				continue;
			if (ct_grow((void **)&refs, &cap, n + 1, sizeof(*refs))) {
				free(refs);
				return -ENOMEM;
			}
			refs[n++] = (waiting_ref){iv->object, iv->start, i, (uint32_t)k};
		}
	if (n)
		qsort(refs, n, sizeof(*refs), ref_cmp);
	for (size_t u = 0; u < t->nevents; u++) {
		const ct_trace_event *e = &t->events[u];
		if (e->kind != CT_EV_UNBLOCK || e->other || !e->arg)
			continue;
		/* The refs of this object starting at or before the edge; a waiter's wait
		 * rarely spans many others' on one object, so the backward walk stays short. */
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (refs[mid].object < e->arg ||
			    (refs[mid].object == e->arg && refs[mid].start <= e->time))
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo, walked = 0; k-- > 0 && refs[k].object == e->arg && walked < 256;
		     walked++)
			link_edge(t, &m->threads[refs[k].thread].iv[refs[k].iv], (uint32_t)u);
	}
	free(refs);
	return 0;
}

/* ---- the model --------------------------------------------------------------------------- */

static int thread_cmp(const void *a, const void *b)
{
	const ct_thread *x = a, *y = b;
	return ct_cmp_u64_2(x->begin, y->begin, x->tid, y->tid);
}

/* Every event of a thread id, and the CREATEs naming it, sorted by (tid, time). */
static entry *entries(const ct_trace *t, size_t *n)
{
	entry *es = malloc((t->nevents + 1) * 2 * sizeof(*es));
	if (!es)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < t->nevents; i++) {
		const ct_trace_event *e = &t->events[i];
		if (e->tid)
			es[(*n)++] = (entry){e->time, e->tid, (uint32_t)i, 0};
		if (e->kind == CT_EV_CREATE && e->other)
			es[(*n)++] = (entry){e->time, e->other, (uint32_t)i, 1};
	}
	qsort(es, *n, sizeof(*es), entry_cmp);
	return es;
}

/* Runs the events of one tid, es[0..n), through the state machine. */
static int one_tid(builder *b, const entry *es, size_t n, uint32_t *waits)
{
	b->nwaits = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t k = b->t->events[es[i].idx].kind;
		if (!es[i].born && (k == CT_EV_WAIT || k == CT_EV_WAIT_OPEN))
			waits[b->nwaits++] = es[i].idx;
	}
	b->waits = waits;
	b->th = NULL;
	b->just_exited = false;
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++)
		rc = event(b, &es[i]);
	if (!rc && b->th && b->m->merged)
		rc = merged_catch_up(b, b->m->end);
	if (!rc && b->th)
		rc = end_life(b, b->m->end, false);
	return rc;
}

int ct_trace_model_build(const ct_trace *t, ct_trace_model **out)
{
	*out = NULL;
	ct_trace_model *m = calloc(1, sizeof(*m));
	size_t n = 0;
	entry *es = m ? entries(t, &n) : NULL;
	uint32_t *waits = es ? malloc((n + 1) * sizeof(*waits)) : NULL;
	int rc = waits ? 0 : -ENOMEM;
	if (!rc) {
		*m = (ct_trace_model){.trace = t, .merged = !t->has_switches};
		m->start = t->start;
		m->end = t->end;
		if (n && es[n - 1].time > m->end)
			m->end = es[n - 1].time;
	}
	builder b = {.m = m, .t = t};
	for (size_t i = 0, j; !rc && i < n; i = j) {
		for (j = i; j < n && es[j].tid == es[i].tid; j++)
			;
		rc = one_tid(&b, es + i, j - i, waits);
	}
	free(es);
	free(waits);
	if (!rc) {
		link_by_tid(m, t);
		rc = link_by_object(m, t);
	}
	if (rc) {
		ct_trace_model_free(m);
		return -ENOMEM;
	}
	if (m->nthreads)
		qsort(m->threads, m->nthreads, sizeof(*m->threads), thread_cmp);
	if (ct_trace_regions_build(m)) {
		ct_trace_model_free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void ct_trace_model_free(ct_trace_model *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nthreads; i++) {
		free(m->threads[i].iv);
		free(m->threads[i].samples);
	}
	free(m->threads);
	free(m->regions);
	free(m->tasks);
	free(m->logs);
	free(m);
}
