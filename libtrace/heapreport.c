/*
 * heapreport.c — totals, top allocation sites and possible leaks of a heap profile
 * (see heapreport.h).
 *
 * Sites: every sample is charged to its first frame that is not part of the allocator;
 * the (site, values) rows are sorted by name and equal neighbours summed. Leaks: the
 * samples with bytes in use are sorted by their location lists and merged per stack (the
 * agent writes one sample per stack and block size), then the heaviest are printed.
 */
#include "libtrace/heapreport.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/intern.h"
#include "libtrace/locname.h"
#include "libtrace/units.h"

#define HR_FRAMES 8 /* frames printed per leak stack */

typedef struct {
	int ao, as, io, is; /* sample value indexes */
} hr_idx;

typedef struct {
	const char *name; /* owned by the profile, or by names[] below */
	int64_t ao, as, io, is;
} hr_row;

typedef struct {
	const ct_profile *p;
	hr_idx x;
	ct_intern names; /* "module+0xOFF" strings made for unsymbolized frames */
} hr_ctx;

static int hr_indexes(const ct_profile *p, hr_idx *x)
{
	x->ao = ct_profile_sample_index(p, "alloc_objects");
	x->as = ct_profile_sample_index(p, "alloc_space");
	x->io = ct_profile_sample_index(p, "inuse_objects");
	x->is = ct_profile_sample_index(p, "inuse_space");
	return x->ao < 0 || x->as < 0 || x->io < 0 || x->is < 0 ? -EINVAL : 0;
}

