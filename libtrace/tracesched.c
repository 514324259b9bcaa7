/*
 * tracesched.c — the `--sched` text report (see tracesched.h): per-thread state totals
 * summed from the model's intervals, a sweep over all intervals for the load line, and
 * the longest waits and the threads alive at the end listed with their stacks.
 */
#include "tracesched.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/cmp.h"
#include "libtrace/tracebuf.h"
#include "libtrace/tracefmt.h"
#include "libtrace/traceregions.h"
#include "libtrace/units.h"

#define FRAMES 6 /* frames printed per stack */

typedef struct {
	const ct_thread *th;
	uint64_t state[CT_TS_NSTATES];
	uint64_t reason[CT_WAIT_NREASONS];
	uint64_t runnable_n, runnable_max, runnable_max_at;
} row;

static const char *dur(uint64_t ns, char *buf, size_t len)
{
	return ct_units_format((int64_t)ns, "nanoseconds", buf, len);
}

/* The length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return s[0] < 0x80 ? 1 : n;
}

/* A name for text output, control characters (C0, DEL, C1) and invalid UTF-8 as the \xNN
 * of escape.h (a line break too: a name stays on its row); cut and padded to width
 * characters when width > 0. */
static void put_name(FILE *out, const char *name, int width)
{
	const unsigned char *s = (const unsigned char *)name;
	int n = 0;
	for (; *s && (width <= 0 || n < width); n++) {
		int k = utf8_len(s);
		bool ctl = k == 1 ? *s < 0x20 || *s == 0x7f : k == 2 && s[0] == 0xc2 && s[1] < 0xa0;
		if (k == 0 || k > 4 || ctl) {
			int m = k ? k : 1;
			for (int i = 0; i < m; i++)
				fprintf(out, "\\x%02x", *s++);
			n += 4 * m - 1; /* columns; the loop counts one */
		} else {
			fwrite(s, 1, (size_t)k, out);
			s += k;
		}
	}
	for (; n < width; n++)
		fputc(' ', out);
}

static void put_stack(FILE *out, const ct_trace *t, uint32_t stack, const char *indent)
{
	if (!stack) {
		fprintf(out, "%s(no stack)\n", indent);
		return;
	}
	const ct_trace_stack *s = &t->stacks[stack - 1];
	char buf[128];
	for (uint32_t i = 0; i < s->nlocs && i < FRAMES; i++) {
		fputs(indent, out);
		put_name(out, ct_trace_loc_name(t, s->locs[i], buf, sizeof(buf)), 0);
		fputc('\n', out);
	}
	if (s->nlocs > FRAMES)
		fprintf(out, "%s... %u more\n", indent, s->nlocs - FRAMES);
}

static void tally(row *r, const ct_thread *th)
{
	*r = (row){.th = th};
	for (size_t k = 0; k < th->niv; k++) {
		const ct_interval *iv = &th->iv[k];
		uint64_t d = iv->end - iv->start;
		r->state[iv->state] += d;
		if (iv->state == CT_TS_WAITING)
			r->reason[iv->reason] += d;
		if (iv->state == CT_TS_RUNNABLE) {
			r->runnable_n++;
			if (d > r->runnable_max) {
				r->runnable_max = d;
				r->runnable_max_at = iv->start;
			}
		}
	}
}

static int row_cmp(const void *a, const void *b)
{
	const row *x = a, *y = b;
	uint64_t rx = x->state[CT_TS_RUNNING] + x->state[CT_TS_ONCPU];
	uint64_t ry = y->state[CT_TS_RUNNING] + y->state[CT_TS_ONCPU];
	return ct_cmp_u64_2(ry, rx, x->th->tid, y->th->tid); /* largest first */
}

/* "mutex 12ms, sleep 3s": the reasons with time, largest first. */
static void put_reasons(FILE *out, const uint64_t *reason)
{
	bool done[CT_WAIT_NREASONS] = {0};
	char b[32];
	for (int n = 0;; n++) {
		int best = -1;
		for (int i = 0; i < CT_WAIT_NREASONS; i++)
			if (!done[i] && reason[i] && (best < 0 || reason[i] > reason[best]))
				best = i;
		if (best < 0)
			break;
		done[best] = true;
		fprintf(out, "%s%s %s", n ? ", " : "", ct_wait_reason_name((ct_wait_reason)best),
			dur(reason[best], b, sizeof(b)));
	}
}

