/*
 * timeline.c — the self-contained HTML timeline of a trace (see timeline.h): the page
 * (timeline_page.html) with the script (timeline.js) and the model as one JSON object in
 * place of their markers. All layout, level of detail and drawing happen in the script.
 *
 * The JSON, by field:
 *   title, pid, engine, merged, truncated, lost, period   what the trace says of itself
 *   dur      the trace's length in ns; every time below is ns from the trace's start
 *   wall0    the start as CLOCK_REALTIME ns (for the axis' clock time)
 *   ncpus    CPU lanes
 *   reasons  wait reason names, by ct_wait_reason
 *   threads  per thread, in the model's order: [tid, name, begin, end, creator tid (0
 *            unknown), alive, switches, preemptions]
 *   iv       per thread, its intervals as one packed string (below)
 *   sm       per thread, its CPU samples: per sample the gap from the previous one (the
 *            first from 0) and its stack
 *   objs     wait objects as hex strings, by index
 *   stacks   packed: per stack its frame count, then that many location indexes, leaf first
 *   locs     packed: per location its function (index into fns), file (into files), line
 *   fns, files   names
 *   rn       region and task names, by index
 *   rg       per thread, its regions as one packed string: per region (in start order) the
 *            gap from the previous region's start (the first's from 0), duration, depth (1
 *            outermost), name index, task index + 1 (0 none), unended (0 or 1)
 *   tk       tasks: [name index, start, end, id as a decimal string, ended]
 *   lg       logs: [thread index, time, category, message, task index + 1]
 *
 * Packed strings are numbers written little end first in 5-bit groups, one base64
 * character per group, with 32 added to every group but the last (as the flame graph's
 * tree). An interval is: gap from the previous interval's end (0 for contiguous ones; the
 * first's from 0), duration, code * 2 + has_waker where code is 0 running, 1 runnable, 2
 * running-or-runnable, 3 + reason waiting; then for running its CPU, for waiting its
 * stack + 1 (0 none) and object + 1 (0 none), and with a waker the waker's thread index
 * + 1, how long before the wait's end it woke it (zigzag) and its stack + 1. Stack and
 * location indexes count only the ones used, in order of first use.
 */
#include "libtrace/timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/escape.h"
#include "libtrace/tracebuf.h"

static const char page[] =
#include "libtrace/timeline_page.html.inc"
	;
static const char script[] =
#include "libtrace/timeline.js.inc"
	;
static const char script_ann[] =
#include "libtrace/timeline_ann.js.inc"
	;

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A list of indexes of the source in order of first use, and source → position + 1. */
typedef struct {
	uint32_t *map, *list;
	size_t n, cap;
} uselist;

/* Distinct strings, told apart by pointer (interned: one pointer each), in first-use order. */
typedef struct {
	ct_u64map map;
	const char **v;
	size_t n, cap;
} strlist;

typedef struct {
	FILE *out;
	const ct_trace_model *m;
	const ct_trace *t;
	uselist stacks, locs, fns;
	ct_u64map objmap, tidmap;
	uint64_t *objs;
	size_t nobjs, objs_cap;
	strlist files, names; /* files; region and task names (rn) */
	int err;
} tl;

/* Appends v packed to *p (at most 13 characters). */
static char *pk(char *p, uint64_t v)
{
	while (v >= 32) {
		*p++ = b64[32 + (v & 31)];
		v >>= 5;
	}
	*p++ = b64[v];
	return p;
}

static uint64_t zigzag(int64_t v)
{
	return v < 0 ? ((uint64_t)(-(v + 1)) << 1) | 1 : (uint64_t)v << 1;
}

/* The position + 1 of source index i in u, added on first use; 0 on ENOMEM. */
static uint32_t use(tl *c, uselist *u, uint32_t i)
{
	if (u->map[i])
		return u->map[i];
	if (ct_grow((void **)&u->list, &u->cap, u->n + 1, sizeof(*u->list))) {
		c->err = -ENOMEM;
		return 0;
	}
	u->list[u->n++] = i;
	return u->map[i] = (uint32_t)u->n;
}

static uint32_t obj_index(tl *c, uint64_t obj)
{
	if (!obj)
		return 0;
	uint32_t i = ct_u64map_get(&c->objmap, obj);
	if (i != UINT32_MAX)
		return i + 1;
	if (ct_grow((void **)&c->objs, &c->objs_cap, c->nobjs + 1, sizeof(*c->objs)) ||
	    ct_u64map_put(&c->objmap, obj, (uint32_t)c->nobjs)) {
		c->err = -ENOMEM;
		return 0;
	}
	c->objs[c->nobjs++] = obj;
	return (uint32_t)c->nobjs;
}