/* Frames that belong to the allocator rather than to the program. */
static bool hr_is_allocator(const char *name)
{
	static const char *const exact[] = {
		"malloc",	 "calloc",   "realloc", "reallocarray", "free",	  "posix_memalign",
		"aligned_alloc", "memalign", "valloc",	"pvalloc",	"strdup", "strndup",
	};
	static const char *const prefix[] = {"operator new",
					     "__libc_",
					     "__GI___libc_",
					     "_Znw",
					     "_Zna",
					     "__gnu_cxx::new_allocator",
					     "std::__new_allocator"};
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strcmp(name, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
		if (strncmp(name, prefix[i], strlen(prefix[i])) == 0)
			return true;
	return false;
}

/* A name for an unsymbolized location (locname.h), kept in c. NULL on ENOMEM. */
static const char *hr_addr_name(hr_ctx *c, const ct_location *l)
{
	char buf[CT_LOCNAME_MAX];
	return ct_intern_str(&c->names, ct_location_name(c->p, l, 0, buf, sizeof buf));
}

/* The site a sample is charged to: its first non-allocator frame (innermost inlined
 * frame first); the leaf when every frame is the allocator's. NULL on ENOMEM. */
static const char *hr_site(hr_ctx *c, const ct_sample *s)
{
	const ct_profile *p = c->p;
	for (uint32_t i = 0; i < s->nlocs; i++) {
		const ct_location *l = &p->locations[s->locs[i]];
		if (l->nlines == 0)
			return hr_addr_name(c, l);
		for (uint32_t k = 0; k < l->nlines; k++) {
			const char *name = p->functions[l->lines[k].function].name;
			if (!hr_is_allocator(name))
				return name;
		}
	}
	if (s->nlocs == 0)
		return "[unknown]";
	const ct_location *l = &p->locations[s->locs[0]];
	return l->nlines ? p->functions[l->lines[0].function].name : hr_addr_name(c, l);
}

static int hr_cmp_name(const void *a, const void *b)
{
	return strcmp(((const hr_row *)a)->name, ((const hr_row *)b)->name);
}
static int hr_cmp_space(const void *a, const void *b)
{
	const hr_row *x = a, *y = b;
	return x->as != y->as ? (x->as < y->as ? 1 : -1) : strcmp(x->name, y->name);
}
static int hr_cmp_count(const void *a, const void *b)
{
	const hr_row *x = a, *y = b;
	return x->ao != y->ao ? (x->ao < y->ao ? 1 : -1) : strcmp(x->name, y->name);
}

static const char *hr_bytes(int64_t v, char *buf, size_t len)
{
	return ct_units_format(v, "bytes", buf, len);
}

static void hr_sites(FILE *out, hr_row *rows, size_t n, int top, bool by_space)
{
	qsort(rows, n, sizeof *rows, by_space ? hr_cmp_space : hr_cmp_count);
	fprintf(out, "\ntop allocation sites by %s:\n", by_space ? "space" : "count");
	fprintf(out, "  %10s %10s %10s %10s  %s\n", by_space ? "space" : "objects",
		by_space ? "objects" : "space", "in use", "in use obj", "site");
	for (size_t i = 0, shown = 0; i < n && (int)shown < top; i++) {
		if (!rows[i].ao && !rows[i].as && !rows[i].io && !rows[i].is)
			continue; /* Go writes such rows for sites that only freed */
		shown++;
		char a[32], u[32];
		if (by_space)
			fprintf(out, "  %10s %10" PRId64, hr_bytes(rows[i].as, a, sizeof a),
				rows[i].ao);
		else
			fprintf(out, "  %10" PRId64 " %10s", rows[i].ao,
				hr_bytes(rows[i].as, a, sizeof a));
		fprintf(out, " %10s %10" PRId64 "  %s\n", hr_bytes(rows[i].is, u, sizeof u),
			rows[i].io, rows[i].name);
	}
}

/* ---- leaks ---- */

typedef struct {
	const ct_sample *s; /* representative sample: its stack */
	int64_t io, is;
} hr_leak;

static int hr_cmp_stack(const void *a, const void *b)
{
	const ct_sample *x = ((const hr_leak *)a)->s, *y = ((const hr_leak *)b)->s;
	if (x->nlocs != y->nlocs)
		return x->nlocs < y->nlocs ? -1 : 1;
	return memcmp(x->locs, y->locs, x->nlocs * sizeof *x->locs);
}
static int hr_cmp_leak(const void *a, const void *b)
{
	const hr_leak *x = a, *y = b;
	if (x->is != y->is)
		return x->is < y->is ? 1 : -1;
	return hr_cmp_stack(a, b);
}

static void hr_print_stack(FILE *out, hr_ctx *c, const ct_sample *s)
{
	const ct_profile *p = c->p;
	int printed = 0;
	bool skipping = true; /* leading allocator frames are left out */
	for (uint32_t i = 0; i < s->nlocs && printed < HR_FRAMES; i++) {
		const ct_location *l = &p->locations[s->locs[i]];
		if (l->nlines == 0) {
			const char *n = hr_addr_name(c, l);
			fprintf(out, "      %s\n", n ? n : "?");
			printed++;
			skipping = false;
			continue;
		}
		for (uint32_t k = 0; k < l->nlines && printed < HR_FRAMES; k++) {
			const ct_function *f = &p->functions[l->lines[k].function];
			if (skipping && hr_is_allocator(f->name))
				continue;
			skipping = false;
			const char *file = strrchr(f->filename, '/');
			file = file ? file + 1 : f->filename;
			if (*file && l->lines[k].line > 0)
				fprintf(out, "      %s (%s:%" PRId64 ")\n", f->name, file,
					l->lines[k].line);
			else
				fprintf(out, "      %s\n", f->name);
			printed++;
		}
	}
	if (s->nlocs == 0)
		fprintf(out, "      [unknown]\n");
}

static int hr_leaks(FILE *out, hr_ctx *c, int top)
{
	const ct_profile *p = c->p;
	hr_leak *lk = malloc((p->nsamples ? p->nsamples : 1) * sizeof *lk);
	if (!lk)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		if (s->values[c->x.is] > 0 || s->values[c->x.io] > 0)
			lk[n++] = (hr_leak){s, s->values[c->x.io], s->values[c->x.is]};
	}
	qsort(lk, n, sizeof *lk, hr_cmp_stack);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && hr_cmp_stack(&lk[m - 1], &lk[i]) == 0) {
			lk[m - 1].io += lk[i].io;
			lk[m - 1].is += lk[i].is;
		} else {
			lk[m++] = lk[i];
		}
	}
	qsort(lk, m, sizeof *lk, hr_cmp_leak);
	int64_t objs = 0, bytes = 0;
	for (size_t i = 0; i < m; i++) {
		objs += lk[i].io;
		bytes += lk[i].is;
	}
	char a[32], b[32];
	if (m == 0) {
		fprintf(out, "\npossible leaks: none (nothing sampled is in use at exit)\n");
		free(lk);
		return 0;
	}
	fprintf(out, "\npossible leaks (in use at exit): %s in %" PRId64 " objects from %zu %s\n",
		hr_bytes(bytes, a, sizeof a), objs, m, m == 1 ? "stack" : "stacks");
	for (size_t i = 0; i < m && (int)i < top; i++) {
		fprintf(out, "  %s in %" PRId64 " objects", hr_bytes(lk[i].is, a, sizeof a),
			lk[i].io);
		if (lk[i].io > 0)
			fprintf(out, " (%s each on average)",
				hr_bytes(lk[i].is / lk[i].io, b, sizeof b));
		fprintf(out, ", allocated at:\n");
		hr_print_stack(out, c, lk[i].s);
	}
	if (m > (size_t)top)
		fprintf(out, "  ... %zu more stacks\n", m - (size_t)top);
	free(lk);
	return 0;
}

