/* report_text.c — the text table views of `ctrace report` (see report_text.h). */
#include "libtrace/report_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libtrace/units.h"

/* A share of total, as a magnitude (pprof's Percentage: a decrease is a share too). */
static double pct(int64_t v, int64_t total)
{
	double r = total ? 100.0 * (double)v / (double)total : 0.0;
	return r < 0 ? -r : r;
}

/* A percentage as pprof prints it: "100%", "0%", else two decimals. */
static const char *fmt_pct(double v, char *buf, size_t len)
{
	if (v == 0.0)
		v = 0.0; /* never "-0%" */
	if (v == 100.0 || v == 0.0)
		snprintf(buf, len, "%.0f%%", v);
	else
		snprintf(buf, len, "%.2f%%", v);
	return buf;
}

static void print_header(FILE *out, const ct_profile *p, const ct_text_opts *o, uint32_t col)
{
	char a[64];
	if (o->source)
		fprintf(out, "File: %s\n", o->source);
	fprintf(out, "Kind: %s profile\n", o->kind ? o->kind : ct_report_profile_kind(p));
	fprintf(out, "Type: %s", p->sample_types[col].type);
	if (*p->sample_types[col].unit)
		fprintf(out, " (%s)", p->sample_types[col].unit);
	fputc('\n', out);
	if (p->time_nanos > 0) {
		time_t s = (time_t)(p->time_nanos / 1000000000);
		struct tm tm;
		char when[64];
		gmtime_r(&s, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fprintf(out, "Time: %s", when);
		if (p->duration_nanos > 0)
			fprintf(out, ", duration %s",
				ct_units_format(p->duration_nanos, "nanoseconds", a, sizeof(a)));
		fputc('\n', out);
	} else if (p->duration_nanos > 0) {
		fprintf(out, "Duration: %s\n",
			ct_units_format(p->duration_nanos, "nanoseconds", a, sizeof(a)));
	}
	if (p->nsample_types > 1) {
		fprintf(out, "Totals:");
		for (uint32_t i = 0; i < p->nsample_types; i++) {
			int64_t sum = 0;
			for (size_t k = 0; k < p->nsamples; k++)
				sum += p->samples[k].values[i];
			fprintf(out, "%s %s %s", i ? "," : "", p->sample_types[i].type,
				ct_units_format(sum, p->sample_types[i].unit, a, sizeof(a)));
		}
		fputc('\n', out);
	}
	for (uint32_t i = 0; i < p->ncomments; i++)
		fprintf(out, "Comment: %s\n", p->comments[i]);
}

int64_t ct_report_total(const ct_profile *p, uint32_t col)
{
	uint64_t all = 0, base = 0;
	for (size_t k = 0; k < p->nsamples; k++) {
		const ct_sample *s = &p->samples[k];
		int64_t v = s->values[col];
		uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
		all += m;
		for (uint32_t l = 0; l < s->nlabels; l++)
			if (strcmp(s->labels[l].key, "pprof::base") == 0) {
				base += m;
				break;
			}
	}
	uint64_t t = base ? base : all;
	return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

int ct_report_text(FILE *out, const ct_profile *p, const ct_tree *t, uint32_t col,
		   const ct_text_opts *o)
{
	static const ct_text_opts defaults = {0};
	o = o ? o : &defaults;
	if (col >= t->ncols || col >= p->nsample_types)
		return -EINVAL;
	ct_top_entry *e;
	uint32_t n;
	int rc = ct_tree_top(t, col, &e, &n);
	if (rc)
		return rc;
	print_header(out, p, o, col);
	const char *unit = p->sample_types[col].unit;
	int64_t total = ct_report_total(p, col), kept = ct_tree_total(t, col);
	char a[64], b[64], c[64];
	/* pprof sample records (one per distinct stack and labels), not the "samples" value
	 * of the Totals line: a record may stand for many samples. */
	fprintf(out, "Total: %s in %zu records\n", ct_units_format(total, unit, a, sizeof(a)),
		p->nsamples);
	if (o->filtered)
		fprintf(out, "Kept by filters: %s (%.2f%%) in %" PRIu64 " records\n",
			ct_units_format(kept, unit, a, sizeof(a)), pct(kept, total), t->nsamples);
	if (n == 0) {
		fprintf(out, "No samples%s.\n", o->filtered ? " kept by the filters" : "");
		free(e);
		return ferror(out) ? -EIO : 0;
	}
	uint32_t rows = o->top && o->top < n ? o->top : n;
	int64_t shown = 0;
	for (uint32_t i = 0; i < rows; i++)
		shown += e[i].flat;
	fprintf(out, "Showing %" PRIu32 " of %" PRIu32 " functions, %s (%s) of %s total\n", rows, n,
		ct_units_format(shown, unit, a, sizeof(a)),
		fmt_pct(pct(shown, total), c, sizeof(c)),
		ct_units_format(total, unit, b, sizeof(b)));
	fprintf(out, "%10s %6s %6s %10s %6s  %s\n", "flat", "flat%", "sum%", "cum", "cum%",
		"function");
	int64_t sum = 0;
	char p1[16], p2[16], p3[16];
	for (uint32_t i = 0; i < rows; i++) {
		const ct_frame *f = &t->frames[e[i].frame];
		sum += e[i].flat;
		fprintf(out, "%10s %6s %6s %10s %6s  %s\n",
			ct_units_format(e[i].flat, unit, a, sizeof(a)),
			fmt_pct(pct(e[i].flat, total), p1, sizeof(p1)),
			fmt_pct(pct(sum, total), p2, sizeof(p2)),
			ct_units_format(e[i].cum, unit, c, sizeof(c)),
			fmt_pct(pct(e[i].cum, total), p3, sizeof(p3)), f->name);
	}
	free(e);
	return ferror(out) ? -EIO : 0;
}

typedef struct {
	uint32_t frame;
	double base, now; /* percent of each profile's total */
	int64_t vbase, vnow;
	const char *name;
} diff_row;

static int cmp_diff(const void *a, const void *b)
{
	const diff_row *x = a, *y = b;
	double dx = x->now - x->base, dy = y->now - y->base;
	dx = dx < 0 ? -dx : dx;
	dy = dy < 0 ? -dy : dy;
	if (dx != dy)
		return dx > dy ? -1 : 1;
	/* Equal change (identical profiles, say): the larger function first, then by name. */
	double sx = x->now > x->base ? x->now : x->base, sy = y->now > y->base ? y->now : y->base;
	if (sx != sy)
		return sx > sy ? -1 : 1;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->frame > y->frame) - (x->frame < y->frame);
}

int ct_report_text_diff(FILE *out, const ct_tree *t, const char *base_name, const char *new_name,
			uint32_t top)
{
	if (t->ncols != 2)
		return -EINVAL;
	diff_row *rows = calloc(t->nframes ? t->nframes : 1, sizeof(*rows));
	ct_top_entry *en = NULL, *eb = NULL;
	uint32_t nn = 0, nb = 0;
	int rc = -ENOMEM;
	if (!rows || (rc = ct_tree_top(t, 0, &en, &nn)) || (rc = ct_tree_top(t, 1, &eb, &nb)))
		goto out;
	int64_t tn = ct_tree_total(t, 0), tb = ct_tree_total(t, 1);
	for (uint32_t f = 0; f < t->nframes; f++)
		rows[f] = (diff_row){.frame = f, .name = t->frames[f].name};
	for (uint32_t i = 0; i < nn; i++) {
		rows[en[i].frame].vnow = en[i].flat;
		rows[en[i].frame].now = pct(en[i].flat, tn);
	}
	for (uint32_t i = 0; i < nb; i++) {
		rows[eb[i].frame].vbase = eb[i].flat;
		rows[eb[i].frame].base = pct(eb[i].flat, tb);
	}
	uint32_t n = 0;
	for (uint32_t f = 0; f < t->nframes; f++)
		if (rows[f].vnow || rows[f].vbase)
			rows[n++] = rows[f];
	qsort(rows, n, sizeof(*rows), cmp_diff);
	const char *unit = t->cols[0].unit;
	char a[64], b[64];
	fprintf(out, "Diff: %s (base) -> %s (new)\n", base_name ? base_name : "base",
		new_name ? new_name : "new");
	fprintf(out, "Type: %s", t->cols[0].type);
	if (*unit)
		fprintf(out, " (%s)", unit);
	fprintf(out, "\nTotal: base %s, new %s (%+.2f%%)\n",
		ct_units_format(tb, unit, a, sizeof(a)), ct_units_format(tn, unit, b, sizeof(b)),
		tb ? 100.0 * ((double)tn - (double)tb) / (double)tb : 0.0);
	uint32_t shown = top && top < n ? top : n;
	fprintf(out,
		"Showing %" PRIu32 " of %" PRIu32
		" functions by change of flat share (percent of each profile's total)\n",
		shown, n);
	fprintf(out, "%10s %7s %10s %7s %8s  %s\n", "base", "base%", "new", "new%", "delta",
		"function");
	for (uint32_t i = 0; i < shown; i++) {
		const diff_row *r = &rows[i];
		fprintf(out, "%10s %6.2f%% %10s %6.2f%% %+7.2f%%  %s\n",
			ct_units_format(r->vbase, unit, a, sizeof(a)), r->base,
			ct_units_format(r->vnow, unit, b, sizeof(b)), r->now, r->now - r->base,
			t->frames[r->frame].name);
	}
	rc = ferror(out) ? -EIO : 0;
out:
	free(rows);
	free(en);
	free(eb);
	return rc;
}