/* The index of the thread tid alive at time at (the latest with that tid before it). */
static uint32_t thread_at(const tl *c, uint32_t tid, uint64_t at)
{
	uint32_t i = ct_u64map_get(&c->tidmap, tid);
	if (i == UINT32_MAX)
		return UINT32_MAX;
	const ct_trace_model *m = c->m;
	if (m->threads[i].begin <= at && at <= m->threads[i].end)
		return i;
	uint32_t best = i;
	for (uint32_t k = 0; k < m->nthreads; k++)
		if (m->threads[k].tid == tid && m->threads[k].begin <= at)
			best = k;
	return best;
}

static void put_intervals(tl *c, const ct_thread *th)
{
	const ct_trace *t = c->t;
	uint64_t prev = c->m->start;
	char buf[160];
	putc('"', c->out);
	for (size_t k = 0; k < th->niv; k++) {
		const ct_interval *iv = &th->iv[k];
		char *p = pk(buf, iv->start >= prev ? iv->start - prev : 0);
		p = pk(p, iv->end - iv->start);
		uint32_t code = iv->state == CT_TS_WAITING    ? 3u + iv->reason
				: iv->state == CT_TS_RUNNABLE ? 1
				: iv->state == CT_TS_ONCPU    ? 2
							      : 0;
		bool waker = iv->state == CT_TS_WAITING && iv->unblock != CT_NO_EVENT;
		const ct_trace_event *u = waker ? &t->events[iv->unblock] : NULL;
		uint32_t wi = u ? thread_at(c, u->tid, u->time) : UINT32_MAX;
		waker = wi != UINT32_MAX;
		p = pk(p, code * 2 + waker);
		if (iv->state == CT_TS_RUNNING)
			p = pk(p, iv->cpu == UINT32_MAX ? 0 : iv->cpu);
		if (iv->state == CT_TS_WAITING) {
			p = pk(p, iv->stack ? use(c, &c->stacks, iv->stack - 1) : 0);
			p = pk(p, obj_index(c, iv->object));
		}
		if (waker) {
			p = pk(p, wi + 1);
			p = pk(p, zigzag((int64_t)(iv->end - u->time)));
			p = pk(p, u->stack ? use(c, &c->stacks, u->stack - 1) : 0);
		}
		fwrite(buf, 1, (size_t)(p - buf), c->out);
		prev = iv->end;
	}
	putc('"', c->out);
}

static void put_samples(tl *c, const ct_thread *th)
{
	uint64_t prev = c->m->start;
	char buf[32];
	putc('"', c->out);
	for (size_t k = 0; k < th->nsamples; k++) {
		const ct_trace_event *e = &c->t->events[th->samples[k]];
		char *p = pk(buf, e->time >= prev ? e->time - prev : 0);
		p = pk(p, e->stack ? use(c, &c->stacks, e->stack - 1) : 0);
		fwrite(buf, 1, (size_t)(p - buf), c->out);
		prev = e->time > prev ? e->time : prev;
	}
	putc('"', c->out);
}

static void put_threads(tl *c)
{
	const ct_trace_model *m = c->m;
	fputs(",\"threads\":[", c->out);
	for (uint32_t i = 0; i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		char name[32];
		fprintf(c->out, "%s[%u,", i ? "," : "", th->tid);
		ct_escape_json(c->out, ct_thread_label(th, name, sizeof(name)));
		fprintf(c->out, ",%" PRIu64 ",%" PRIu64 ",%u,%d,%" PRIu64 ",%" PRIu64 "]",
			th->begin - m->start, th->end - m->start, th->created ? th->creator : 0,
			th->alive, th->switches, th->preemptions);
	}
	fputs("],\"iv\":[", c->out);
	for (uint32_t i = 0; i < m->nthreads; i++) {
		if (i)
			putc(',', c->out);
		put_intervals(c, &m->threads[i]);
	}
	fputs("],\"sm\":[", c->out);
	for (uint32_t i = 0; i < m->nthreads; i++) {
		if (i)
			putc(',', c->out);
		put_samples(c, &m->threads[i]);
	}
	putc(']', c->out);
}

/* The index of str in l, added on first use; 0 and c->err set on ENOMEM. */
static uint32_t str_index(tl *c, strlist *l, const char *str)
{
	uint32_t i = ct_u64map_get(&l->map, (uintptr_t)str);
	if (i != UINT32_MAX)
		return i;
	if (ct_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) ||
	    ct_u64map_put(&l->map, (uintptr_t)str, (uint32_t)l->n)) {
		c->err = -ENOMEM;
		return 0;
	}
	l->v[l->n] = str;
	return (uint32_t)l->n++;
}