static void put_header(FILE *out, const ct_trace_model *m)
{
	const ct_trace *t = m->trace;
	char b[32];
	fprintf(out, "trace: pid %d,", t->pid);
	for (uint32_t i = 0; i < t->argc && i < 8; i++) {
		fputc(' ', out);
		put_name(out, t->argv[i], 0);
	}
	fprintf(out, "%s; engine %s; %s; %u threads; %u chunks\n", t->argc > 8 ? " ..." : "",
		t->engine, dur(m->end - m->start, b, sizeof(b)), m->nthreads, t->nchunks);
	if (t->truncated)
		fprintf(out,
			"note: the trace was cut (no footer): %llu bytes of a last chunk "
			"dropped\n",
			(unsigned long long)t->dropped_bytes);
	if (t->capped)
		fprintf(out, "note: the trace stopped at its size cap (CTRACE_TRACE_MAX_MB): it "
			     "ends before the program did, and what was alive then is not stuck\n");
	if (t->lost > t->capped)
		fprintf(out, "note: %llu events were lost (full buffers)\n",
			(unsigned long long)(t->lost - t->capped));
	if (m->focus) {
		fputs("focus: only the time threads spent inside regions named \"", out);
		put_name(out, m->focus, 0);
		fputs("\"\n", out);
	}
	if (m->merged)
		fprintf(out,
			"note: no context-switch records (%s engine): running and runnable "
			"are merged into \"on CPU or runnable\"\n",
			t->engine);
}

static void put_row(FILE *out, const ct_trace_model *m, const row *r)
{
	char b[6][32];
	const ct_thread *th = r->th;
	fprintf(out, "%8u  ", th->tid);
	put_name(out, th->name[0] ? th->name : "-", 16);
	uint64_t life = th->end - th->begin;
	if (m->focus) { /* the time inside the regions: what its states add up to */
		life = 0;
		for (int st = 0; st < CT_TS_NSTATES; st++)
			life += r->state[st];
	}
	fprintf(out, " %9s %9s", dur(life, b[0], 32),
		dur(r->state[m->merged ? CT_TS_ONCPU : CT_TS_RUNNING], b[1], 32));
	if (m->merged)
		fprintf(out, " %9s %6s %9s %9s", "-", "-", "-", "-");
	else
		fprintf(out, " %9s %6llu %9s %9s", dur(r->state[CT_TS_RUNNABLE], b[2], 32),
			(unsigned long long)r->runnable_n, dur(r->runnable_max, b[3], 32),
			r->runnable_max ? dur(r->runnable_max_at - m->start, b[4], 32) : "-");
	fprintf(out, " %9s %8llu %8llu  ", dur(r->state[CT_TS_WAITING], b[5], 32),
		(unsigned long long)th->switches, (unsigned long long)th->preemptions);
	put_reasons(out, r->reason);
	fputs(th->alive ? "  (alive at end)\n" : "\n", out);
}

