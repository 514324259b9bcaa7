/*
 * traceregions.c — regions, tasks and logs of a trace model, and the focus on one region
 * name (see traceregions.h).
 *
 * The annotations are visited once in (tid, time) order: a stack of the thread's open
 * regions turns begins and ends into nested regions. Tasks are found by id through a hash
 * map, in order of first appearance; logs keep their time order. The focus intersects
 * each thread's intervals with the union of its spans inside regions of the name (two
 * sorted lists walked together) and renumbers threads and regions that remain.
 */
#include "traceregions.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/cmp.h"
#include "libtrace/tracebuf.h"
#include "libtrace/tracefmt.h"
#include "libtrace/vec.h"

typedef struct {
	uint32_t tid, idx; /* idx: index into the model's threads */
	uint64_t begin;
} tlife;

typedef struct {
	ct_trace_model *m;
	const ct_trace *t;
	tlife *by_tid;	   /* the threads sorted by (tid, begin) */
	ct_u64map taskmap; /* task id → index into m->tasks */
	size_t regions_cap, tasks_cap, logs_cap, open_cap;
	uint32_t *open; /* the current tid's open regions, outermost first */
	uint32_t nopen;
} rb;

static int tid_cmp(const void *a, const void *b)
{
	const tlife *x = a, *y = b;
	return ct_cmp_u64_2(x->tid, y->tid, x->begin, y->begin);
}

