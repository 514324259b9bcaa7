/*
 * traceperfetto.c — the Perfetto protobuf export (see traceperfetto.h). Each packet is
 * built on the stack as protobuf-c structs, packed into a reused buffer and written as one
 * `Trace.packet` field (tag 1, length-delimited): descriptors first, then per thread its
 * slices, flows and samples. The counters ride on the slices: the running and runnable
 * counts change only where some slice begins or a thread's last slice ends, so those
 * events carry both counts as extra counter values (the counter tracks are the sequence's
 * default extra_counter_track_uuids) instead of packets of their own.
 */
#include "libtrace/traceperfetto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/tracebuf.h"
#include "libtrace/vec.h"
#include "proto/perfetto_trace.pb-c.h"

typedef Perfetto__Protos__TracePacket Packet;
typedef Perfetto__Protos__TrackEvent Event;
typedef Perfetto__Protos__DebugAnnotation Annotation;

enum {
	SEQ = 1,	 /* the one packet sequence */
	SEQ_CLEARED = 1, /* TracePacket.sequence_flags: incremental state cleared */
	SEQ_NEEDS = 2,	 /* ... uses interned data */
	NAME_UNBLOCK = CT_TS_NSTATES + 1, /* event name iids: a state is its value + 1 */
	NAME_SAMPLE,
	ANN_CPU = 1, /* debug annotation name iids */
	ANN_REASON,
	ANN_OBJECT,
	PROCESS_UUID = 1,
	COUNTER_UUID = 2, /* running; runnable is + 1; threads from THREAD_UUID */
	THREAD_UUID = 16,
};

typedef struct change change;

typedef struct {
	FILE *out;
	const ct_trace_model *m;
	uint8_t *buf;
	size_t cap;
	uint32_t *loc_iid;    /* trace location → source location iid, 0 not yet interned */
	uint64_t flows, locs; /* flow ids and source location iids given so far */
	ct_u64map tids;	      /* tid → index of its last thread */
	change *steps;	      /* the counts over time (counts()) */
	size_t nsteps;
	int err;
} pf;

