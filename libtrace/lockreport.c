/*
 * lockreport.c — the lock contention and blocking report (see lockreport.h).
 *
 * Two passes over plain arrays: first the rows of the tables (one per lock, one per
 * reason) are summed from the samples' labels, then for each printed row the samples
 * that belong to it are merged per stack (sorted by their location lists, equal
 * neighbours summed) and the heaviest stacks printed as "leaf < caller < caller".
 */
#include "libtrace/lockreport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/hindex.h"
#include "libtrace/intern.h"
#include "libtrace/locname.h"
#include "libtrace/units.h"
#include "libtrace/vec.h"

#define LR_FRAMES 4 /* frames printed per stack */

/* Which values of a profile are the contentions and the delay. */
typedef struct {
	const ct_profile *p;
	int count, delay; /* sample value indexes; count may be -1 */
} lr_prof;

static lr_prof lr_prof_of(const ct_profile *p)
{
	lr_prof lp = {.p = p, .count = -1, .delay = -1};
	if (!p || p->nsample_types == 0)
		return lp;
	/* A mutex or block profile has a delay (Go's and ctrace's): any other's last value
	 * (a CPU profile's cpu time) would be read as a wait. */
	lp.count = ct_profile_sample_index(p, "contentions");
	lp.delay = ct_profile_sample_index(p, "delay");
	return lp;
}

static int64_t lr_count(const lr_prof *lp, const ct_sample *s)
{
	return lp->count >= 0 ? s->values[lp->count] : 0;
}

static const char *lr_label(const ct_sample *s, const char *key)
{
	for (uint32_t i = 0; i < s->nlabels; i++)
		if (s->labels[i].str && strcmp(s->labels[i].key, key) == 0)
			return s->labels[i].str;
	return NULL;
}

/* The longest single wait a sample stands for: its max_wait label, else its mean. */
static int64_t lr_max(const lr_prof *lp, const ct_sample *s)
{
	for (uint32_t i = 0; i < s->nlabels; i++)
		if (!s->labels[i].str && strcmp(s->labels[i].key, "max_wait") == 0)
			return s->labels[i].num;
	int64_t n = lr_count(lp, s);
	return n > 0 ? s->values[lp->delay] / n : s->values[lp->delay];
}

static const char *lr_ns(int64_t v, char *buf, size_t len)
{
	return ct_units_format(v, "nanoseconds", buf, len);
}

/* ---- stacks ---- */

static void lr_print_stack(FILE *out, const ct_profile *p, const ct_sample *s)
{
	int printed = 0;
	char name[CT_LOCNAME_MAX], src[CT_LOCNAME_MAX];
	for (uint32_t i = 0; i < s->nlocs && printed < LR_FRAMES; i++) {
		const ct_location *loc = &p->locations[s->locs[i]];
		uint32_t nframes = loc->nlines ? loc->nlines : 1;
		for (uint32_t l = 0; l < nframes && printed < LR_FRAMES; l++) {
			fprintf(out, "%s%s", printed ? " < " : "",
				ct_location_name(p, loc, l, name, sizeof(name)));
			const char *where = ct_location_source(p, loc, l, src, sizeof(src));
			if (printed == 0 && where)
				fprintf(out, " (%s)", where);
			printed++;
		}
	}
	if (s->nlocs == 0)
		fputs("[no stack]", out);
	fputc('\n', out);
}

typedef struct {
	const ct_sample *s; /* representative sample (its stack) */
	int64_t count, delay, max;
} lr_site;

static int lr_cmp_stack(const void *a, const void *b)
{
	const ct_sample *x = ((const lr_site *)a)->s, *y = ((const lr_site *)b)->s;
	if (x->nlocs != y->nlocs)
		return x->nlocs < y->nlocs ? -1 : 1;
	return memcmp(x->locs, y->locs, x->nlocs * sizeof(*x->locs));
}

static int lr_cmp_delay(const void *a, const void *b)
{
	int64_t x = ((const lr_site *)a)->delay, y = ((const lr_site *)b)->delay;
	return x > y ? -1 : x < y;
}

typedef bool (*lr_pred)(const ct_sample *s, const char *arg);

static bool lr_has_lock(const ct_sample *s, const char *lock)
{
	const char *l = lr_label(s, "lock");
	return strcmp(l ? l : "-", lock) == 0;
}

static bool lr_has_reason(const ct_sample *s, const char *reason)
{
	const char *r = lr_label(s, "reason");
	return strcmp(r ? r : "-", reason) == 0;
}