/* l's strings as the elements of a JSON array (the brackets are the caller's). */
static void put_strs(tl *c, const strlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			putc(',', c->out);
		ct_escape_json(c->out, l->v[i]);
	}
}

/* rg, tk, lg, rn: the annotations (docs/annotate-trace.md). */
static void put_annots(tl *c)
{
	const ct_trace_model *m = c->m;
	char buf[80];
	/* regions are grouped by thread id, each life's together, in start order */
	uint32_t *first = malloc((m->nthreads + 1) * sizeof(*first));
	if (!first) {
		c->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < m->nthreads; i++)
		first[i] = m->nregions;
	for (uint32_t k = m->nregions; k-- > 0;)
		if (m->regions[k].thread != CT_NO_EVENT)
			first[m->regions[k].thread] = k;
	fputs(",\"rg\":[", c->out);
	for (uint32_t i = 0; i < m->nthreads; i++) {
		fputs(i ? ",\"" : "\"", c->out);
		uint32_t k = first[i];
		uint64_t prev = m->start;
		for (; k < m->nregions && m->regions[k].thread == i && !c->err; k++) {
			const ct_region *r = &m->regions[k];
			char *p = pk(buf, r->start - prev);
			p = pk(p, r->end - r->start);
			p = pk(p, r->depth);
			p = pk(p, str_index(c, &c->names, r->name));
			p = pk(p, r->task == CT_NO_EVENT ? 0 : r->task + 1);
			p = pk(p, r->unended);
			fwrite(buf, 1, (size_t)(p - buf), c->out);
			prev = r->start;
		}
		putc('"', c->out);
	}
	free(first);
	fputs("],\"tk\":[", c->out);
	for (uint32_t i = 0; i < m->ntasks; i++) {
		const ct_task *k = &m->tasks[i];
		fprintf(c->out, "%s[%u,%" PRIu64 ",%" PRIu64 ",\"%" PRIu64 "\",%d]", i ? "," : "",
			str_index(c, &c->names, k->name), k->start - m->start,
			(k->end > k->start ? k->end : k->start) - m->start, k->id, k->ended);
	}
	fputs("],\"lg\":[", c->out);
	for (uint32_t i = 0, n = 0; i < m->nlogs; i++) {
		const ct_log *l = &m->logs[i];
		if (l->thread == CT_NO_EVENT)
			continue;
		fprintf(c->out, "%s[%u,%" PRIu64 ",", n++ ? "," : "", l->thread,
			l->time - m->start);
		ct_escape_json(c->out, l->category);
		putc(',', c->out);
		ct_escape_json(c->out, l->msg ? l->msg : "");
		fprintf(c->out, ",%u]", l->task == CT_NO_EVENT ? 0 : l->task + 1);
	}
	fputs("],\"rn\":[", c->out);
	put_strs(c, &c->names);
	putc(']', c->out);
}

/* stacks, locs, fns and files: everything the packed strings referenced. */
static void put_names(tl *c)
{
	const ct_trace *t = c->t;
	const ct_profile *p = t->prof;
	char buf[32];
	fputs(",\"stacks\":\"", c->out);
	for (size_t i = 0; i < c->stacks.n; i++) {
		const ct_trace_stack *s = &t->stacks[c->stacks.list[i]];
		char *q = pk(buf, s->nlocs);
		fwrite(buf, 1, (size_t)(q - buf), c->out);
		for (uint32_t k = 0; k < s->nlocs; k++) {
			q = pk(buf, use(c, &c->locs, s->locs[k]) - 1);
			fwrite(buf, 1, (size_t)(q - buf), c->out);
		}
	}
	fputs("\",\"locs\":\"", c->out);
	str_index(c, &c->files, "");
	for (size_t i = 0; i < c->locs.n; i++) {
		const ct_location *l = &p->locations[c->locs.list[i]];
		/* a symbolized location names its function; else the location is its name */
		uint32_t fn = l->nlines
				      ? use(c, &c->fns, l->lines[0].function)
				      : use(c, &c->fns, (uint32_t)p->nfunctions + c->locs.list[i]);
		uint32_t file = l->nlines ? str_index(c, &c->files,
						      p->functions[l->lines[0].function].filename)
					  : 0;
		char *q = pk(buf, fn - 1);
		q = pk(q, file);
		q = pk(q, l->nlines && l->lines[0].line > 0 ? (uint64_t)l->lines[0].line : 0);
		fwrite(buf, 1, (size_t)(q - buf), c->out);
	}
	fputs("\",\"fns\":[", c->out);
	for (size_t i = 0; i < c->fns.n; i++) {
		uint32_t f = c->fns.list[i];
		char name[128];
		if (i)
			putc(',', c->out);
		ct_escape_json(c->out, f < p->nfunctions
					       ? p->functions[f].name
					       : ct_trace_loc_name(t, f - (uint32_t)p->nfunctions,
								   name, sizeof(name)));
	}
	fputs("],\"files\":[", c->out);
	put_strs(c, &c->files);
	fputs("],\"objs\":[", c->out);
	for (size_t i = 0; i < c->nobjs; i++)
		fprintf(c->out, "%s\"0x%" PRIx64 "\"", i ? "," : "", c->objs[i]);
	putc(']', c->out);
}