/* Per-thread rows by running time, then the totals. */
static int put_threads(FILE *out, const ct_trace_model *m)
{
	row *rows = calloc(m->nthreads + 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	row total = {0};
	for (uint32_t i = 0; i < m->nthreads; i++) {
		tally(&rows[i], &m->threads[i]);
		for (int s = 0; s < CT_TS_NSTATES; s++)
			total.state[s] += rows[i].state[s];
		for (int w = 0; w < CT_WAIT_NREASONS; w++)
			total.reason[w] += rows[i].reason[w];
	}
	qsort(rows, m->nthreads, sizeof(*rows), row_cmp);
	fprintf(out, "\nthreads (by %s time; times from the start of the trace)\n",
		m->merged ? "on-CPU-or-runnable" : "running");
	fprintf(out, "%8s  %-16s %9s %9s %9s %6s %9s %9s %9s %8s %8s  %s\n", "TID", "NAME",
		"LIFETIME", m->merged ? "ONCPU|RUN" : "RUNNING", "RUNNABLE", "COUNT", "MAX",
		"MAX AT", "WAITING", "SWITCHES", "PREEMPT", "WAITING BY REASON");
	for (uint32_t i = 0; i < m->nthreads; i++)
		put_row(out, m, &rows[i]);
	char b[3][32];
	if (m->merged)
		fprintf(out, "total: on CPU or runnable %s, waiting %s",
			dur(total.state[CT_TS_ONCPU], b[0], 32),
			dur(total.state[CT_TS_WAITING], b[1], 32));
	else
		fprintf(out, "total: running %s, runnable %s, waiting %s",
			dur(total.state[CT_TS_RUNNING], b[0], 32),
			dur(total.state[CT_TS_RUNNABLE], b[1], 32),
			dur(total.state[CT_TS_WAITING], b[2], 32));
	fputs(total.state[CT_TS_WAITING] ? " (" : "", out);
	put_reasons(out, total.reason);
	fputs(total.state[CT_TS_WAITING] ? ")\n" : "\n", out);
	free(rows);
	return 0;
}

/* ---- load -------------------------------------------------------------------------------- */

typedef struct {
	uint64_t t;
	int running, runnable;
} step;

static int step_cmp(const void *a, const void *b)
{
	const step *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* Per-CPU busy share, and the time with a runnable thread while a CPU sat idle. */
static int put_load(FILE *out, const ct_trace_model *m)
{
	if (m->merged || !m->ncpus)
		return 0;
	uint64_t *busy = calloc(m->ncpus, sizeof(*busy));
	step *st = NULL;
	size_t n = 0, cap = 0;
	for (uint32_t i = 0; busy && i < m->nthreads; i++)
		for (size_t k = 0; k < m->threads[i].niv; k++) {
			const ct_interval *iv = &m->threads[i].iv[k];
			if (iv->state == CT_TS_WAITING)
				continue;
			if (ct_grow((void **)&st, &cap, n + 2, sizeof(*st))) {
				free(busy);
				busy = NULL;
				break;
			}
			int run = iv->state == CT_TS_RUNNING;
			st[n++] = (step){iv->start, run, !run};
			st[n++] = (step){iv->end, -run, -!run};
			if (run && iv->cpu < m->ncpus)
				busy[iv->cpu] += iv->end - iv->start;
		}
	if (!busy) {
		free(st);
		return -ENOMEM;
	}
	if (n)
		qsort(st, n, sizeof(*st), step_cmp);
	uint64_t starved = 0;
	int running = 0, runnable = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && runnable > 0 && running < (int)m->ncpus)
			starved += st[i].t - st[i - 1].t;
		running += st[i].running;
		runnable += st[i].runnable;
	}
	double span = m->end > m->start ? (double)(m->end - m->start) : 1;
	fprintf(out, "\nload: %u CPUs used; busy", m->ncpus);
	for (uint32_t c = 0; c < m->ncpus; c++)
		fprintf(out, " cpu%u %.1f%%", c, 100.0 * (double)busy[c] / span);
	char b[32];
	fprintf(out, "; runnable while a CPU sat idle: %s\n", dur(starved, b, sizeof(b)));
	free(busy);
	free(st);
	return 0;
}

/* ---- longest waits, threads alive at the end --------------------------------------------- */

typedef struct {
	const ct_thread *th;
	const ct_interval *iv;
} wait_ref;

static int wait_cmp(const void *a, const void *b)
{
	const wait_ref *x = a, *y = b;
	uint64_t dx = x->iv->end - x->iv->start, dy = y->iv->end - y->iv->start;
	return ct_cmp_u64_2(dy, dx, x->iv->start, y->iv->start); /* largest first */
}

/* "name (tid)", or "thread tid" for a thread without a name. */
static void put_thread(FILE *out, const ct_thread *th)
{
	if (!th->name[0]) {
		fprintf(out, "thread %u", th->tid);
		return;
	}
	put_name(out, th->name, 0);
	fprintf(out, " (%u)", th->tid);
}