static int annot_cmp(const void *a, const void *b)
{
	const ct_trace_annot *x = *(const ct_trace_annot *const *)a;
	const ct_trace_annot *y = *(const ct_trace_annot *const *)b;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The life of tid holding time t (the last one begun at or before t; else its first), or
 * CT_NO_EVENT when the model has no thread tid. */
static uint32_t thread_of(const rb *b, uint32_t tid, uint64_t t)
{
	uint32_t lo = 0, hi = b->m->nthreads, found = CT_NO_EVENT;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (b->by_tid[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < b->m->nthreads && b->by_tid[lo].tid == tid; lo++)
		if (found == CT_NO_EVENT || b->by_tid[lo].begin <= t)
			found = b->by_tid[lo].idx;
	return found;
}

/* The index of task id, created when new (0 → CT_NO_EVENT); UINT32_MAX - 1 on ENOMEM. */
static uint32_t task_of(rb *b, uint64_t id, uint64_t t)
{
	if (!id)
		return CT_NO_EVENT;
	uint32_t i = ct_u64map_get(&b->taskmap, id);
	if (i != UINT32_MAX) {
		ct_task *k = &b->m->tasks[i];
		if (!k->begin_tid && t < k->start) /* not begun: from its first reference */
			k->start = t;
		return i;
	}
	ct_trace_model *m = b->m;
	if (ct_grow((void **)&m->tasks, &b->tasks_cap, m->ntasks + 1, sizeof(*m->tasks)) ||
	    ct_u64map_put(&b->taskmap, id, m->ntasks))
		return UINT32_MAX - 1;
	m->tasks[m->ntasks] =
		(ct_task){.id = id, .name = "", .start = t, .end = m->end, .parent = CT_NO_EVENT};
	return m->ntasks++;
}

/* Ends the innermost open region at t (or at its thread's end, when earlier). */
static void close_top(rb *b, uint64_t t, bool unended)
{
	ct_region *r = &b->m->regions[b->open[--b->nopen]];
	if (r->thread != CT_NO_EVENT && b->m->threads[r->thread].end < t)
		t = b->m->threads[r->thread].end;
	r->end = t > r->start ? t : r->start;
	r->unended = unended;
}

static int region_begin(rb *b, const ct_trace_annot *a)
{
	ct_trace_model *m = b->m;
	while (a->depth && b->nopen >= a->depth)
		close_top(b, a->time, true); /* their ends were lost */
	uint32_t task = task_of(b, a->task, a->time);
	if (task == UINT32_MAX - 1 ||
	    ct_grow((void **)&m->regions, &b->regions_cap, m->nregions + 1, sizeof(*m->regions)) ||
	    ct_grow((void **)&b->open, &b->open_cap, b->nopen + 1, sizeof(*b->open)))
		return -ENOMEM;
	m->regions[m->nregions] = (ct_region){
		.name = a->name,
		.start = a->time,
		.end = m->end,
		.tid = a->tid,
		.thread = thread_of(b, a->tid, a->time),
		.parent = b->nopen ? b->open[b->nopen - 1] : CT_NO_EVENT,
		.task = task,
		.depth = b->nopen + 1,
		.stack = a->stack,
		.unended = true,
	};
	if (task != CT_NO_EVENT)
		m->tasks[task].nregions++;
	b->open[b->nopen++] = m->nregions++;
	return 0;
}

static void region_end(rb *b, const ct_trace_annot *a)
{
	while (a->depth && b->nopen > a->depth)
		close_top(b, a->time, true);
	if (!b->nopen || (a->depth && b->nopen < a->depth)) {
		b->m->unmatched_ends++;
		return;
	}
	close_top(b, a->time, false);
}

/* A task's begin or end. */
static int task_event(rb *b, const ct_trace_annot *a)
{
	uint32_t i = task_of(b, a->task, a->time);
	if (i == UINT32_MAX - 1)
		return -ENOMEM;
	ct_task *k = &b->m->tasks[i];
	if (a->ended) {
		k->ended = true;
		k->end = a->time;
		k->end_tid = a->tid;
		return 0;
	}
	k->name = a->name;
	k->start = a->time;
	k->begin_tid = a->tid;
	k->parent_id = a->parent;
	uint32_t p = task_of(b, a->parent, a->time);
	if (p == UINT32_MAX - 1)
		return -ENOMEM;
	b->m->tasks[i].parent = p;
	return 0;
}

static int log_event(rb *b, const ct_trace_annot *a)
{
	ct_trace_model *m = b->m;
	uint32_t task = task_of(b, a->task, a->time);
	if (task == UINT32_MAX - 1 ||
	    ct_grow((void **)&m->logs, &b->logs_cap, m->nlogs + 1, sizeof(*m->logs)))
		return -ENOMEM;
	m->logs[m->nlogs++] = (ct_log){.time = a->time,
				       .category = a->name,
				       .msg = a->msg,
				       .tid = a->tid,
				       .thread = thread_of(b, a->tid, a->time),
				       .task = task,
				       .stack = a->stack};
	return 0;
}

/* The annotations of one tid, as[0..n) in time order. */
static int one_tid(rb *b, const ct_trace_annot *const *as, size_t n)
{
	int rc = 0;
	b->nopen = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const ct_trace_annot *a = as[i];
		/* regions left open by a life that has ended: they ended with it */
		while (b->nopen) {
			const ct_region *top = &b->m->regions[b->open[b->nopen - 1]];
			if (top->thread == CT_NO_EVENT || b->m->threads[top->thread].end >= a->time)
				break;
			close_top(b, a->time, true);
		}
		if (a->kind == CT_EV_REGION_BEGIN)
			rc = region_begin(b, a);
		else if (a->kind == CT_EV_REGION_END)
			region_end(b, a);
		else if (a->kind == CT_EV_TASK)
			rc = task_event(b, a);
		else
			rc = log_event(b, a);
	}
	while (!rc && b->nopen)
		close_top(b, b->m->end, true);
	return rc;
}

static int task_cmp(const void *a, const void *b)
{
	const ct_task *x = a, *y = b;
	return ct_cmp_u64_2(x->start, y->start, x->id, y->id);
}

/* Sorts the tasks by start and renumbers the references to them. */
static int sort_tasks(ct_trace_model *m, rb *b)
{
	uint32_t *to = malloc((m->ntasks + 1) * sizeof(*to));
	if (!to)
		return -ENOMEM;
	qsort(m->tasks, m->ntasks, sizeof(*m->tasks), task_cmp);
	for (uint32_t i = 0; i < m->ntasks; i++)
		to[ct_u64map_get(&b->taskmap, m->tasks[i].id)] = i;
	for (uint32_t i = 0; i < m->ntasks; i++)
		if (m->tasks[i].parent != CT_NO_EVENT)
			m->tasks[i].parent = to[m->tasks[i].parent];
	for (uint32_t i = 0; i < m->nregions; i++)
		if (m->regions[i].task != CT_NO_EVENT)
			m->regions[i].task = to[m->regions[i].task];
	for (uint32_t i = 0; i < m->nlogs; i++)
		if (m->logs[i].task != CT_NO_EVENT)
			m->logs[i].task = to[m->logs[i].task];
	free(to);
	return 0;
}

static int log_cmp(const void *a, const void *b)
{
	const ct_log *x = a, *y = b;
	return x->time < y->time ? -1 : x->time > y->time;
}

int ct_trace_regions_build(ct_trace_model *m)
{
	const ct_trace *t = m->trace;
	if (!t->nannots)
		return 0;
	rb b = {.m = m, .t = t};
	const ct_trace_annot **as = malloc(t->nannots * sizeof(*as));
	b.by_tid = malloc((m->nthreads + 1) * sizeof(*b.by_tid));
	int rc = as && b.by_tid ? 0 : -ENOMEM;
	if (!rc) {
		for (uint32_t i = 0; i < m->nthreads; i++)
			b.by_tid[i] = (tlife){m->threads[i].tid, i, m->threads[i].begin};
		qsort(b.by_tid, m->nthreads, sizeof(*b.by_tid), tid_cmp);
		for (size_t i = 0; i < t->nannots; i++)
			as[i] = &t->annots[i];
		qsort(as, t->nannots, sizeof(*as), annot_cmp);
	}
	for (size_t i = 0, j; !rc && i < t->nannots; i = j) {
		for (j = i; j < t->nannots && as[j]->tid == as[i]->tid; j++)
			;
		rc = one_tid(&b, as + i, j - i);
	}
	if (!rc && m->nlogs)
		qsort(m->logs, m->nlogs, sizeof(*m->logs), log_cmp);
	if (!rc && m->ntasks)
		rc = sort_tasks(m, &b);
	free(as);
	free(b.by_tid);
	free(b.open);
	ct_u64map_free(&b.taskmap);
	return rc;
}

void ct_region_states(const ct_trace_model *m, const ct_region *r, uint64_t by_state[CT_TS_NSTATES],
		      uint64_t by_reason[CT_WAIT_NREASONS])
{
	if (r->thread == CT_NO_EVENT)
		return;
	const ct_thread *th = &m->threads[r->thread];
	size_t k = CT_VEC_UPPER_BOUND(th->iv, th->niv, start, r->start);
	for (k = k ? k - 1 : 0; k < th->niv && th->iv[k].start < r->end; k++) {
		const ct_interval *iv = &th->iv[k];
		uint64_t s = iv->start > r->start ? iv->start : r->start;
		uint64_t e = iv->end < r->end ? iv->end : r->end;
		if (e <= s)
			continue;
		by_state[iv->state] += e - s;
		if (iv->state == CT_TS_WAITING && iv->reason < CT_WAIT_NREASONS)
			by_reason[iv->reason] += e - s;
	}
}

/* ---- focus ------------------------------------------------------------------------------ */

typedef struct {
	uint32_t thread;
	uint64_t s, e;
} span;

static int span_cmp(const void *a, const void *b)
{
	const span *x = a, *y = b;
	return ct_cmp_u64_2(x->thread, y->thread, x->s, y->s);
}

/* Whether [s, e] meets one of the disjoint spans of thread th: a span [a, b) with a <= e
 * and b > s (so a region that holds a kept one is kept too). */
static bool in_spans(const span *sp, size_t n, uint32_t th, uint64_t s, uint64_t e)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sp[mid].thread < th || (sp[mid].thread == th && sp[mid].s <= e))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && sp[lo - 1].thread == th && sp[lo - 1].e > s;
}

