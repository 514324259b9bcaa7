/*
 * traceprof.c — pprof profiles derived from a trace (see traceprof.h): the trace's
 * locations are copied into a new profile on first use; samples are keyed by (stack,
 * thread, label code) in a hash map, so repeated intervals at one place add up. The label
 * code packs what the labels say besides the thread: approx (sched), the reason (the wait
 * kinds), or the state and reason (wall).
 */
#include "traceprof.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/pprof.h"
#include "libtrace/tracebuf.h"
#include "libtrace/tracefmt.h"

typedef struct {
	const ct_trace *t;
	ct_profile *p;
	uint32_t *loc_map, *map_map, *fn_map; /* source index → destination index + 1 */
	uint32_t no_sample;		      /* location "[no sample]" + 1 */
	ct_u64map samples;		      /* hash (+ k on collisions) → sample index */
	uint64_t (*keys)[3];		      /* sample index → (stack, thread, code) */
	ct_trace_pprof_kind kind;
	size_t keys_cap;
	uint32_t *locs; /* scratch */
} copier;

static uint32_t copy_function(copier *c, uint32_t f)
{
	if (!c->fn_map[f]) {
		const ct_function *x = &c->t->prof->functions[f];
		uint32_t i = ct_profile_add_function(c->p, x->name, x->system_name, x->filename,
						     x->start_line);
		c->fn_map[f] = i == UINT32_MAX ? 0 : i + 1;
	}
	return c->fn_map[f] - 1;
}

/* The destination index of source location l, UINT32_MAX on ENOMEM. */
static uint32_t copy_location(copier *c, uint32_t l)
{
	if (c->loc_map[l])
		return c->loc_map[l] - 1;
	const ct_profile *s = c->t->prof;
	const ct_location *x = &s->locations[l];
	uint32_t map = 0;
	if (x->mapping) {
		if (!c->map_map[x->mapping - 1])
			c->map_map[x->mapping - 1] =
				ct_profile_add_mapping(c->p, &s->mappings[x->mapping - 1]);
		if (!(map = c->map_map[x->mapping - 1]))
			return UINT32_MAX;
	}
	ct_line lines[64];
	uint32_t n = x->nlines < 64 ? x->nlines : 64;
	for (uint32_t i = 0; i < n; i++) {
		lines[i] = (ct_line){.function = copy_function(c, x->lines[i].function),
				     .line = x->lines[i].line};
		if (lines[i].function == UINT32_MAX)
			return UINT32_MAX;
	}
	uint32_t i = ct_profile_add_location(c->p, map, x->address, NULL, 0);
	if (i != UINT32_MAX && n && ct_profile_set_lines(c->p, i, lines, n))
		return UINT32_MAX;
	c->loc_map[l] = i == UINT32_MAX ? 0 : i + 1;
	return i;
}

/* Label codes: APPROX (sched), else state * 16 + reason (waits and wall). */
enum { APPROX = 1 };

static size_t labels_of(const copier *c, uint64_t code, ct_label *l)
{
	size_t n = 0;
	if (c->kind == CT_TP_SCHED) {
		if (code == APPROX)
			l[n++] = (ct_label){.key = "approx", .str = "1"};
		return n;
	}
	ct_thread_state st = (ct_thread_state)(code / 16);
	if (c->kind == CT_TP_WALL)
		l[n++] = (ct_label){.key = "state", .str = ct_thread_state_name(st)};
	if (st == CT_TS_WAITING)
		l[n++] = (ct_label){.key = "reason",
				    .str = ct_wait_reason_name((ct_wait_reason)(code % 16))};
	return n;
}

/* The sample's locations for a trace stack (0: "[no sample]") into c->locs. Their count,
 * or -ENOMEM. */
static int stack_locs(copier *c, uint32_t stack)
{
	uint32_t n = 0;
	if (stack) {
		const ct_trace_stack *s = &c->t->stacks[stack - 1];
		for (; n < s->nlocs; n++)
			if ((c->locs[n] = copy_location(c, s->locs[n])) == UINT32_MAX)
				return -ENOMEM;
		return (int)n;
	}
	if (!c->no_sample) {
		ct_line l = {.function = ct_profile_add_function(c->p, "[no sample]", "", "", 0)};
		uint32_t i = l.function == UINT32_MAX ? UINT32_MAX
						      : ct_profile_add_location(c->p, 0, 0, &l, 1);
		if (i == UINT32_MAX)
			return -ENOMEM;
		c->no_sample = i + 1;
	}
	c->locs[0] = c->no_sample - 1;
	return 1;
}

