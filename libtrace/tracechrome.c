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
	for (uint32_t i = 0; c.json && i < t->nstacks; i++)
		free(c.json[i]);
	free(c.json);
	fputs("\n]}\n", out);
	return ferror(out) ? -EIO : 0;
}