static void put_varint(pf *c, uint64_t v)
{
	uint8_t b[10];
	int n = 0;
	do {
		b[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v);
	fwrite(b, 1, (size_t)n, c->out);
}

/* Packs p and writes it as a Trace.packet field. */
static void emit(pf *c, Packet *p)
{
	if (c->err)
		return;
	p->has_trusted_packet_sequence_id = true;
	p->trusted_packet_sequence_id = SEQ;
	size_t n = perfetto__protos__trace_packet__get_packed_size(p);
	if (ct_grow((void **)&c->buf, &c->cap, n, 1)) {
		c->err = -ENOMEM;
		return;
	}
	perfetto__protos__trace_packet__pack(p, c->buf);
	putc(0x0a, c->out); /* field 1, length-delimited */
	put_varint(c, n);
	fwrite(c->buf, 1, n, c->out);
}

static const char *state_name(unsigned s)
{
	return ct_thread_state_name((ct_thread_state)s);
}

/* The first packet: interned names, and the process track. */
static void head(pf *c)
{
	const ct_trace *t = c->m->trace;
	Perfetto__Protos__EventName names[CT_TS_NSTATES + 2], *pn[CT_TS_NSTATES + 2];
	for (unsigned i = 0; i < CT_TS_NSTATES + 2; i++) {
		names[i] = (Perfetto__Protos__EventName)PERFETTO__PROTOS__EVENT_NAME__INIT;
		names[i].has_iid = true;
		names[i].iid = i + 1;
		names[i].name = (char *)(i < CT_TS_NSTATES	 ? state_name(i)
					 : i + 1 == NAME_UNBLOCK ? "unblock"
								 : "sample");
		pn[i] = &names[i];
	}
	static const char *const ann[] = {"cpu", "reason", "object"};
	Perfetto__Protos__DebugAnnotationName an[3], *pa[3];
	for (unsigned i = 0; i < 3; i++) {
		an[i] = (Perfetto__Protos__DebugAnnotationName)
			PERFETTO__PROTOS__DEBUG_ANNOTATION_NAME__INIT;
		an[i].has_iid = true;
		an[i].iid = i + 1;
		an[i].name = (char *)ann[i];
		pa[i] = &an[i];
	}
	Perfetto__Protos__InternedData in = PERFETTO__PROTOS__INTERNED_DATA__INIT;
	in.n_event_names = CT_TS_NSTATES + 2;
	in.event_names = pn;
	in.n_debug_annotation_names = 3;
	in.debug_annotation_names = pa;
	Perfetto__Protos__ProcessDescriptor pd = PERFETTO__PROTOS__PROCESS_DESCRIPTOR__INIT;
	pd.has_pid = true;
	pd.pid = t->pid;
	pd.n_cmdline = t->argc;
	pd.cmdline = (char **)t->argv;
	pd.process_name = (char *)(t->argc ? t->argv[0] : "");
	Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
	td.has_uuid = true;
	td.uuid = PROCESS_UUID;
	td.process = &pd;
	uint64_t counter_uuids[2] = {COUNTER_UUID, COUNTER_UUID + 1};
	Perfetto__Protos__TrackEventDefaults ted = PERFETTO__PROTOS__TRACK_EVENT_DEFAULTS__INIT;
	ted.n_extra_counter_track_uuids = 2;
	ted.extra_counter_track_uuids = counter_uuids;
	Perfetto__Protos__TracePacketDefaults defaults =
		PERFETTO__PROTOS__TRACE_PACKET_DEFAULTS__INIT;
	defaults.track_event_defaults = &ted;
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	p.has_sequence_flags = true;
	p.sequence_flags = SEQ_CLEARED;
	p.trace_packet_defaults = &defaults;
	p.interned_data = &in;
	p.track_descriptor = &td;
	emit(c, &p);
}

static void descriptors(pf *c)
{
	const ct_trace_model *m = c->m;
	for (uint32_t i = 0; i < m->nthreads; i++) {
		char name[32];
		Perfetto__Protos__ThreadDescriptor th = PERFETTO__PROTOS__THREAD_DESCRIPTOR__INIT;
		th.has_pid = th.has_tid = true;
		th.pid = m->trace->pid;
		th.tid = (int32_t)m->threads[i].tid;
		th.thread_name = (char *)ct_thread_label(&m->threads[i], name, sizeof(name));
		Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
		td.has_uuid = td.has_parent_uuid = true;
		td.uuid = THREAD_UUID + i;
		td.parent_uuid = PROCESS_UUID;
		td.thread = &th;
		Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
		p.track_descriptor = &td;
		emit(c, &p);
	}
	for (int k = 0; k < 2; k++) {
		Perfetto__Protos__CounterDescriptor cd = PERFETTO__PROTOS__COUNTER_DESCRIPTOR__INIT;
		cd.has_unit = true;
		cd.unit = PERFETTO__PROTOS__COUNTER_DESCRIPTOR__UNIT__UNIT_COUNT;
		Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
		td.has_uuid = td.has_parent_uuid = true;
		td.uuid = COUNTER_UUID + (uint64_t)k;
		td.parent_uuid = PROCESS_UUID;
		td.name = (char *)(k ? "runnable threads" : "running threads");
		td.counter = &cd;
		Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
		p.track_descriptor = &td;
		emit(c, &p);
	}
}

/* The source location iid of a stack's innermost frame (0: none), interned into *in (one
 * location, storage in *loc) when first used. */
static uint64_t site(pf *c, uint32_t stack, Perfetto__Protos__InternedData *in,
		     Perfetto__Protos__SourceLocation *loc, Perfetto__Protos__SourceLocation **ploc,
		     char *buf, size_t len)
{
	const ct_trace *t = c->m->trace;
	if (!stack || !t->stacks[stack - 1].nlocs)
		return 0;
	uint32_t l = t->stacks[stack - 1].locs[0];
	if (c->loc_iid[l])
		return c->loc_iid[l];
	c->loc_iid[l] = (uint32_t)++c->locs;
	const ct_location *x = &t->prof->locations[l];
	*loc = (Perfetto__Protos__SourceLocation)PERFETTO__PROTOS__SOURCE_LOCATION__INIT;
	loc->has_iid = true;
	loc->iid = c->loc_iid[l];
	loc->function_name = (char *)ct_trace_loc_name(t, l, buf, len);
	if (x->nlines) {
		loc->file_name = (char *)t->prof->functions[x->lines[0].function].filename;
		loc->has_line_number = x->lines[0].line > 0;
		loc->line_number = (uint32_t)x->lines[0].line;
	}
	*ploc = loc;
	in->n_source_locations = 1;
	in->source_locations = ploc;
	return loc->iid;
}

/* An event on a track at time at (ns from the trace's start), with an optional interned
 * source location from stack. */
static void event(pf *c, Event *e, uint64_t track, uint64_t at, uint32_t stack)
{
	Perfetto__Protos__InternedData in = PERFETTO__PROTOS__INTERNED_DATA__INIT;
	Perfetto__Protos__SourceLocation loc, *ploc;
	char buf[128];
	uint64_t iid = site(c, stack, &in, &loc, &ploc, buf, sizeof(buf));
	e->has_track_uuid = true;
	e->track_uuid = track;
	if (iid) {
		e->has_source_location_iid = true;
		e->source_location_iid = iid;
	}
	Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
	p.has_timestamp = true;
	p.timestamp = at - c->m->start;
	/* interned names or locations, or the default counter tracks */
	p.has_sequence_flags = e->has_name_iid || iid || e->n_extra_counter_values;
	p.sequence_flags = SEQ_NEEDS;
	p.track_event = e;
	p.interned_data = in.n_source_locations ? &in : NULL;
	emit(c, &p);
}

struct change {
	uint64_t t;
	int32_t running, runnable; /* the change; after counting, the counts at t */
};

static int change_cmp(const void *a, const void *b)
{
	const change *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* The running and runnable counts as a step function: c->steps, one per distinct time. */
static void counts(pf *c)
{
	const ct_trace_model *m = c->m;
	size_t n = 0, cap = 0;
	change *ch = NULL;
	for (uint32_t i = 0; i < m->nthreads; i++)
		for (size_t k = 0; k < m->threads[i].niv; k++) {
			const ct_interval *iv = &m->threads[i].iv[k];
			if (iv->state == CT_TS_WAITING)
				continue;
			if (ct_grow((void **)&ch, &cap, n + 2, sizeof(*ch))) {
				c->err = -ENOMEM;
				free(ch);
				return;
			}
			int32_t q = iv->state == CT_TS_RUNNABLE;
			ch[n++] = (change){iv->start, !q, q};
			ch[n++] = (change){iv->end, -!q, -q};
		}
	if (n)
		qsort(ch, n, sizeof(*ch), change_cmp);
	size_t k = 0;
	int32_t r = 0, q = 0;
	for (size_t i = 0; i < n;) {
		uint64_t t = ch[i].t;
		for (; i < n && ch[i].t == t; i++) {
			r += ch[i].running;
			q += ch[i].runnable;
		}
		ch[k++] = (change){t, r, q};
	}
	c->steps = ch;
	c->nsteps = k;
}

/* Attaches the counts at time t to e (vals has room for two). */
static void attach_counts(const pf *c, Event *e, uint64_t t, int64_t *vals)
{
	size_t lo = CT_VEC_UPPER_BOUND(c->steps, c->nsteps, t, t);
	vals[0] = lo ? c->steps[lo - 1].running : 0;
	vals[1] = lo ? c->steps[lo - 1].runnable : 0;
	e->n_extra_counter_values = 2;
	e->extra_counter_values = vals;
}

static void slice(pf *c, const ct_thread *th, uint32_t ti, size_t k, uint64_t *flow_in)
{
	const ct_interval *iv = &th->iv[k];
	const ct_trace *t = c->m->trace;
	Annotation a[2] = {PERFETTO__PROTOS__DEBUG_ANNOTATION__INIT,
			   PERFETTO__PROTOS__DEBUG_ANNOTATION__INIT},
		   *pa[2] = {&a[0], &a[1]};
	Event b = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	b.has_type = b.has_name_iid = true;
	b.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN;
	b.name_iid = iv->state + 1u;
	b.debug_annotations = pa;
	if (iv->state == CT_TS_RUNNING && iv->cpu != UINT32_MAX) {
		a[0].has_name_iid = a[0].has_uint_value = true;
		a[0].name_iid = ANN_CPU;
		a[0].uint_value = iv->cpu;
		b.n_debug_annotations = 1;
	} else if (iv->state == CT_TS_WAITING) {
		a[0].has_name_iid = true;
		a[0].name_iid = ANN_REASON;
		a[0].string_value = (char *)ct_wait_reason_name((ct_wait_reason)iv->reason);
		a[1].has_name_iid = a[1].has_pointer_value = true;
		a[1].name_iid = ANN_OBJECT;
		a[1].pointer_value = iv->object;
		b.n_debug_annotations = iv->object ? 2 : 1;
	}
	if (*flow_in) {
		b.n_terminating_flow_ids = 1;
		b.terminating_flow_ids = flow_in;
	}
	uint64_t track = THREAD_UUID + ti;
	int64_t vals[2];
	attach_counts(c, &b, iv->start, vals);
	event(c, &b, track, iv->start, iv->state == CT_TS_WAITING ? iv->stack : 0);
	*flow_in = 0;
	Event e = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	e.has_type = true;
	e.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_END;
	if (k + 1 == th->niv) /* the thread's end: nothing begins here on its track */
		attach_counts(c, &e, iv->end, vals);
	event(c, &e, track, iv->end, 0);
	if (iv->state != CT_TS_WAITING || iv->unblock == CT_NO_EVENT || k + 1 >= th->niv)
		return;
	/* the edge that ended the wait: an instant on the waker's track, flowing into the
	 * waiter's next slice */
	const ct_trace_event *u = &t->events[iv->unblock];
	const ct_trace_model *m = c->m;
	uint32_t wi = ct_u64map_get(&c->tids, u->tid);
	if (wi == UINT32_MAX)
		return;
	if (u->time < m->threads[wi].begin) /* an earlier life of a reused tid */
		for (uint32_t j = 0; j < wi; j++)
			if (m->threads[j].tid == u->tid && m->threads[j].begin <= u->time)
				wi = j;
	uint64_t id = ++c->flows;
	Event f = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	f.has_type = f.has_name_iid = true;
	f.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT;
	f.name_iid = NAME_UNBLOCK;
	f.n_flow_ids = 1;
	f.flow_ids = &id;
	event(c, &f, THREAD_UUID + wi, u->time, u->stack);
	*flow_in = id;
}

static void thread_events(pf *c, const ct_thread *th, uint32_t ti)
{
	uint64_t flow_in = 0;
	for (size_t k = 0; k < th->niv && !c->err; k++)
		slice(c, th, ti, k, &flow_in);
	for (size_t k = 0; k < th->nsamples && !c->err; k++) {
		const ct_trace_event *s = &c->m->trace->events[th->samples[k]];
		Event e = PERFETTO__PROTOS__TRACK_EVENT__INIT;
		e.has_type = e.has_name_iid = true;
		e.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT;
		e.name_iid = NAME_SAMPLE;
		event(c, &e, THREAD_UUID + ti, s->time, s->stack);
	}
}

/* ---- annotations ------------------------------------------------------------------------- */

/* Track uuids past the threads': per thread its "regions" track (a child of the thread's
 * track, where regions nest), then per task its track (a child of the process). */
static uint64_t region_track(const pf *c, uint32_t thread)
{
	return THREAD_UUID + c->m->nthreads + thread;
}

static uint64_t task_track(const pf *c, uint32_t task)
{
	return THREAD_UUID + 2ull * c->m->nthreads + task;
}

#define TASK_FLOW (1ull << 62) /* + task index: the flow through a task's regions */

static void ann_descriptors(pf *c)
{
	const ct_trace_model *m = c->m;
	for (uint32_t i = 0; i < m->nregions; i++) {
		uint32_t th = m->regions[i].thread;
		if (th == CT_NO_EVENT || (i && m->regions[i - 1].thread == th))
			continue;
		Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
		td.has_uuid = td.has_parent_uuid = true;
		td.uuid = region_track(c, th);
		td.parent_uuid = THREAD_UUID + th;
		td.name = (char *)"regions";
		Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
		p.track_descriptor = &td;
		emit(c, &p);
	}
	for (uint32_t i = 0; i < m->ntasks; i++) {
		Perfetto__Protos__TrackDescriptor td = PERFETTO__PROTOS__TRACK_DESCRIPTOR__INIT;
		td.has_uuid = td.has_parent_uuid = true;
		td.uuid = task_track(c, i);
		td.parent_uuid = PROCESS_UUID;
		td.name = (char *)(m->tasks[i].name[0] ? m->tasks[i].name : "task");
		Packet p = PERFETTO__PROTOS__TRACE_PACKET__INIT;
		p.track_descriptor = &td;
		emit(c, &p);
	}
}

static void slice_end(pf *c, uint64_t track, uint64_t at)
{
	Event e = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	e.has_type = true;
	e.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_END;
	event(c, &e, track, at, 0);
}

static void region_end(pf *c, const ct_region *r)
{
	slice_end(c, region_track(c, r->thread), r->end);
}

/* A slice begin or instant named name with the one debug annotation a. */
static void annotated(pf *c, Perfetto__Protos__TrackEvent__Type type, const char *name,
		      Annotation *a, uint64_t track, uint64_t at, uint32_t stack)
{
	Event e = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	e.has_type = true;
	e.type = type;
	e.name = (char *)name;
	e.n_debug_annotations = 1;
	e.debug_annotations = &a;
	event(c, &e, track, at, stack);
}

static void region_begin(pf *c, const ct_region *r)
{
	Annotation a = PERFETTO__PROTOS__DEBUG_ANNOTATION__INIT, *pa = &a;
	Event b = PERFETTO__PROTOS__TRACK_EVENT__INIT;
	uint64_t flow = TASK_FLOW + r->task;
	b.has_type = true;
	b.type = PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN;
	b.name = (char *)(r->name[0] ? r->name : "region");
	if (r->task != CT_NO_EVENT) {
		a.name = (char *)"task";
		a.has_uint_value = true;
		a.uint_value = c->m->tasks[r->task].id;
		b.n_debug_annotations = 1;
		b.debug_annotations = &pa;
		b.n_flow_ids = 1;
		b.flow_ids = &flow;
	}
	event(c, &b, region_track(c, r->thread), r->start, r->stack);
}

/* Regions nest on their track: begins and ends in nesting order, per thread. */
static void regions(pf *c)
{
	const ct_trace_model *m = c->m;
	const ct_region **open = malloc((m->nregions + 1) * sizeof(*open));
	size_t nopen = 0;
	if (!open) {
		c->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < m->nregions && !c->err; i++) {
		const ct_region *r = &m->regions[i];
		if (r->thread == CT_NO_EVENT)
			continue;
		while (nopen &&
		       (open[nopen - 1]->thread != r->thread || open[nopen - 1]->end <= r->start))
			region_end(c, open[--nopen]);
		region_begin(c, r);
		open[nopen++] = r;
	}
	while (nopen && !c->err)
		region_end(c, open[--nopen]);
	free(open);
}

static void tasks_logs(pf *c)
{
	const ct_trace_model *m = c->m;
	for (uint32_t i = 0; i < m->ntasks && !c->err; i++) {
		const ct_task *k = &m->tasks[i];
		Annotation a = PERFETTO__PROTOS__DEBUG_ANNOTATION__INIT;
		a.name = (char *)"id";
		a.has_uint_value = true;
		a.uint_value = k->id;
		annotated(c, PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN,
			  k->name[0] ? k->name : "task", &a, task_track(c, i), k->start, 0);
		slice_end(c, task_track(c, i), k->end > k->start ? k->end : k->start);
	}
	for (uint32_t i = 0; i < m->nlogs && !c->err; i++) {
		const ct_log *l = &m->logs[i];
		if (l->thread == CT_NO_EVENT)
			continue;
		Annotation a = PERFETTO__PROTOS__DEBUG_ANNOTATION__INIT;
		a.name = (char *)"message";
		a.string_value = (char *)(l->msg ? l->msg : "");
		annotated(c, PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_INSTANT,
			  l->category[0] ? l->category : "log", &a, THREAD_UUID + l->thread,
			  l->time, l->stack);
	}
}

int ct_trace_export_perfetto(FILE *out, const ct_trace_model *m)
{
	pf c = {.out = out, .m = m};
	c.loc_iid = calloc(m->trace->prof->nlocations + 1, sizeof(uint32_t));
	if (!c.loc_iid)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->nthreads; i++)
		if (ct_u64map_put(&c.tids, m->threads[i].tid, i)) {
			free(c.loc_iid);
			ct_u64map_free(&c.tids);
			return -ENOMEM;
		}
	counts(&c);
	head(&c);
	descriptors(&c);
	ann_descriptors(&c);
	for (uint32_t i = 0; i < m->nthreads && !c.err; i++)
		thread_events(&c, &m->threads[i], i);
	if (!c.err)
		regions(&c);
	if (!c.err)
		tasks_logs(&c);
	free(c.steps);
	free(c.buf);
	free(c.loc_iid);
	ct_u64map_free(&c.tids);
	if (c.err)
		return c.err;
	return ferror(out) ? -EIO : 0;
}