/* Adds (count, value) to the sample of (stack, thread, code). 0 or -ENOMEM. */
static int charge(copier *c, const ct_thread *th, uint32_t ti, uint32_t stack, uint64_t code,
		  uint64_t count, uint64_t value)
{
	uint64_t key[3] = {stack, ti, code};
	uint64_t h = ct_hash_bytes(key, sizeof(key), 0);
	for (uint32_t si; (si = ct_u64map_get(&c->samples, h)) != UINT32_MAX; h++)
		if (!memcmp(c->keys[si], key, sizeof(key))) {
			c->p->samples[si].values[0] += (int64_t)count;
			c->p->samples[si].values[1] += (int64_t)value;
			return 0;
		}
	if (ct_grow((void **)&c->keys, &c->keys_cap, c->p->nsamples + 1, sizeof(*c->keys)))
		return -ENOMEM;
	memcpy(c->keys[c->p->nsamples], key, sizeof(key));
	int n = stack_locs(c, stack);
	if (n < 0)
		return n;
	char name[32];
	ct_label labels[4] = {{.key = "thread", .str = ct_thread_label(th, name, sizeof(name))},
			      {.key = "tid", .num = th->tid}};
	size_t nl = 2 + labels_of(c, code, labels + 2);
	int64_t v[2] = {(int64_t)count, (int64_t)value};
	if (ct_profile_add_sample(c->p, c->locs, (uint32_t)n, v, labels, nl) ||
	    ct_u64map_put(&c->samples, h, (uint32_t)(c->p->nsamples - 1)))
		return -ENOMEM;
	return 0;
}

/* The latest sample of th at or before t, or NULL. */
static const ct_trace_event *sample_before(const ct_trace *t, const ct_thread *th, uint64_t at)
{
	size_t lo = 0, hi = th->nsamples;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->events[th->samples[mid]].time <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->events[th->samples[lo - 1]] : NULL;
}

/* Whether a waiting interval of reason r belongs to kind k's profile. */
static bool wanted(ct_trace_pprof_kind k, ct_wait_reason r)
{
	switch (k) {
	case CT_TP_SYNC:
		return ct_wait_reason_is_sync(r) || r == CT_WAIT_JOIN;
	case CT_TP_NET:
		return r == CT_WAIT_NET;
	case CT_TP_IO:
		return r == CT_WAIT_IO;
	case CT_TP_SLEEP:
		return r == CT_WAIT_SLEEP;
	default:
		return false;
	}
}

/* A Runnable interval, charged to the stack running when the thread lost the CPU. */
static int charge_runnable(copier *c, const ct_thread *th, uint32_t ti, const ct_interval *iv)
{
	const ct_trace *t = c->t;
	const ct_trace_event *s = sample_before(t, th, iv->start);
	bool approx = !s || !t->sample_period_ns || iv->start - s->time > t->sample_period_ns;
	uint64_t code = c->kind == CT_TP_SCHED ? (approx ? APPROX : 0) : CT_TS_RUNNABLE * 16;
	return charge(c, th, ti, s ? s->stack : 0, code, 1, iv->end - iv->start);
}

/* A Running (or merged) interval, its time split evenly over the CPU samples inside it
 * (the last takes the remainder), or charged to the latest earlier sample when none. */
static int charge_running(copier *c, const ct_thread *th, uint32_t ti, const ct_interval *iv,
			  size_t *k)
{
	const ct_trace *t = c->t;
	uint64_t code = iv->state * 16u, dur = iv->end - iv->start;
	while (*k < th->nsamples && t->events[th->samples[*k]].time < iv->start)
		++*k;
	size_t first = *k, n = 0;
	while (first + n < th->nsamples && t->events[th->samples[first + n]].time < iv->end)
		n++;
	if (!n) {
		const ct_trace_event *s = sample_before(t, th, iv->start);
		return charge(c, th, ti, s ? s->stack : 0, code, 1, dur);
	}
	int rc = 0;
	for (size_t j = 0; !rc && j < n; j++) {
		uint64_t share = j + 1 < n ? dur / n : dur - (n - 1) * (dur / n);
		rc = charge(c, th, ti, t->events[th->samples[first + j]].stack, code, 1, share);
	}
	return rc;
}