/* Prints the top stacks of the samples of lp that pred accepts, merged per stack. */
static int lr_sites(FILE *out, const lr_prof *lp, lr_pred pred, const char *arg, int top,
		    const char *title)
{
	const ct_profile *p = lp->p;
	lr_site *sites = malloc((p->nsamples ? p->nsamples : 1) * sizeof(*sites));
	if (!sites)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		if (pred(s, arg) && (s->values[lp->delay] || lr_count(lp, s)))
			sites[n++] =
				(lr_site){s, lr_count(lp, s), s->values[lp->delay], lr_max(lp, s)};
	}
	qsort(sites, n, sizeof(*sites), lr_cmp_stack);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && lr_cmp_stack(&sites[m - 1], &sites[i]) == 0) {
			sites[m - 1].count += sites[i].count;
			sites[m - 1].delay += sites[i].delay;
			if (sites[i].max > sites[m - 1].max)
				sites[m - 1].max = sites[i].max;
		} else {
			sites[m++] = sites[i];
		}
	}
	qsort(sites, m, sizeof(*sites), lr_cmp_delay);
	if (m)
		fprintf(out, "    %s\n", title);
	for (size_t i = 0; i < m && i < (size_t)top; i++) {
		char d[32], mx[32];
		fprintf(out, "      %10s %8" PRId64 " %10s  ", lr_ns(sites[i].delay, d, sizeof(d)),
			sites[i].count, lr_ns(sites[i].max, mx, sizeof(mx)));
		lr_print_stack(out, p, sites[i].s);
	}
	free(sites);
	return 0;
}

/* ---- the tables ---- */

typedef struct {
	const char *key;  /* lock address or reason; "-" when the label is missing */
	const char *kind; /* lock kind (the block reason), NULL if only in the mutex profile */
	int64_t count, wait, max; /* from the block profile */
	int64_t held_count, held; /* from the mutex profile */
} lr_row;

typedef struct {
	lr_row *v;
	size_t n, cap;
	ct_hindex ix; /* key -> index in v, until v is sorted */
} lr_rows;

static void lr_rows_free(lr_rows *r)
{
	free(r->v);
	ct_hindex_free(&r->ix);
}

/* The row of key, added when new; NULL on ENOMEM. Keys are label values a file chooses:
 * hashed under the per-process seed, so no file makes one probe run of them all. */
static lr_row *lr_row_get(lr_rows *r, const char *key)
{
	uint32_t h = (uint32_t)ct_hash_u64_keyed(ct_hash_str(key, NULL));
	if (ct_hindex_reserve(&r->ix))
		return NULL;
	size_t i = ct_hindex_home(&r->ix, h);
	for (; r->ix.slots[i].idx1; i = ct_hindex_next(&r->ix, i)) {
		const ct_hindex_slot *sl = &r->ix.slots[i];
		if (sl->hash == h && strcmp(r->v[sl->idx1 - 1].key, key) == 0)
			return &r->v[sl->idx1 - 1];
	}
	if (r->n >= UINT32_MAX - 1 || CT_VEC_RESERVE(r->v, r->cap, r->n + 1))
		return NULL;
	r->v[r->n] = (lr_row){.key = key};
	ct_hindex_fill(&r->ix, i, h, (uint32_t)r->n);
	return &r->v[r->n++];
}

static int lr_cmp_row(const void *a, const void *b)
{
	const lr_row *x = a, *y = b;
	int64_t kx = x->wait > x->held ? x->wait : x->held;
	int64_t ky = y->wait > y->held ? y->wait : y->held;
	return kx > ky ? -1 : kx < ky;
}

/* Block reasons that are waits for a lock (the lock table's rows). */
static bool lr_is_lock_reason(const char *r)
{
	return strcmp(r, "mutex") == 0 || strcmp(r, "rwlock") == 0 || strcmp(r, "spin") == 0;
}

static int lr_lock_table(FILE *out, const lr_prof *mp, const lr_prof *bp, int top)
{
	lr_rows rows = {0};
	int rc = 0;
	for (size_t i = 0; bp->p && i < bp->p->nsamples; i++) {
		const ct_sample *s = &bp->p->samples[i];
		const char *reason = lr_label(s, "reason");
		if (!reason || !lr_is_lock_reason(reason))
			continue;
		const char *lock = lr_label(s, "lock");
		lr_row *r = lr_row_get(&rows, lock ? lock : "-");
		if (!r)
			goto nomem;
		r->kind = reason;
		r->count += lr_count(bp, s);
		r->wait += s->values[bp->delay];
		int64_t mx = lr_max(bp, s);
		if (mx > r->max)
			r->max = mx;
	}
	for (size_t i = 0; mp->p && i < mp->p->nsamples; i++) {
		const ct_sample *s = &mp->p->samples[i];
		const char *lock = lr_label(s, "lock");
		lr_row *r = lr_row_get(&rows, lock ? lock : "-");
		if (!r)
			goto nomem;
		r->held_count += lr_count(mp, s);
		r->held += s->values[mp->delay];
	}
	if (rows.n)
		qsort(rows.v, rows.n, sizeof(*rows.v), lr_cmp_row);
	fprintf(out, "Contended locks: %zu (top %d by wait)\n", rows.n, top);
	fprintf(out, "  %-18s %-7s %11s %11s %11s %13s\n", "lock", "kind", "contentions",
		"total wait", "max wait", "holder delay");
	for (size_t i = 0; i < rows.n && i < (size_t)top; i++) {
		const lr_row *r = &rows.v[i];
		char w[32], m[32], h[32];
		fprintf(out, "  %-18s %-7s %11" PRId64 " %11s %11s %13s\n", r->key,
			r->kind ? r->kind : "lock", r->kind ? r->count : r->held_count,
			r->kind ? lr_ns(r->wait, w, sizeof(w)) : "-",
			r->kind ? lr_ns(r->max, m, sizeof(m)) : "-",
			mp->p ? lr_ns(r->held, h, sizeof(h)) : "-");
	}
	for (size_t i = 0; i < rows.n && i < (size_t)top && rc == 0; i++) {
		fprintf(out, "\n  lock %s\n", rows.v[i].key);
		if (mp->p)
			rc = lr_sites(out, mp, lr_has_lock, rows.v[i].key, 3,
				      "held by (delay caused, contentions, longest):");
		if (bp->p && rc == 0)
			rc = lr_sites(out, bp, lr_has_lock, rows.v[i].key, 3,
				      "waited at (time waited, waits, longest):");
	}
	lr_rows_free(&rows);
	return rc;
nomem:
	lr_rows_free(&rows);
	return -ENOMEM;
}