/* The same for a tid (a waker), looked up among the threads. */
static void put_who(FILE *out, const ct_trace_model *m, uint32_t tid)
{
	for (uint32_t i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == tid && m->threads[i].name[0]) {
			put_thread(out, &m->threads[i]);
			return;
		}
	fprintf(out, "thread %u", tid);
}

static void put_wait(FILE *out, const ct_trace_model *m, const wait_ref *w)
{
	const ct_trace *t = m->trace;
	char b[2][32];
	put_thread(out, w->th);
	fprintf(out, ": %s %s at +%s", ct_wait_reason_name((ct_wait_reason)w->iv->reason),
		dur(w->iv->end - w->iv->start, b[0], 32), dur(w->iv->start - m->start, b[1], 32));
	if (w->iv->object)
		fprintf(out, ", object 0x%llx", (unsigned long long)w->iv->object);
	fputc('\n', out);
	put_stack(out, t, w->iv->stack, "        ");
	if (w->iv->unblock == CT_NO_EVENT)
		return;
	const ct_trace_event *u = &t->events[w->iv->unblock];
	fputs("      unblocked by ", out);
	put_who(out, m, u->tid);
	fprintf(out, " at +%s\n", dur(u->time - m->start, b[0], 32));
	if (u->stack)
		put_stack(out, t, u->stack, "        ");
}

static int put_longest(FILE *out, const ct_trace_model *m, int top)
{
	wait_ref *w = NULL;
	size_t n = 0, cap = 0;
	for (uint32_t i = 0; i < m->nthreads; i++)
		for (size_t k = 0; k < m->threads[i].niv; k++) {
			const ct_interval *iv = &m->threads[i].iv[k];
			if (iv->state != CT_TS_WAITING)
				continue;
			if (ct_grow((void **)&w, &cap, n + 1, sizeof(*w))) {
				free(w);
				return -ENOMEM;
			}
			w[n++] = (wait_ref){&m->threads[i], iv};
		}
	if (n)
		qsort(w, n, sizeof(*w), wait_cmp);
	fprintf(out, "\nlongest waits\n");
	if (!n)
		fprintf(out, "  (none)\n");
	for (size_t i = 0; i < n && i < (size_t)top; i++) {
		fprintf(out, "  %zu. ", i + 1);
		put_wait(out, m, &w[i]);
	}
	free(w);
	return 0;
}

/* ---- regions ------------------------------------------------------------------------------ */

static int region_cmp(const void *a, const void *b)
{
	const ct_region *x = *(const ct_region *const *)a, *y = *(const ct_region *const *)b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	uint64_t dx = x->end - x->start, dy = y->end - y->start;
	return dx < dy ? -1 : dx > dy;
}

typedef struct {
	const ct_region *const *r; /* the regions of one name, by duration */
	size_t n;
	uint64_t total;
} region_group;

static int group_cmp(const void *a, const void *b)
{
	const region_group *x = a, *y = b;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->r[0]->name, y->r[0]->name);
}

/* One name: count, total, mean, p50, p99, max, then the time by state inside. */
static void put_region_row(FILE *out, const ct_trace_model *m, const region_group *g)
{
	char b[8][32];
	uint64_t st[CT_TS_NSTATES] = {0}, rs[CT_WAIT_NREASONS] = {0};
	for (size_t i = 0; i < g->n; i++)
		ct_region_states(m, g->r[i], st, rs);
	const ct_region *p50 = g->r[(g->n - 1) / 2], *p99 = g->r[(g->n * 99 + 99) / 100 - 1];
	fputs("  ", out);
	put_name(out, g->r[0]->name[0] ? g->r[0]->name : "-", 20);
	fprintf(out, " %7zu %9s %9s %9s %9s %9s", g->n, dur(g->total, b[0], 32),
		dur(g->total / g->n, b[1], 32), dur(p50->end - p50->start, b[2], 32),
		dur(p99->end - p99->start, b[3], 32),
		dur(g->r[g->n - 1]->end - g->r[g->n - 1]->start, b[4], 32));
	if (m->merged)
		fprintf(out, " %9s %9s", dur(st[CT_TS_ONCPU], b[5], 32), "-");
	else
		fprintf(out, " %9s %9s", dur(st[CT_TS_RUNNING], b[5], 32),
			dur(st[CT_TS_RUNNABLE], b[6], 32));
	fprintf(out, " %9s  ", dur(st[CT_TS_WAITING], b[7], 32));
	put_reasons(out, rs);
	fputc('\n', out);
}