static int charge_thread(copier *c, const ct_thread *th, uint32_t ti)
{
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < th->niv; i++) {
		const ct_interval *iv = &th->iv[i];
		bool wall = c->kind == CT_TP_WALL;
		if (iv->state == CT_TS_RUNNABLE && (wall || c->kind == CT_TP_SCHED))
			rc = charge_runnable(c, th, ti, iv);
		else if (iv->state == CT_TS_WAITING &&
			 (wall || wanted(c->kind, (ct_wait_reason)iv->reason)))
			rc = charge(c, th, ti, iv->stack, CT_TS_WAITING * 16u + iv->reason, 1,
				    iv->end - iv->start);
		else if ((iv->state == CT_TS_RUNNING || iv->state == CT_TS_ONCPU) && wall)
			rc = charge_running(c, th, ti, iv, &k);
	}
	return rc;
}

static const char *const kind_names[CT_TP_NKINDS] = {"sched", "sync", "net", "io", "sleep", "wall"};

static const char *comment_of(const copier *c, const ct_trace_model *m)
{
	if (c->kind == CT_TP_SCHED)
		return m->merged ? "ctrace: no context-switch records in this trace: runnable "
				   "time is unknown"
				 : "ctrace: runnable time charged to the stack running when "
				   "preempted";
	if (c->kind == CT_TP_WALL)
		return m->merged ? "ctrace: every thread's lifetime by state (running and "
				   "runnable merged: no context-switch records)"
				 : "ctrace: every thread's lifetime by state: running at its CPU "
				   "samples, waiting at the wait stack, runnable where preempted";
	return "ctrace: waiting time charged to the stack at which the wait began";
}

static int fill(copier *c, const ct_trace_model *m)
{
	const ct_trace *t = m->trace;
	ct_profile *p = c->p;
	bool wall = c->kind == CT_TP_WALL;
	const char *type = wall ? "wall" : "delay";
	int rc = ct_profile_add_sample_type(p, wall ? "intervals" : "contentions", "count");
	if (!rc)
		rc = ct_profile_add_sample_type(p, type, "nanoseconds");
	if (!rc)
		rc = ct_profile_add_comment(p, comment_of(c, m));
	p->period_type = (ct_value_type){ct_profile_str(p, type), ct_profile_str(p, "nanoseconds")};
	p->period = 1;
	p->default_sample_type = ct_profile_str(p, type);
	p->time_nanos = (int64_t)(t->anchor_wall_ns + (m->start - t->anchor_mono_ns));
	p->duration_nanos = (int64_t)(m->end - m->start);
	for (uint32_t i = 0; !rc && i < m->nthreads; i++)
		rc = charge_thread(c, &m->threads[i], i);
	return rc;
}

int ct_trace_pprof_kind_parse(const char *name)
{
	for (int k = 0; k < CT_TP_NKINDS; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *ct_trace_pprof_kind_name(ct_trace_pprof_kind k)
{
	return k < CT_TP_NKINDS ? kind_names[k] : "unknown";
}

int ct_trace_pprof(const ct_trace_model *m, ct_trace_pprof_kind kind, ct_profile **out)
{
	const ct_profile *s = m->trace->prof;
	copier c = {.t = m->trace, .p = ct_profile_new(), .kind = kind};
	c.loc_map = calloc(s->nlocations + 1, sizeof(uint32_t));
	c.map_map = calloc(s->nmappings + 1, sizeof(uint32_t));
	c.fn_map = calloc(s->nfunctions + 1, sizeof(uint32_t));
	c.locs = malloc((CT_TRACE_MAX_FRAMES + 1) * sizeof(uint32_t));
	int rc = kind >= CT_TP_NKINDS				       ? -EINVAL
		 : c.p && c.loc_map && c.map_map && c.fn_map && c.locs ? fill(&c, m)
								       : -ENOMEM;
	free(c.loc_map);
	free(c.map_map);
	free(c.fn_map);
	free(c.locs);
	free(c.keys);
	ct_u64map_free(&c.samples);
	if (rc) {
		ct_profile_free(c.p);
		c.p = NULL;
	}
	*out = c.p;
	return rc;
}

int ct_trace_write_pprof(const ct_trace_model *m, ct_trace_pprof_kind kind, const char *path)
{
	ct_profile *p;
	int rc = ct_trace_pprof(m, kind, &p);
	if (!rc)
		rc = ct_pprof_write_file(p, path);
	ct_profile_free(p);
	return rc;
}

int ct_trace_pprof_sched_latency(const ct_trace_model *m, ct_profile **out)
{
	return ct_trace_pprof(m, CT_TP_SCHED, out);
}

int ct_trace_write_sched_latency(const ct_trace_model *m, const char *path)
{
	return ct_trace_write_pprof(m, CT_TP_SCHED, path);
}
