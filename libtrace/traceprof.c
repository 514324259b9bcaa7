/*
 * traceprof.c — the scheduler-latency pprof profile of a trace (see traceprof.h): the
 * trace's locations are copied into a new profile on first use, samples are keyed by
 * (stack, thread, approx) in a hash map so repeated preemptions at one place add up.
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
	uint64_t (*keys)[3];		      /* sample index → (stack, thread, approx) */
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

/* Adds delay to the sample of (stack, thread, approx). 0 or -ENOMEM. */
static int charge(copier *c, const ct_thread *th, uint32_t ti, uint32_t stack, bool approx,
		  uint64_t delay)
{
	uint64_t key[3] = {stack, ti, approx};
	uint64_t h = ct_hash_bytes(key, sizeof(key), 0);
	for (uint32_t si; (si = ct_u64map_get(&c->samples, h)) != UINT32_MAX; h++)
		if (!memcmp(c->keys[si], key, sizeof(key))) {
			c->p->samples[si].values[0] += 1;
			c->p->samples[si].values[1] += (int64_t)delay;
			return 0;
		}
	if (ct_grow((void **)&c->keys, &c->keys_cap, c->p->nsamples + 1, sizeof(*c->keys)))
		return -ENOMEM;
	memcpy(c->keys[c->p->nsamples], key, sizeof(key));
	uint32_t n = 0;
	if (stack) {
		const ct_trace_stack *s = &c->t->stacks[stack - 1];
		for (; n < s->nlocs; n++)
			if ((c->locs[n] = copy_location(c, s->locs[n])) == UINT32_MAX)
				return -ENOMEM;
	} else {
		if (!c->no_sample) {
			ct_line l = {.function = ct_profile_add_function(c->p, "[no sample]", "",
									 "", 0)};
			uint32_t i = l.function == UINT32_MAX
					     ? UINT32_MAX
					     : ct_profile_add_location(c->p, 0, 0, &l, 1);
			if (i == UINT32_MAX)
				return -ENOMEM;
			c->no_sample = i + 1;
		}
		c->locs[n++] = c->no_sample - 1;
	}
	char name[32];
	ct_label labels[3] = {{.key = "thread", .str = ct_thread_label(th, name, sizeof(name))},
			      {.key = "tid", .num = th->tid},
			      {.key = "approx", .str = "1"}};
	int64_t v[2] = {1, (int64_t)delay};
	if (ct_profile_add_sample(c->p, c->locs, n, v, labels, approx ? 3 : 2) ||
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

static int fill(copier *c, const ct_trace_model *m)
{
	const ct_trace *t = m->trace;
	ct_profile *p = c->p;
	int rc = ct_profile_add_sample_type(p, "contentions", "count");
	if (!rc)
		rc = ct_profile_add_sample_type(p, "delay", "nanoseconds");
	if (!rc)
		rc = ct_profile_add_comment(p, m->merged ? "ctrace: no context-switch records in "
							   "this trace: runnable time is unknown"
							 : "ctrace: runnable time charged to the "
							   "stack running when preempted");
	p->period_type =
		(ct_value_type){ct_profile_str(p, "delay"), ct_profile_str(p, "nanoseconds")};
	p->period = 1;
	p->default_sample_type = ct_profile_str(p, "delay");
	p->time_nanos = (int64_t)(t->anchor_wall_ns + (m->start - t->anchor_mono_ns));
	p->duration_nanos = (int64_t)(m->end - m->start);
	for (uint32_t i = 0; !rc && i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		for (size_t k = 0; !rc && k < th->niv; k++) {
			const ct_interval *iv = &th->iv[k];
			if (iv->state != CT_TS_RUNNABLE)
				continue;
			const ct_trace_event *s = sample_before(t, th, iv->start);
			bool approx = !s || !t->sample_period_ns ||
				      iv->start - s->time > t->sample_period_ns;
			rc = charge(c, th, i, s ? s->stack : 0, approx, iv->end - iv->start);
		}
	}
	return rc;
}

int ct_trace_pprof_sched_latency(const ct_trace_model *m, ct_profile **out)
{
	const ct_profile *s = m->trace->prof;
	copier c = {.t = m->trace, .p = ct_profile_new()};
	c.loc_map = calloc(s->nlocations + 1, sizeof(uint32_t));
	c.map_map = calloc(s->nmappings + 1, sizeof(uint32_t));
	c.fn_map = calloc(s->nfunctions + 1, sizeof(uint32_t));
	c.locs = malloc((CT_TRACE_MAX_FRAMES + 1) * sizeof(uint32_t));
	int rc = c.p && c.loc_map && c.map_map && c.fn_map && c.locs ? fill(&c, m) : -ENOMEM;
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

int ct_trace_write_sched_latency(const ct_trace_model *m, const char *path)
{
	ct_profile *p;
	int rc = ct_trace_pprof_sched_latency(m, &p);
	if (!rc)
		rc = ct_pprof_write_file(p, path);
	ct_profile_free(p);
	return rc;
}
