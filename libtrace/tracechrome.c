/* tracechrome.c — the Chrome Trace Event Format export, with or without the thread states
 * as systrace sched_switch/sched_wakeup lines (see tracechrome.h). */
#include "tracechrome.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/cmp.h"
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

/* ---- thread states as systrace text (systemTraceEvents) ----------------------------------- */

/* One line of the text: a context switch on cpu (prev or next NULL: the CPU's idle task),
 * or the wake-up of next by prev (prev NULL: unknown waker). */
typedef struct {
	uint64_t t;
	uint32_t cpu;
	const ct_thread *prev, *next;
	const char *prev_state; /* NULL: a sched_wakeup line */
} sys_line;

typedef struct {
	sys_line *v;
	size_t n, cap;
	int oom;
} sys_lines;

static void add_line(sys_lines *l, sys_line x)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		sys_line *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->oom = 1;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = x;
}

/* A running interval: what the CPU lanes are made of. */
typedef struct {
	uint64_t start, end;
	uint32_t cpu;
	const ct_thread *th;
	const char *after; /* the thread's state when it left the CPU; NULL: it did not */
} run_iv;

static int run_cmp(const void *a, const void *b)
{
	const run_iv *x = a, *y = b;
	return ct_cmp_u64_2(x->cpu, y->cpu, x->start, y->start);
}

static int line_cmp(const void *a, const void *b)
{
	const sys_line *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* How ftrace names the state a thread left the CPU in: R+ preempted, S waiting, X exited. */
static const char *state_after(const ct_thread *th, size_t k)
{
	if (k + 1 < th->niv)
		return th->iv[k + 1].state == CT_TS_RUNNABLE ? "R+" : "S";
	return th->alive ? NULL : "X";
}

/* Every thread's running intervals, sorted by CPU then start. */
static run_iv *running_intervals(const ct_trace_model *m, size_t *n)
{
	size_t cap = 0;
	*n = 0;
	for (uint32_t i = 0; i < m->nthreads; i++)
		for (size_t k = 0; k < m->threads[i].niv; k++)
			cap += m->threads[i].iv[k].state == CT_TS_RUNNING;
	run_iv *r = malloc((cap + 1) * sizeof(*r));
	for (uint32_t i = 0; r && i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		for (size_t k = 0; k < th->niv; k++)
			if (th->iv[k].state == CT_TS_RUNNING)
				r[(*n)++] = (run_iv){th->iv[k].start, th->iv[k].end, th->iv[k].cpu,
						     th, state_after(th, k)};
	}
	if (r && *n)
		qsort(r, *n, sizeof(*r), run_cmp);
	return r;
}

/* The switches of each CPU lane: the next running interval switches from the one before it
 * (or from idle), and an interval that ends before the next one starts switches to idle. */
static void add_switches(sys_lines *l, const run_iv *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const run_iv *prev = i && r[i - 1].cpu == r[i].cpu ? &r[i - 1] : NULL;
		if (prev && prev->after && prev->end < r[i].start) {
			add_line(l, (sys_line){prev->end, prev->cpu, prev->th, NULL, prev->after});
			prev = NULL;
		}
		add_line(l, (sys_line){r[i].start, r[i].cpu, prev ? prev->th : NULL, r[i].th,
				       prev ? (prev->after ? prev->after : "R+") : "R"});
		int last = i + 1 == n || r[i + 1].cpu != r[i].cpu;
		if (last && r[i].after)
			add_line(l, (sys_line){r[i].end, r[i].cpu, r[i].th, NULL, r[i].after});
	}
}

static int by_tid(const void *a, const void *b)
{
	const ct_thread *x = *(const ct_thread *const *)a, *y = *(const ct_thread *const *)b;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* The life of tid that holds time t, from by (the threads sorted by tid), or NULL. */
static const ct_thread *thread_at(const ct_thread *const *by, uint32_t n, uint32_t tid, uint64_t t)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (by[mid]->tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && by[lo]->tid == tid; lo++)
		if (by[lo]->begin <= t && t <= by[lo]->end)
			return by[lo];
	return NULL;
}