static void put_head(tl *c)
{
	const ct_trace_model *m = c->m;
	const ct_trace *t = c->t;
	fputs("{\"v\":1,\"title\":", c->out);
	char title[512] = "";
	size_t n = 0;
	for (uint32_t i = 0; i < t->argc && n + 1 < sizeof(title); i++)
		n += (size_t)snprintf(title + n, sizeof(title) - n, "%s%s", i ? " " : "",
				      t->argv[i]);
	ct_escape_json(c->out, title);
	fprintf(c->out, ",\"pid\":%d,\"engine\":", t->pid);
	ct_escape_json(c->out, t->engine);
	fprintf(c->out,
		",\"merged\":%s,\"truncated\":%s,\"lost\":%" PRIu64 ",\"period\":%" PRIu64
		",\"dur\":%" PRIu64 ",\"wall0\":%" PRIu64 ",\"ncpus\":%u,\"reasons\":[",
		m->merged ? "true" : "false", t->truncated ? "true" : "false", t->lost,
		t->sample_period_ns, m->end - m->start,
		t->anchor_wall_ns + (m->start - t->anchor_mono_ns), m->ncpus);
	for (int r = 0; r < CT_WAIT_NREASONS; r++)
		fprintf(c->out, "%s\"%s\"", r ? "," : "", ct_wait_reason_name((ct_wait_reason)r));
	putc(']', c->out);
}

static int put_data(FILE *out, const ct_trace_model *m)
{
	const ct_trace *t = m->trace;
	const ct_profile *p = t->prof;
	tl c = {.out = out, .m = m, .t = t};
	c.stacks.map = calloc(t->nstacks + 1, sizeof(uint32_t));
	c.locs.map = calloc(p->nlocations + 1, sizeof(uint32_t));
	c.fns.map = calloc(p->nfunctions + p->nlocations + 1, sizeof(uint32_t));
	if (!c.stacks.map || !c.locs.map || !c.fns.map)
		c.err = -ENOMEM;
	for (uint32_t i = 0; !c.err && i < m->nthreads; i++)
		if (ct_u64map_get(&c.tidmap, m->threads[i].tid) == UINT32_MAX &&
		    ct_u64map_put(&c.tidmap, m->threads[i].tid, i))
			c.err = -ENOMEM;
	if (!c.err) {
		put_head(&c);
		put_threads(&c);
		put_annots(&c);
		put_names(&c);
		putc('}', out);
	}
	free(c.stacks.map);
	free(c.stacks.list);
	free(c.locs.map);
	free(c.locs.list);
	free(c.fns.map);
	free(c.fns.list);
	free(c.objs);
	free(c.files.v);
	free(c.names.v);
	ct_u64map_free(&c.names.map);
	ct_u64map_free(&c.objmap);
	ct_u64map_free(&c.files.map);
	ct_u64map_free(&c.tidmap);
	return c.err;
}

int ct_timeline_write_html(FILE *out, const ct_trace_model *m)
{
	static const char data_marker[] = "@CT_DATA@", script_marker[] = "@CT_SCRIPT@";
	const char *d = strstr(page, data_marker), *s = strstr(page, script_marker);
	if (!d || !s || s < d)
		return -EINVAL; /* the page is built with both, data first */
	fwrite(page, 1, (size_t)(d - page), out);
	int rc = put_data(out, m);
	if (rc)
		return rc;
	const char *mid = d + strlen(data_marker);
	fwrite(mid, 1, (size_t)(s - mid), out);
	fputs(script, out);
	fputs(script_ann, out);
	fputs(s + strlen(script_marker), out);
	return ferror(out) ? -EIO : 0;
}