static void hr_totals(const ct_profile *p, const hr_idx *x, int64_t t[4])
{
	memset(t, 0, 4 * sizeof *t);
	for (size_t i = 0; i < p->nsamples; i++) {
		const int64_t *v = p->samples[i].values;
		t[0] += v[x->ao];
		t[1] += v[x->as];
		t[2] += v[x->io];
		t[3] += v[x->is];
	}
}

int ct_heap_report(FILE *out, const ct_profile *heap, const ct_profile *peak, int top)
{
	hr_ctx c = {.p = heap};
	ct_intern_init(&c.names, true);
	if (!heap || hr_indexes(heap, &c.x) < 0)
		return -EINVAL;
	if (top <= 0)
		top = 10;
	int64_t t[4];
	char a[32], b[32];
	hr_totals(heap, &c.x, t);
	if (heap->period > 1)
		fprintf(out, "heap: sampled every %s allocated on average; values are estimates\n",
			hr_bytes(heap->period, a, sizeof a));
	else
		fprintf(out, "heap: every allocation sampled; values are exact\n");
	for (uint32_t i = 0; i < heap->ncomments; i++)
		if (strncmp(heap->comments[i], CT_HEAP_INCOMPLETE, strlen(CT_HEAP_INCOMPLETE)) == 0)
			fprintf(out, "  INCOMPLETE: %s\n",
				heap->comments[i] + strlen(CT_HEAP_INCOMPLETE));
	fprintf(out, "  allocated:        %10s in %" PRId64 " objects\n",
		hr_bytes(t[1], a, sizeof a), t[0]);
	fprintf(out, "  in use at exit:   %10s in %" PRId64 " objects\n",
		hr_bytes(t[3], a, sizeof a), t[2]);
	hr_idx px;
	if (peak && hr_indexes(peak, &px) == 0) {
		int64_t pt[4];
		hr_totals(peak, &px, pt);
		fprintf(out, "  peak in use:      %10s in %" PRId64 " objects\n",
			hr_bytes(pt[3], b, sizeof b), pt[2]);
	}

	int rc = 0;
	hr_row *rows = malloc((heap->nsamples ? heap->nsamples : 1) * sizeof *rows);
	if (!rows)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < heap->nsamples; i++) {
		const ct_sample *s = &heap->samples[i];
		const char *name = hr_site(&c, s);
		if (!name) {
			rc = -ENOMEM;
			goto out;
		}
		rows[n++] = (hr_row){name, s->values[c.x.ao], s->values[c.x.as], s->values[c.x.io],
				     s->values[c.x.is]};
	}
	qsort(rows, n, sizeof *rows, hr_cmp_name);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && strcmp(rows[m - 1].name, rows[i].name) == 0) {
			rows[m - 1].ao += rows[i].ao;
			rows[m - 1].as += rows[i].as;
			rows[m - 1].io += rows[i].io;
			rows[m - 1].is += rows[i].is;
		} else {
			rows[m++] = rows[i];
		}
	}
	hr_sites(out, rows, m, top, true);
	hr_sites(out, rows, m, top, false);
	rc = hr_leaks(out, &c, top);
out:
	free(rows);
	ct_intern_free(&c.names);
	if (rc == 0 && ferror(out))
		rc = -EIO;
	return rc;
}
