/*
 * profdelta.c — a later profile minus an earlier one (see profdelta.h).
 *
 * base's samples go into an open-addressing table keyed by a hash of (stack, labels) and
 * compared in full on a hash hit; equal keys in base are summed there. Each sample of cur
 * then takes away its key's remaining total. O(samples × depth).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/profdelta.h"

typedef struct {
	const ct_sample *s; /* NULL: empty slot */
	uint64_t hash;
	int64_t *values; /* base's total for the key, consumed by the first match */
} slot;

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	if (!s)
		return mix(h, 1);
	for (; *s; s++)
		h = mix(h, (unsigned char)*s);
	return mix(h, 0);
}

/* The identity of a location across profiles: its address, or its first function's name
 * (synthetic frames such as "[ctrace: lost samples]" have no address). */
static uint64_t loc_hash(const ct_profile *p, uint32_t loc)
{
	const ct_location *l = &p->locations[loc];
	if (l->address || !l->nlines)
		return mix(7, l->address);
	return mix_str(11, p->functions[l->lines[0].function].name);
}

static int loc_equal(const ct_profile *a, uint32_t la, const ct_profile *b, uint32_t lb)
{
	const ct_location *x = &a->locations[la], *y = &b->locations[lb];
	if (x->address || y->address || !x->nlines || !y->nlines)
		return x->address == y->address && (x->address || (!x->nlines && !y->nlines));
	return strcmp(a->functions[x->lines[0].function].name,
		      b->functions[y->lines[0].function].name) == 0;
}

static uint64_t sample_hash(const ct_profile *p, const ct_sample *s)
{
	uint64_t h = mix(3, s->nlocs);
	for (uint32_t i = 0; i < s->nlocs; i++)
		h = mix(h, loc_hash(p, s->locs[i]));
	for (uint32_t i = 0; i < s->nlabels; i++) {
		h = mix_str(h, s->labels[i].key);
		h = s->labels[i].str ? mix_str(h, s->labels[i].str)
				     : mix(h, (uint64_t)s->labels[i].num);
	}
	return h;
}

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int sample_equal(const ct_profile *a, const ct_sample *x, const ct_profile *b,
			const ct_sample *y)
{
	if (x->nlocs != y->nlocs || x->nlabels != y->nlabels)
		return 0;
	for (uint32_t i = 0; i < x->nlocs; i++)
		if (!loc_equal(a, x->locs[i], b, y->locs[i]))
			return 0;
	for (uint32_t i = 0; i < x->nlabels; i++) {
		const ct_label *l = &x->labels[i], *m = &y->labels[i];
		if (!str_eq(l->key, m->key) || !str_eq(l->str, m->str) ||
		    (!l->str && l->num != m->num))
			return 0;
	}
	return 1;
}

/* Finds the slot of key (s in p, hash h): the one holding an equal sample, or the empty
 * slot where it belongs. */
static slot *find(slot *t, size_t mask, const ct_profile *base, const ct_profile *p,
		  const ct_sample *s, uint64_t h)
{
	for (size_t i = h & mask;; i = (i + 1) & mask)
		if (!t[i].s || (t[i].hash == h && sample_equal(base, t[i].s, p, s)))
			return &t[i];
}

int ct_profile_subtract(ct_profile *cur, const ct_profile *base)
{
	uint32_t nv = cur->nsample_types;
	if (nv != base->nsample_types)
		return -EINVAL;
	size_t cap = 16;
	while (cap < base->nsamples * 2)
		cap *= 2;
	slot *t = calloc(cap, sizeof(slot));
	int64_t *vals = calloc(base->nsamples ? base->nsamples : 1, nv * sizeof(int64_t));
	if (!t || !vals) {
		free(t);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < base->nsamples; i++) {
		const ct_sample *s = &base->samples[i];
		uint64_t h = sample_hash(base, s);
		slot *sl = find(t, cap - 1, base, base, s, h);
		if (!sl->s)
			*sl = (slot){.s = s, .hash = h, .values = vals + i * nv};
		for (uint32_t v = 0; v < nv; v++)
			sl->values[v] += s->values[v];
	}
	size_t kept = 0;
	for (size_t i = 0; i < cur->nsamples; i++) {
		ct_sample *s = &cur->samples[i];
		slot *sl = find(t, cap - 1, base, cur, s, sample_hash(cur, s));
		int nonzero = 0;
		for (uint32_t v = 0; v < nv; v++) {
			if (sl->s) {
				s->values[v] -= sl->values[v];
				sl->values[v] = 0;
			}
			nonzero |= s->values[v] != 0;
		}
		if (nonzero)
			cur->samples[kept++] = *s;
	}
	cur->nsamples = kept;
	free(t);
	free(vals);
	/* A comment whose text changed between the two (a count of samples, events, waits)
	 * speaks of the whole run so far, not of the difference: only unchanged ones stay. */
	uint32_t nc = 0;
	for (uint32_t i = 0; i < cur->ncomments; i++) {
		bool same = false;
		for (uint32_t j = 0; j < base->ncomments && !same; j++)
			same = strcmp(cur->comments[i], base->comments[j]) == 0;
		if (same)
			cur->comments[nc++] = cur->comments[i];
	}
	cur->ncomments = nc;
	return 0;
}