/* Like Go's user-defined regions: per region name its durations and where its time went. */
static int put_regions(FILE *out, const ct_trace_model *m)
{
	if (!m->nregions && !m->ntasks && !m->nlogs && !m->unmatched_ends)
		return 0;
	const ct_region **rs = malloc((m->nregions + 1) * sizeof(*rs));
	region_group *g = malloc((m->nregions + 1) * sizeof(*g));
	if (!rs || !g) {
		free(rs);
		free(g);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < m->nregions; i++)
		rs[i] = &m->regions[i];
	qsort(rs, m->nregions, sizeof(*rs), region_cmp);
	size_t ng = 0;
	for (size_t i = 0, j; i < m->nregions; i = j) {
		g[ng] = (region_group){rs + i, 0, 0};
		for (j = i; j < m->nregions && !strcmp(rs[j]->name, rs[i]->name); j++)
			g[ng].total += rs[j]->end - rs[j]->start;
		g[ng++].n = j - i;
	}
	qsort(g, ng, sizeof(*g), group_cmp);
	fprintf(out, "\nregions (by total time; a nested region counts in its own name and its "
		     "parents')\n");
	fprintf(out, "  %-20s %7s %9s %9s %9s %9s %9s %9s %9s %9s  %s\n", "NAME", "COUNT", "TOTAL",
		"MEAN", "P50", "P99", "MAX", m->merged ? "ONCPU|RUN" : "RUNNING", "RUNNABLE",
		"WAITING", "WAITING BY REASON");
	for (size_t i = 0; i < ng; i++)
		put_region_row(out, m, &g[i]);
	if (!ng)
		fprintf(out, "  (none)\n");
	uint32_t ended = 0;
	for (uint32_t i = 0; i < m->ntasks; i++)
		ended += m->tasks[i].ended;
	fprintf(out, "tasks: %u (%u ended); logs: %u", m->ntasks, ended, m->nlogs);
	if (m->unmatched_ends)
		fprintf(out, "; %llu region ends matched no open region",
			(unsigned long long)m->unmatched_ends);
	fputc('\n', out);
	free(rs);
	free(g);
	return 0;
}

int ct_trace_report_leaked(FILE *out, const ct_trace_model *m)
{
	char b[2][32];
	fprintf(out, "threads alive when the trace ended (leaked, stuck, or never joined)\n");
	int n = 0;
	for (uint32_t i = 0; i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		if (!th->alive || !th->niv)
			continue;
		const ct_interval *iv = &th->iv[th->niv - 1];
		fputs("  ", out);
		put_thread(out, th);
		if (th->tid == (uint32_t)m->trace->pid)
			fputs(" [main]", out);
		fprintf(out, ": %s", ct_thread_state_name((ct_thread_state)iv->state));
		if (iv->state == CT_TS_WAITING) {
			fprintf(out, " (%s) for %s since +%s",
				ct_wait_reason_name((ct_wait_reason)iv->reason),
				dur(iv->end - iv->start, b[0], 32),
				dur(iv->start - m->start, b[1], 32));
			if (iv->object)
				fprintf(out, ", object 0x%llx", (unsigned long long)iv->object);
		}
		fputc('\n', out);
		if (iv->state == CT_TS_WAITING)
			put_stack(out, m->trace, iv->stack, "        ");
		n++;
	}
	if (!n)
		fprintf(out, "  (none)\n");
	return ferror(out) ? -EIO : 0;
}

int ct_trace_report_sched(FILE *out, const ct_trace_model *m, int top)
{
	put_header(out, m);
	int rc = put_threads(out, m);
	if (!rc)
		rc = put_load(out, m);
	if (!rc)
		rc = put_longest(out, m, top > 0 ? top : 10);
	if (!rc)
		rc = put_regions(out, m);
	if (!rc && fputc('\n', out) != EOF)
		rc = ct_trace_report_leaked(out, m);
	if (!rc && ferror(out))
		rc = -EIO;
	return rc;
}