static int lr_reason_table(FILE *out, const lr_prof *bp, int top)
{
	lr_rows rows = {0};
	int rc = 0;
	for (size_t i = 0; i < bp->p->nsamples; i++) {
		const ct_sample *s = &bp->p->samples[i];
		const char *reason = lr_label(s, "reason");
		lr_row *r = lr_row_get(&rows, reason ? reason : "-");
		if (!r) {
			lr_rows_free(&rows);
			return -ENOMEM;
		}
		r->count += lr_count(bp, s);
		r->wait += s->values[bp->delay];
		int64_t mx = lr_max(bp, s);
		if (mx > r->max)
			r->max = mx;
	}
	if (rows.n)
		qsort(rows.v, rows.n, sizeof(*rows.v), lr_cmp_row);
	size_t shown = rows.n < (size_t)top ? rows.n : (size_t)top;
	fprintf(out,
		"Blocking by reason: %zu (top %d by wait; time charged to the waiting stack)\n",
		rows.n, top);
	fprintf(out, "  %-8s %11s %11s %11s\n", "reason", "waits", "total wait", "max wait");
	for (size_t i = 0; i < shown; i++) {
		char w[32], m[32];
		fprintf(out, "  %-8s %11" PRId64 " %11s %11s\n", rows.v[i].key, rows.v[i].count,
			lr_ns(rows.v[i].wait, w, sizeof(w)), lr_ns(rows.v[i].max, m, sizeof(m)));
	}
	for (size_t i = 0; i < shown && rc == 0; i++) {
		fprintf(out, "\n  reason %s\n", rows.v[i].key);
		rc = lr_sites(out, bp, lr_has_reason, rows.v[i].key, top,
			      "waiting sites (time waited, waits, longest):");
	}
	lr_rows_free(&rows);
	return rc;
}

bool ct_lock_is_block(const ct_profile *p, const char *name)
{
	for (size_t i = 0; p && i < p->nsamples; i++)
		for (uint32_t l = 0; l < p->samples[i].nlabels; l++)
			if (strcmp(p->samples[i].labels[l].key, "reason") == 0)
				return true;
	for (size_t i = 0; p && i < p->nsamples; i++)
		if (p->samples[i].nlabels)
			return false; /* labelled, and none says why: ctrace's mutex profile */
	const char *base = name ? strrchr(name, '/') : NULL;
	return name && strstr(base ? base + 1 : name, "block") != NULL;
}

/* Whether any sample says its longest wait (else "longest" is each stack's mean). */
static bool lr_has_max(const ct_profile *p)
{
	for (size_t i = 0; p && i < p->nsamples; i++)
		for (uint32_t l = 0; l < p->samples[i].nlabels; l++)
			if (strcmp(p->samples[i].labels[l].key, "max_wait") == 0)
				return true;
	return !p || !p->nsamples;
}

int ct_lock_report(FILE *out, const ct_profile *mutex, const ct_profile *block, int top)
{
	if (!mutex && !block)
		return -EINVAL;
	if (top <= 0)
		top = 10;
	lr_prof mp = lr_prof_of(mutex), bp = lr_prof_of(block);
	if ((mutex && mp.delay < 0) || (block && bp.delay < 0))
		return -EINVAL; /* not a mutex or block profile */
	int rc = 0;
	if (!lr_has_max(mutex) || !lr_has_max(block))
		fprintf(out, "(no max_wait labels: \"longest\" and \"max wait\" are mean waits)\n");
	if (mp.p || bp.p)
		rc = lr_lock_table(out, &mp, &bp, top);
	if (rc == 0 && bp.p) {
		fputc('\n', out);
		rc = lr_reason_table(out, &bp, top);
	}
	if (rc == 0 && ferror(out))
		rc = -EIO;
	return rc;
}
