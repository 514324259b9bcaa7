/*
 * report.c — what enters the report views (see report.h): sample-type selection, sample
 * filters, trees of whole profiles and diffs, and per-function flat/cum totals. The call
 * tree itself is built in tree.c.
 */
#include "libtrace/report.h"
#include "libtrace/units.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/locname.h"

/* ---- sample selection ----------------------------------------------------------------- */

int ct_report_sample_index(const ct_profile *p, const char *spec, ct_error *err)
{
	if (p->nsample_types == 0)
		return ct_error_set(err, EINVAL, -1, "profile has no sample types");
	if (!spec || !*spec) {
		int i = -1;
		if (p->default_sample_type && *p->default_sample_type)
			i = ct_profile_sample_index(p, p->default_sample_type);
		return i >= 0 ? i : (int)p->nsample_types - 1;
	}
	for (uint32_t i = 0; i < p->nsample_types; i++)
		if (strcmp(p->sample_types[i].type, spec) == 0)
			return (int)i;
	char *end;
	errno = 0;
	long n = strtol(spec, &end, 10);
	if (*end == '\0' && errno == 0 && n >= 0 && n < (long)p->nsample_types)
		return (int)n;
	char names[160] = "";
	size_t off = 0;
	for (uint32_t i = 0; i < p->nsample_types && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
					p->sample_types[i].type);
	return ct_error_set(err, EINVAL, -1, "no sample type \"%s\" (have: %s)", spec, names);
}

const char *ct_report_profile_kind(const ct_profile *p)
{
	if (p->nsample_types == 0)
		return "empty";
	for (uint32_t i = 0; i < p->nsample_types; i++) {
		const char *t = p->sample_types[i].type;
		if (strcmp(t, "cpu") == 0)
			return "cpu";
		if (strcmp(t, "alloc_space") == 0 || strcmp(t, "inuse_space") == 0)
			return "heap";
		if (strcmp(t, "contentions") == 0 || strcmp(t, "delay") == 0)
			return "contention";
	}
	return p->sample_types[0].type;
}

/* ---- filters -------------------------------------------------------------------------- */

enum { LOC_FOCUS = 1, LOC_IGNORE = 2 };

typedef struct {
	const char *key;
	const char *value;
	int64_t num;
	bool numeric;
} tag_match;

struct ct_filter {
	const ct_profile *p;
	uint8_t *loc_flags; /* LOC_* per location */
	bool focus, ignore;
	tag_match *tags;
	uint32_t ntags;
};

void ct_filter_free(ct_filter *f)
{
	if (!f)
		return;
	free(f->loc_flags);
	free(f->tags);
	free(f);
}

static int compile(regex_t *re, const char *pattern, const char *what, ct_error *err)
{
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[128];
		regerror(rc, re, msg, sizeof(msg));
		return ct_error_set(err, EINVAL, -1, "bad %s regex \"%s\": %s", what, pattern, msg);
	}
	return 0;
}

/* Flags every location with a frame matching re with bit. */
static void mark_locations(ct_filter *f, const regex_t *re, uint8_t bit)
{
	const ct_profile *p = f->p;
	char buf[CT_LOCNAME_MAX];
	for (uint32_t i = 0; i < p->nlocations; i++) {
		const ct_location *l = &p->locations[i];
		uint32_t n = l->nlines ? l->nlines : 1;
		for (uint32_t k = 0; k < n; k++) {
			if (regexec(re, ct_location_name(p, l, k, buf, sizeof(buf)), 0, NULL, 0) ==
			    0) {
				f->loc_flags[i] |= bit;
				break;
			}
		}
	}
}

static int add_regex(ct_filter *f, const char *pattern, const char *what, uint8_t bit,
		     ct_error *err)
{
	regex_t re;
	int rc = compile(&re, pattern, what, err);
	if (rc)
		return rc;
	mark_locations(f, &re, bit);
	regfree(&re);
	return 0;
}

