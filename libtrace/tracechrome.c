/* tracechrome.c — the Chrome Trace Event Format export (see tracechrome.h). */
#include "tracechrome.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "libtrace/escape.h"
#include "libtrace/tracefmt.h"

#define FRAMES 32 /* frames per stack in args */

/* Writes ns (relative to the trace start) as microseconds with three decimals. */
static void put_us(FILE *out, uint64_t ns)
{
	fprintf(out, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

/* A stack's JSON array, built once per stack: views name the same few stacks many times. */
typedef struct {
	const ct_trace *t;
	char **json; /* per trace stack, NULL until first used; no cache when out of memory */
} stack_cache;

static void put_stack_raw(FILE *out, const ct_trace *t, uint32_t stack)
{
	fputs("[", out);
	const ct_trace_stack *s = &t->stacks[stack - 1];
	char buf[128];
	for (uint32_t i = 0; i < s->nlocs && i < FRAMES; i++) {
		fputs(i ? "," : "", out);
		ct_escape_json(out, ct_trace_loc_name(t, s->locs[i], buf, sizeof(buf)));
	}
	fputs("]", out);
}

static void put_stack(FILE *out, stack_cache *c, uint32_t stack)
{
	char **slot = c->json ? &c->json[stack - 1] : NULL;
	if (slot && !*slot) {
		size_t len;
		FILE *m = open_memstream(slot, &len);
		if (m) {
			put_stack_raw(m, c->t, stack);
			if (fclose(m)) {
				free(*slot);
				*slot = NULL;
			}
		}
	}
	if (slot && *slot)
		fputs(*slot, out);
	else
		put_stack_raw(out, c->t, stack);
}

/* The common head of an event: ph, name, cat, ts, pid, tid. */
static void head(FILE *out, const ct_trace_model *m, const char *ph, const char *cat,
		 const char *name, uint64_t ts, uint32_t tid)
{
	fprintf(out, ",\n{\"ph\":\"%s\",\"cat\":\"%s\",\"name\":\"%s\",\"ts\":", ph, cat, name);
	put_us(out, ts - m->start);
	fprintf(out, ",\"pid\":%d,\"tid\":%u", m->trace->pid, tid);
}

static void put_interval(FILE *out, const ct_trace_model *m, stack_cache *c, const ct_thread *th,
			 size_t k, uint64_t *flow)
{
	const ct_trace *t = m->trace;
	const ct_interval *iv = &th->iv[k];
	head(out, m, "X", "state", ct_thread_state_name((ct_thread_state)iv->state), iv->start,
	     th->tid);
	fputs(",\"dur\":", out);
	put_us(out, iv->end - iv->start);
	if (iv->state == CT_TS_RUNNING)
		fprintf(out, ",\"args\":{\"cpu\":%u}", iv->cpu);
	if (iv->state == CT_TS_WAITING) {
		fprintf(out, ",\"args\":{\"reason\":\"%s\",\"object\":\"0x%" PRIx64 "\"",
			ct_wait_reason_name((ct_wait_reason)iv->reason), iv->object);
		if (iv->stack) {
			fputs(",\"stack\":", out);
			put_stack(out, c, iv->stack);
		}
		fputs("}", out);
	}
	fputs("}", out);
	/* The edge that ended a wait: from the waker, to where the waiter runs again. */
	if (iv->state == CT_TS_WAITING && iv->unblock != CT_NO_EVENT && k + 1 < th->niv) {
		const ct_trace_event *u = &t->events[iv->unblock];
		uint64_t id = ++*flow;
		head(out, m, "s", "unblock", "unblock", u->time, u->tid);
		fprintf(out, ",\"id\":%" PRIu64 "", id);
		if (u->stack) {
			fputs(",\"args\":{\"stack\":", out);
			put_stack(out, c, u->stack);
			fputs("}", out);
		}
		fputs("}", out);
		head(out, m, "f", "unblock", "unblock", th->iv[k + 1].start, th->tid);
		fprintf(out, ",\"id\":%" PRIu64 ",\"bp\":\"e\"}", id);
	}
}

static void put_thread(FILE *out, const ct_trace_model *m, stack_cache *c, const ct_thread *th,
		       uint64_t *flow)
{
	const ct_trace *t = m->trace;
	char buf[32];
	fprintf(out,
		",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%u,"
		"\"args\":{\"name\":",
		t->pid, th->tid);
	ct_escape_json(out, ct_thread_label(th, buf, sizeof(buf)));
	fputs("}}", out);
	for (size_t k = 0; k < th->niv; k++)
		put_interval(out, m, c, th, k, flow);
	for (size_t k = 0; k < th->nsamples; k++) {
		const ct_trace_event *e = &t->events[th->samples[k]];
		head(out, m, "i", "sample", "sample", e->time, th->tid);
		fputs(",\"s\":\"t\"", out);
		if (e->stack) {
			fputs(",\"args\":{\"stack\":", out);
			put_stack(out, c, e->stack);
			fputs("}", out);
		}
		fputs("}", out);
	}
}

/* Regions of thread tid are X slices of a lane of their own beside it (a state slice and
 * a region overlap without nesting, which Chrome's format cannot show on one lane): tid +
 * REGION_LANE, above every Linux tid (at most 2^22), named "<thread> regions". */
#define REGION_LANE (1u << 30)

static void put_regions(FILE *out, const ct_trace_model *m, stack_cache *c)
{
	const ct_trace *t = m->trace;
	char buf[32];
	uint32_t lane = 0;
	for (uint32_t i = 0; i < m->nregions; i++) {
		const ct_region *r = &m->regions[i];
		if (!i || r->tid != m->regions[i - 1].tid || r->thread != lane) {
			lane = r->thread;
			fprintf(out,
				",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,"
				"\"tid\":%u,\"args\":{\"name\":",
				t->pid, r->tid + REGION_LANE);
			char name[64];
			snprintf(name, sizeof(name), "%s regions",
				 r->thread != CT_NO_EVENT
					 ? ct_thread_label(&m->threads[r->thread], buf, sizeof(buf))
					 : "thread");
			ct_escape_json(out, name);
			fputs("}}", out);
		}
		fprintf(out, ",\n{\"ph\":\"X\",\"cat\":\"region\",\"name\":");
		ct_escape_json(out, r->name);
		fputs(",\"ts\":", out);
		put_us(out, r->start - m->start);
		fputs(",\"dur\":", out);
		put_us(out, r->end - r->start);
		fprintf(out, ",\"pid\":%d,\"tid\":%u,\"args\":{\"depth\":%u", t->pid,
			r->tid + REGION_LANE, r->depth);
		if (r->task != CT_NO_EVENT)
			fprintf(out, ",\"task\":%" PRIu64, m->tasks[r->task].id);
		if (r->unended)
			fputs(",\"unended\":true", out);
		if (r->stack) {
			fputs(",\"stack\":", out);
			put_stack(out, c, r->stack);
		}
		fputs("}}", out);
	}
}

/* Tasks as async b/e pairs (one track per task id); logs as thread-scoped instants. */
static void put_tasks_logs(FILE *out, const ct_trace_model *m, stack_cache *c)
{
	for (uint32_t i = 0; i < m->ntasks; i++) {
		const ct_task *k = &m->tasks[i];
		for (int e = 0; e < 2; e++) {
			fprintf(out, ",\n{\"ph\":\"%s\",\"cat\":\"task\",\"name\":", e ? "e" : "b");
			ct_escape_json(out, k->name[0] ? k->name : "task");
			fputs(",\"ts\":", out);
			put_us(out, (e ? k->end : k->start) - m->start);
			fprintf(out, ",\"pid\":%d,\"tid\":%u,\"id\":\"0x%" PRIx64 "\"",
				m->trace->pid, e ? k->end_tid : k->begin_tid, k->id);
			if (!e)
				fprintf(out, ",\"args\":{\"parent\":%" PRIu64 ",\"regions\":%u}",
					k->parent_id, k->nregions);
			fputs("}", out);
		}
	}
	for (uint32_t i = 0; i < m->nlogs; i++) {
		const ct_log *l = &m->logs[i];
		fprintf(out, ",\n{\"ph\":\"i\",\"cat\":\"log\",\"s\":\"t\",\"name\":");
		ct_escape_json(out, l->category[0] ? l->category : "log");
		fputs(",\"ts\":", out);
		put_us(out, l->time - m->start);
		fprintf(out, ",\"pid\":%d,\"tid\":%u,\"args\":{\"message\":", m->trace->pid,
			l->tid);
		ct_escape_json(out, l->msg ? l->msg : "");
		if (l->task != CT_NO_EVENT)
			fprintf(out, ",\"task\":%" PRIu64, m->tasks[l->task].id);
		if (l->stack) {
			fputs(",\"stack\":", out);
			put_stack(out, c, l->stack);
		}
		fputs("}}", out);
	}
}

int ct_trace_export_chrome(FILE *out, const ct_trace_model *m)
{
	const ct_trace *t = m->trace;
	fprintf(out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"pid\":%d,\"engine\":", t->pid);
	ct_escape_json(out, t->engine);
	fprintf(out,
		",\"states_merged\":%s,\"truncated\":%s,\"lost_events\":%" PRIu64
		",\"start_monotonic_ns\":%" PRIu64 ",\"anchor_monotonic_ns\":%" PRIu64
		",\"anchor_realtime_ns\":%" PRIu64 "},\n\"traceEvents\":[",
		m->merged ? "true" : "false", t->truncated ? "true" : "false", t->lost, m->start,
		t->anchor_mono_ns, t->anchor_wall_ns);
	fprintf(out,
		"\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
		"\"args\":{\"name\":",
		t->pid);
	ct_escape_json(out, t->argc ? t->argv[0] : "");
	fputs("}}", out);
	uint64_t flow = 0;
	stack_cache c = {.t = t, .json = calloc(t->nstacks + 1, sizeof(char *))};
	for (uint32_t i = 0; i < m->nthreads; i++)
		put_thread(out, m, &c, &m->threads[i], &flow);
	put_regions(out, m, &c);
	put_tasks_logs(out, m, &c);
	for (uint32_t i = 0; c.json && i < t->nstacks; i++)
		free(c.json[i]);
	free(c.json);
	fputs("\n]}\n", out);
	return ferror(out) ? -EIO : 0;
}