/* A wake-up line for each wait an unblock edge ended, from the waker, at the edge's time. */
static void add_wakeups(sys_lines *l, const ct_trace_model *m)
{
	const ct_trace *t = m->trace;
	const ct_thread **by = malloc((m->nthreads + 1) * sizeof(*by));
	if (!by) {
		l->oom = 1;
		return;
	}
	for (uint32_t i = 0; i < m->nthreads; i++)
		by[i] = &m->threads[i];
	if (m->nthreads)
		qsort(by, m->nthreads, sizeof(*by), by_tid);
	for (uint32_t i = 0; i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		for (size_t k = 0; k + 1 < th->niv; k++) {
			const ct_interval *iv = &th->iv[k];
			if (iv->state != CT_TS_WAITING || iv->unblock == CT_NO_EVENT)
				continue;
			const ct_trace_event *u = &t->events[iv->unblock];
			const ct_thread *waker = thread_at(by, m->nthreads, u->tid, u->time);
			uint32_t cpu = th->iv[k + 1].state == CT_TS_RUNNING ? th->iv[k + 1].cpu : 0;
			add_line(l, (sys_line){u->time, cpu, waker, th, NULL});
		}
	}
	free(by);
}

/* A thread's comm as ftrace prints it: at most 15 characters, none that would end a field of
 * the line (space, '=') or need escaping in JSON. */
static const char *comm(const ct_thread *th, char *buf, size_t len)
{
	char label[32];
	snprintf(buf, len, "%.15s", ct_thread_label(th, label, sizeof(label)));
	for (char *p = buf; *p; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
			*p = '_';
	return buf;
}

static void put_line(FILE *out, const ct_trace_model *m, const sys_line *x)
{
	char a[16], b[16];
	uint64_t rel = x->t - m->start;
	fprintf(out, "%s-%u (%d) [%03u] .... %" PRIu64 ".%06u: ",
		x->prev ? comm(x->prev, a, sizeof(a)) : "<idle>", x->prev ? x->prev->tid : 0,
		x->prev ? m->trace->pid : 0, x->cpu, rel / 1000000000u,
		(unsigned)(rel % 1000000000u / 1000u));
	if (!x->prev_state) {
		fprintf(out, "sched_wakeup: comm=%s pid=%u prio=120 target_cpu=%03u\\n",
			comm(x->next, b, sizeof(b)), x->next->tid, x->cpu);
		return;
	}
	if (x->prev)
		fprintf(out, "sched_switch: prev_comm=%s prev_pid=%u", a, x->prev->tid);
	else
		fprintf(out, "sched_switch: prev_comm=swapper/%u prev_pid=0", x->cpu);
	fprintf(out, " prev_prio=120 prev_state=%s ==> ", x->prev_state);
	if (x->next)
		fprintf(out, "next_comm=%s next_pid=%u", comm(x->next, b, sizeof(b)), x->next->tid);
	else
		fprintf(out, "next_comm=swapper/%u next_pid=0", x->cpu);
	fputs(" next_prio=120\\n", out);
}

/* "systemTraceEvents": the states as the ftrace text Perfetto and chrome://tracing import
 * (sched_switch and sched_wakeup lines); nothing without switch records. -ENOMEM or 0. */
static int put_states(FILE *out, const ct_trace_model *m)
{
	if (m->merged)
		return 0;
	sys_lines l = {0};
	size_t n;
	run_iv *r = running_intervals(m, &n);
	if (!r)
		return -ENOMEM;
	add_switches(&l, r, n);
	add_wakeups(&l, m);
	free(r);
	if (l.oom) {
		free(l.v);
		return -ENOMEM;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), line_cmp);
	fputs(",\n\"systemTraceEvents\":\"# tracer: nop\\n", out);
	for (size_t i = 0; i < l.n; i++)
		put_line(out, m, &l.v[i]);
	fputs("\"", out);
	free(l.v);
	return 0;
}

/* ---- the document -----------------------------------------------------------------------------
 */

static int export(FILE *out, const ct_trace_model *m, bool states)
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
	fputs("\n]", out);
	int rc = states ? put_states(out, m) : 0;
	fputs("}\n", out);
	return rc ? rc : ferror(out) ? -EIO : 0;
}

int ct_trace_export_chrome(FILE *out, const ct_trace_model *m)
{
	return export(out, m, false);
}

int ct_trace_export_chrome_states(FILE *out, const ct_trace_model *m)
{
	return export(out, m, true);
}