/* Cuts th's intervals and samples to its spans sp[0..n). */
static int clip(ct_thread *th, const span *sp, size_t n, const ct_trace *t)
{
	ct_interval *iv = NULL;
	size_t niv = 0, cap = 0, j = 0, ns = 0;
	for (size_t k = 0; k < th->niv; k++) {
		const ct_interval *x = &th->iv[k];
		while (j < n && sp[j].e <= x->start)
			j++;
		for (size_t q = j; q < n && sp[q].s < x->end; q++) {
			if (CT_VEC_RESERVE(iv, cap, niv + 1)) {
				free(iv);
				return -ENOMEM;
			}
			iv[niv] = *x;
			iv[niv].start = x->start > sp[q].s ? x->start : sp[q].s;
			iv[niv].end = x->end < sp[q].e ? x->end : sp[q].e;
			niv++;
		}
	}
	j = 0;
	for (size_t k = 0; k < th->nsamples; k++) {
		uint64_t at = t->events[th->samples[k]].time;
		while (j < n && sp[j].e <= at)
			j++;
		if (j < n && sp[j].s <= at)
			th->samples[ns++] = th->samples[k];
	}
	free(th->iv);
	th->iv = iv;
	th->niv = niv;
	th->nsamples = ns;
	return 0;
}