int ct_filter_new(const ct_profile *p, const ct_filter_spec *spec, ct_filter **out, ct_error *err)
{
	*out = NULL;
	ct_filter *f = calloc(1, sizeof(*f));
	if (!f)
		return ct_error_set(err, ENOMEM, -1, "out of memory");
	f->p = p;
	f->loc_flags = calloc(p->nlocations ? p->nlocations : 1, 1);
	f->tags = calloc(spec->ntags ? spec->ntags : 1, sizeof(*f->tags));
	if (!f->loc_flags || !f->tags) {
		ct_filter_free(f);
		return ct_error_set(err, ENOMEM, -1, "out of memory");
	}
	int rc = 0;
	if (spec->focus) {
		f->focus = true;
		rc = add_regex(f, spec->focus, "focus", LOC_FOCUS, err);
	}
	if (!rc && spec->ignore) {
		f->ignore = true;
		rc = add_regex(f, spec->ignore, "ignore", LOC_IGNORE, err);
	}
	for (uint32_t i = 0; !rc && i < spec->ntags; i++) {
		const char *eq = strchr(spec->tags[i], '=');
		if (!eq || eq == spec->tags[i]) {
			rc = ct_error_set(err, EINVAL, -1, "bad tag \"%s\": want KEY=VALUE",
					  spec->tags[i]);
			break;
		}
		tag_match *t = &f->tags[f->ntags++];
		t->key = spec->tags[i]; /* compared up to the '=' (see tag_ok) */
		t->value = eq + 1;
		char *end;
		errno = 0;
		t->num = strtoll(t->value, &end, 0);
		t->numeric = *t->value && *end == '\0' && errno == 0;
	}
	if (rc) {
		ct_filter_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

static bool tag_ok(const tag_match *t, const ct_sample *s)
{
	size_t klen = (size_t)(t->value - 1 - t->key);
	for (uint32_t i = 0; i < s->nlabels; i++) {
		const ct_label *l = &s->labels[i];
		if (strncmp(l->key, t->key, klen) != 0 || l->key[klen] != '\0')
			continue;
		if (l->str ? strcmp(l->str, t->value) == 0 : (t->numeric && l->num == t->num))
			return true;
	}
	return false;
}

bool ct_filter_keep(const ct_filter *f, const ct_sample *s)
{
	if (!f)
		return true;
	if (f->focus || f->ignore) {
		uint8_t any = 0;
		for (uint32_t i = 0; i < s->nlocs; i++)
			if (s->locs[i] < f->p->nlocations)
				any |= f->loc_flags[s->locs[i]];
		if (f->focus && !(any & LOC_FOCUS))
			return false;
		if (f->ignore && (any & LOC_IGNORE))
			return false;
	}
	for (uint32_t i = 0; i < f->ntags; i++)
		if (!tag_ok(&f->tags[i], s))
			return false;
	return true;
}

/* ---- trees of whole profiles ----------------------------------------------------------- */

int ct_tree_from_profile(const ct_profile *p, const ct_filter *f, ct_tree **out)
{
	*out = NULL;
	uint32_t n = p->nsample_types;
	const char **types = calloc(n ? n : 1, sizeof(*types));
	const char **units = calloc(n ? n : 1, sizeof(*units));
	int *idx = calloc(n ? n : 1, sizeof(*idx));
	ct_tree *t = NULL;
	int rc = -ENOMEM;
	if (!types || !units || !idx)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		types[i] = p->sample_types[i].type;
		units[i] = p->sample_types[i].unit;
		idx[i] = (int)i;
	}
	if (!n)
		idx[0] = -1;
	if (!(t = ct_tree_new(n, types, units)))
		goto out;
	if ((rc = ct_tree_add_profile(t, p, f, idx)) || (rc = ct_tree_finish(t))) {
		ct_tree_free(t);
		goto out;
	}
	*out = t;
out:
	free(types);
	free(units);
	free(idx);
	return rc;
}

/* A diff's two columns in one unit, the finer of the two (milliseconds and nanoseconds:
 * the milliseconds column times 10^6). -EDOM when the units measure different things
 * (bytes and nanoseconds, count and anything), -ERANGE when a value would overflow. */
static int diff_same_unit(ct_tree *t)
{
	int fam[2];
	int64_t base[2] = {ct_units_in_base(t->cols[0].unit, &fam[0]),
			   ct_units_in_base(t->cols[1].unit, &fam[1])};
	if (!base[0] || !base[1] || fam[0] != fam[1])
		return -EDOM;
	uint32_t coarse = base[1] > base[0], fine = 1 - coarse;
	int64_t f = base[coarse] / base[fine];
	for (uint32_t i = 0; i < t->nnodes; i++) {
		int64_t *c = &t->cum[i * 2 + coarse], *s = &t->self[i * 2 + coarse];
		if (__builtin_mul_overflow(*c, f, c) || __builtin_mul_overflow(*s, f, s))
			return -ERANGE;
	}
	t->cols[coarse].unit = t->cols[fine].unit; /* both interned in the tree */
	return 0;
}

int ct_tree_diff(const ct_profile *base, const ct_filter *fbase, int base_index,
		 const ct_profile *new_p, const ct_filter *fnew, int new_index, ct_tree **out)
{
	*out = NULL;
	if (new_index < 0 || new_index >= (int)new_p->nsample_types || base_index < 0 ||
	    base_index >= (int)base->nsample_types)
		return -EINVAL;
	const ct_value_type *vt = &new_p->sample_types[new_index];
	const char *types[2] = {vt->type, base->sample_types[base_index].type};
	const char *units[2] = {vt->unit, base->sample_types[base_index].unit};
	ct_tree *t = ct_tree_new(2, types, units);
	if (!t)
		return -ENOMEM;
	int inew[2] = {new_index, -1}, ibase[2] = {-1, base_index};
	int rc = ct_tree_add_profile(t, new_p, fnew, inew);
	if (!rc)
		rc = ct_tree_add_profile(t, base, fbase, ibase);
	if (!rc)
		rc = ct_tree_finish(t);
	if (!rc && strcmp(units[0], units[1]) != 0)
		rc = diff_same_unit(t);
	if (rc) {
		ct_tree_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* ---- per-function totals -------------------------------------------------------------- */

static uint64_t magnitude(int64_t v)
{
	return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

static int cmp_top(const void *a, const void *b, void *arg)
{
	const ct_tree *t = arg;
	const ct_top_entry *x = a, *y = b;
	/* By magnitude, as pprof: a diff profile's largest decrease is a large entry. */
	uint64_t fx = magnitude(x->flat), fy = magnitude(y->flat);
	uint64_t cx = magnitude(x->cum), cy = magnitude(y->cum);
	if (fx != fy)
		return fx > fy ? -1 : 1;
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(t->frames[x->frame].name, t->frames[y->frame].name);
}

int ct_tree_top(const ct_tree *t, uint32_t col, ct_top_entry **out, uint32_t *nout)
{
	*out = NULL;
	*nout = 0;
	uint32_t nf = t->nframes, nc = t->ncols;
	ct_top_entry *e = calloc(nf ? nf : 1, sizeof(*e));
	uint32_t *active = calloc(nf ? nf : 1, sizeof(*active));
	uint32_t *stack = malloc(t->nnodes * sizeof(*stack));
	if (!e || !active || !stack) {
		free(e);
		free(active);
		free(stack);
		return -ENOMEM;
	}
	/* Walk in pre-order keeping the current path on a stack; a frame's cum counts only
	 * its outermost occurrence on the path, so recursion is not counted twice. */
	uint32_t sp = 0;
	for (uint32_t i = 1; i < t->nnodes; i++) {
		const ct_tree_node *n = &t->nodes[i];
		while (sp && t->nodes[stack[sp - 1]].depth >= n->depth)
			active[t->nodes[stack[--sp]].frame]--;
		if (active[n->frame]++ == 0)
			e[n->frame].cum += t->cum[(size_t)i * nc + col];
		e[n->frame].flat += t->self[(size_t)i * nc + col];
		stack[sp++] = i;
	}
	uint32_t k = 0;
	for (uint32_t f = 0; f < nf; f++) {
		if (e[f].flat == 0 && e[f].cum == 0)
			continue;
		e[k] = e[f];
		e[k++].frame = f;
	}
	qsort_r(e, k, sizeof(*e), cmp_top, (void *)t);
	free(active);
	free(stack);
	*out = e;
	*nout = k;
	return 0;
}