/* The spans of the regions named name, merged per thread; -ENOENT when there is none. */
static int focus_spans(const ct_trace_model *m, const char *name, span **out, size_t *n)
{
	size_t cap = 0;
	bool any = false;
	*out = NULL;
	*n = 0;
	for (uint32_t k = 0; k < m->nregions; k++) {
		const ct_region *r = &m->regions[k];
		if (strcmp(r->name, name))
			continue;
		any = true;
		if (r->thread == CT_NO_EVENT || r->end <= r->start)
			continue;
		if (CT_VEC_RESERVE(*out, cap, *n + 1))
			return -ENOMEM;
		(*out)[(*n)++] = (span){r->thread, r->start, r->end};
	}
	if (!any)
		return -ENOENT;
	span *sp = *out;
	if (*n)
		qsort(sp, *n, sizeof(*sp), span_cmp);
	size_t w = 0;
	for (size_t k = 0; k < *n; k++) {
		if (w && sp[w - 1].thread == sp[k].thread && sp[k].s <= sp[w - 1].e) {
			if (sp[k].e > sp[w - 1].e)
				sp[w - 1].e = sp[k].e;
		} else {
			sp[w++] = sp[k];
		}
	}
	*n = w;
	return 0;
}

/* Keeps the regions and logs on kept threads that meet the spans; renumbers them. */
static int focus_annots(ct_trace_model *m, const span *sp, size_t n, const uint32_t *newth)
{
	uint32_t *newreg = malloc((m->nregions + 1) * sizeof(*newreg)), kept = 0;
	if (!newreg)
		return -ENOMEM;
	for (uint32_t k = 0; k < m->nregions; k++) {
		ct_region r = m->regions[k];
		newreg[k] = CT_NO_EVENT;
		if (r.thread == CT_NO_EVENT || !in_spans(sp, n, r.thread, r.start, r.end))
			continue;
		r.thread = newth[r.thread];
		r.parent = r.parent == CT_NO_EVENT ? CT_NO_EVENT : newreg[r.parent];
		newreg[k] = kept;
		m->regions[kept++] = r;
	}
	m->nregions = kept;
	free(newreg);
	kept = 0;
	for (uint32_t k = 0; k < m->nlogs; k++) {
		ct_log l = m->logs[k];
		if (l.thread == CT_NO_EVENT || !in_spans(sp, n, l.thread, l.time, l.time))
			continue;
		l.thread = newth[l.thread];
		m->logs[kept++] = l;
	}
	m->nlogs = kept;
	return 0;
}

int ct_trace_model_focus(ct_trace_model *m, const char *name)
{
	span *sp;
	size_t n;
	int rc = focus_spans(m, name, &sp, &n);
	uint32_t *newth = rc ? NULL : malloc((m->nthreads + 1) * sizeof(*newth));
	if (!rc && !newth)
		rc = -ENOMEM;
	uint32_t kept = 0;
	for (uint32_t i = 0, j = 0; !rc && i < m->nthreads; i++) {
		uint32_t a = j;
		while (j < n && sp[j].thread == i)
			j++;
		ct_thread th = m->threads[i];
		newth[i] = a < j ? kept : CT_NO_EVENT;
		if (a < j && !(rc = clip(&th, sp + a, j - a, m->trace))) {
			m->threads[kept++] = th;
			continue;
		}
		free(th.iv);
		free(th.samples);
	}
	if (!rc) {
		m->nthreads = kept;
		rc = focus_annots(m, sp, n, newth);
		m->focus = name;
	}
	free(sp);
	free(newth);
	return rc;
}
