/*
 * profile.c — the in-memory pprof profile and its builder (see profile.h).
 *
 * Memory: the top-level arrays (samples, locations, ...) are malloc'd and grown by
 * doubling; everything smaller — interned strings, a sample's locations, values and
 * labels, a location's lines — is carved from an arena of large chunks that
 * ct_profile_free releases all at once. Nothing is freed individually, so
 * ct_profile_set_lines leaves the old lines behind (a few bytes per symbolized location);
 * in exchange a million samples cost a handful of mallocs.
 *
 * Interning: strings by content in libtrace's interner (intern.h); functions by their
 * (interned, hence pointer-comparable) strings and start line, and locations by (mapping,
 * address) or, for address 0, by their lines, in two open-addressing tables with linear
 * probing, each kept at most half full. These hold an index + 1 (0 = empty slot) and the
 * low 32 bits of the key's hash, so growing never recomputes a hash. A location keyed by its
 * lines changes key when ct_profile_set_lines rewrites them; it is then removed with
 * backward-shift deletion (no tombstones) and re-inserted. Samples that
 * ct_profile_merge_sample adds are indexed by their locations and labels in a third table.
 */
#include "profile.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/hindex.h"
#include "libtrace/intern.h"
#include "libtrace/vec.h"

enum {
	ARENA_CHUNK = 1 << 20, /* bytes per ordinary arena chunk */
	ARENA_ALIGN = 16,      /* alignment of every chunk's payload */
	ARENA_BIG = 1 << 16,   /* larger requests get a chunk of their own */
};

struct chunk {
	struct chunk *next;
	size_t size;
	unsigned char *data; /* payload, ARENA_ALIGN aligned, inside the same malloc */
};

struct ct_profile_store {
	struct chunk *chunks; /* head is the chunk being filled */
	size_t used;	      /* bytes used in the head chunk */
	ct_intern strs;
	ct_hindex funcs, locs;
	ct_hindex samples;	/* samples added by ct_profile_merge_sample, by key */
	ct_label *merge_labels; /* ct_profile_merge_sample's labels, their strings interned */
	size_t cap_merge_labels;
	size_t cap_sample_types, cap_samples, cap_mappings, cap_locations, cap_functions,
		cap_comments;
	uint64_t max_mapping_id, max_location_id, max_function_id;
	const char *empty; /* the interned "" */
};

/* ---- arena ---------------------------------------------------------------------------- */

static struct chunk *chunk_new(size_t size)
{
	size_t head = (sizeof(struct chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	struct chunk *c = malloc(head + size);
	if (!c)
		return NULL;
	c->size = size;
	c->data = (unsigned char *)c + head;
	c->next = NULL;
	return c;
}

/* size bytes aligned to align (a power of two <= ARENA_ALIGN); NULL on ENOMEM. */
static void *arena_alloc(struct ct_profile_store *st, size_t size, size_t align)
{
	assert(align && align <= ARENA_ALIGN && !(align & (align - 1)));
	if (size > ARENA_BIG) {
		/* A big block gets its own chunk, linked behind the head so the head's free
		 * tail stays usable. */
		struct chunk *c = chunk_new(size);
		if (!c)
			return NULL;
		if (st->chunks) {
			c->next = st->chunks->next;
			st->chunks->next = c;
		} else {
			st->chunks = c;
			st->used = size;
		}
		return c->data;
	}
	size_t off = (st->used + align - 1) & ~(align - 1);
	if (!st->chunks || off + size > st->chunks->size) {
		struct chunk *c = chunk_new(ARENA_CHUNK);
		if (!c)
			return NULL;
		c->next = st->chunks;
		st->chunks = c;
		off = 0;
	}
	st->used = off + size;
	return st->chunks->data + off;
}

/* A copy of n elements of size elem in the arena; NULL for n == 0 (with *ok left true)
 * or on ENOMEM (*ok set false). */
static void *arena_dup(struct ct_profile_store *st, const void *src, size_t n, size_t elem,
		       size_t align, bool *ok)
{
	if (n == 0)
		return NULL;
	void *d = arena_alloc(st, n * elem, align);
	if (!d) {
		*ok = false;
		return NULL;
	}
	memcpy(d, src, n * elem);
	return d;
}

/* ---- hashing -------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	return ct_hash_u64(x);
}

static uint64_t hash_ptr(const void *ptr)
{
	return mix64((uint64_t)(uintptr_t)ptr);
}

/* ---- profile -------------------------------------------------------------------------- */

ct_profile *ct_profile_new(void)
{
	ct_profile *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->store = calloc(1, sizeof(*p->store));
	if (!p->store) {
		free(p);
		return NULL;
	}
	ct_intern_init(&p->store->strs, true);
	const char *e = ct_profile_str(p, "");
	if (!e) {
		ct_profile_free(p);
		return NULL;
	}
	p->store->empty = e;
	p->drop_frames = p->keep_frames = p->default_sample_type = e;
	p->period_type.type = p->period_type.unit = e;
	return p;
}

void ct_profile_free(ct_profile *p)
{
	if (!p)
		return;
	struct ct_profile_store *st = p->store;
	if (st) {
		for (struct chunk *c = st->chunks, *n; c; c = n) {
			n = c->next;
			free(c);
		}
		ct_intern_free(&st->strs);
		ct_hindex_free(&st->funcs);
		ct_hindex_free(&st->locs);
		ct_hindex_free(&st->samples);
		free(st->merge_labels);
		free(st);
	}
	free(p->sample_types);
	free(p->samples);
	free(p->mappings);
	free(p->locations);
	free(p->functions);
	free(p->comments);
	free(p);
}

const char *ct_profile_str(ct_profile *p, const char *s)
{
	struct ct_profile_store *st = p->store;
	if ((!s || !*s) && st->empty)
		return st->empty;
	return ct_intern_str(&st->strs, s);
}

int ct_profile_add_sample_type(ct_profile *p, const char *type, const char *unit)
{
	if (p->nsamples)
		return -EINVAL;
	struct ct_profile_store *st = p->store;
	const char *t = ct_profile_str(p, type), *u = ct_profile_str(p, unit);
	if (!t || !u || CT_VEC_RESERVE(p->sample_types, st->cap_sample_types, p->nsample_types + 1))
		return -ENOMEM;
	p->sample_types[p->nsample_types++] = (ct_value_type){t, u};
	return 0;
}

/* The id for a new entry: the one given, or one past the largest so far (which is
 * index + 1 as long as every id was assigned here). Updates *max. */
static uint64_t next_id(uint64_t given, uint64_t *max)
{
	uint64_t id = given ? given : *max + 1;
	if (id > *max)
		*max = id;
	return id;
}

uint32_t ct_profile_add_mapping(ct_profile *p, const ct_mapping *m)
{
	struct ct_profile_store *st = p->store;
	if (p->nmappings >= UINT32_MAX - 1)
		return 0;
	ct_mapping c = *m;
	c.filename = ct_profile_str(p, m->filename);
	c.build_id = ct_profile_str(p, m->build_id);
	if (!c.filename || !c.build_id ||
	    CT_VEC_RESERVE(p->mappings, st->cap_mappings, p->nmappings + 1))
		return 0;
	c.id = next_id(m->id, &st->max_mapping_id);
	p->mappings[p->nmappings++] = c;
	return p->nmappings;
}

static uint32_t func_hash(const ct_function *f)
{
	/* Mixed before the next field joins: name and system name are often the same string
	 * (Go's writer, ctrace's), and their plain XOR cancelled, every function of a file
	 * hashing alike (200k functions: ~30 s to read instead of under 1). */
	uint64_t h = mix64(hash_ptr(f->name) + 0x9e3779b97f4a7c15ULL);
	h = mix64(h ^ hash_ptr(f->system_name));
	h = mix64(h ^ hash_ptr(f->filename));
	return (uint32_t)mix64(h ^ (uint64_t)f->start_line);
}

/* Appends f (strings already interned) and registers it for interning. */
static uint32_t func_push(ct_profile *p, const ct_function *f, uint32_t hash)
{
	struct ct_profile_store *st = p->store;
	if (p->nfunctions >= UINT32_MAX - 1)
		return UINT32_MAX;
	if (CT_VEC_RESERVE(p->functions, st->cap_functions, p->nfunctions + 1))
		return UINT32_MAX;
	if (ct_hindex_insert(&st->funcs, hash, p->nfunctions))
		return UINT32_MAX;
	ct_function *d = &p->functions[p->nfunctions];
	*d = *f;
	d->id = next_id(f->id, &st->max_function_id);
	return p->nfunctions++;
}

static bool intern_function_strings(ct_profile *p, ct_function *f, const char *name,
				    const char *system_name, const char *filename)
{
	f->name = ct_profile_str(p, name);
	f->system_name = ct_profile_str(p, system_name);
	f->filename = ct_profile_str(p, filename);
	return f->name && f->system_name && f->filename;
}

uint32_t ct_profile_add_function(ct_profile *p, const char *name, const char *system_name,
				 const char *filename, int64_t start_line)
{
	ct_function f = {.start_line = start_line};
	if (!intern_function_strings(p, &f, name, system_name, filename))
		return UINT32_MAX;
	uint32_t h = func_hash(&f);
	ct_hindex *t = &p->store->funcs;
	if (t->cap) {
		for (size_t i = h & (t->cap - 1); t->slots[i].idx1; i = (i + 1) & (t->cap - 1)) {
			if (t->slots[i].hash != h)
				continue;
			const ct_function *o = &p->functions[t->slots[i].idx1 - 1];
			if (o->name == f.name && o->system_name == f.system_name &&
			    o->filename == f.filename && o->start_line == f.start_line)
				return t->slots[i].idx1 - 1;
		}
	}
	return func_push(p, &f, h);
}

uint32_t ct_profile_append_function(ct_profile *p, const ct_function *f)
{
	ct_function c = *f;
	if (!intern_function_strings(p, &c, f->name, f->system_name, f->filename))
		return UINT32_MAX;
	return func_push(p, &c, func_hash(&c));
}

/* The intern key of a location: (mapping, address), or (mapping, lines) for address 0.
 * The seeds keep the two kinds apart. */
static uint32_t loc_hash(uint32_t mapping, uint64_t address, const ct_line *lines, uint32_t nlines)
{
	if (address)
		return (uint32_t)mix64(mix64(address) ^ mapping);
	uint64_t h = mix64(0x6c696e6573ULL ^ mapping);
	for (uint32_t i = 0; i < nlines; i++)
		h = mix64(h ^ lines[i].function ^ ((uint64_t)lines[i].line << 32));
	return (uint32_t)mix64(h ^ nlines);
}

static bool loc_equal(const ct_location *l, uint32_t mapping, uint64_t address,
		      const ct_line *lines, uint32_t nlines)
{
	if (l->mapping != mapping || l->address != address)
		return false;
	if (address)
		return true;
	if (l->nlines != nlines)
		return false;
	for (uint32_t i = 0; i < nlines; i++) {
		if (l->lines[i].function != lines[i].function || l->lines[i].line != lines[i].line)
			return false;
	}
	return true;
}

static bool lines_valid(const ct_profile *p, const ct_line *lines, uint32_t nlines)
{
	if (nlines && !lines)
		return false;
	for (uint32_t i = 0; i < nlines; i++) {
		if (lines[i].function >= p->nfunctions)
			return false;
	}
	return true;
}

/* Appends a copy of *l (lines copied into the arena) and registers it for interning. */
static uint32_t loc_push(ct_profile *p, const ct_location *l)
{
	struct ct_profile_store *st = p->store;
	if (l->mapping > p->nmappings || !lines_valid(p, l->lines, l->nlines) ||
	    p->nlocations >= UINT32_MAX - 1)
		return UINT32_MAX;
	bool ok = true;
	ct_line *lines =
		arena_dup(st, l->lines, l->nlines, sizeof(ct_line), _Alignof(ct_line), &ok);
	uint32_t h = loc_hash(l->mapping, l->address, l->lines, l->nlines);
	if (!ok)
		return UINT32_MAX;
	if (CT_VEC_RESERVE(p->locations, st->cap_locations, p->nlocations + 1))
		return UINT32_MAX;
	if (ct_hindex_insert(&st->locs, h, p->nlocations))
		return UINT32_MAX;
	ct_location *d = &p->locations[p->nlocations];
	*d = *l;
	d->lines = lines;
	d->id = next_id(l->id, &st->max_location_id);
	return p->nlocations++;
}

uint32_t ct_profile_add_location(ct_profile *p, uint32_t mapping, uint64_t address,
				 const ct_line *lines, uint32_t nlines)
{
	uint32_t h = loc_hash(mapping, address, lines, nlines);
	ct_hindex *t = &p->store->locs;
	if (t->cap) {
		for (size_t i = h & (t->cap - 1); t->slots[i].idx1; i = (i + 1) & (t->cap - 1)) {
			if (t->slots[i].hash == h && loc_equal(&p->locations[t->slots[i].idx1 - 1],
							       mapping, address, lines, nlines))
				return t->slots[i].idx1 - 1;
		}
	}
	ct_location l = {.mapping = mapping,
			 .address = address,
			 .lines = (ct_line *)lines,
			 .nlines = nlines};
	return loc_push(p, &l);
}

uint32_t ct_profile_append_location(ct_profile *p, const ct_location *loc)
{
	return loc_push(p, loc);
}

int ct_profile_set_lines(ct_profile *p, uint32_t loc, const ct_line *lines, uint32_t nlines)
{
	struct ct_profile_store *st = p->store;
	if (loc >= p->nlocations || !lines_valid(p, lines, nlines))
		return -EINVAL;
	ct_location *l = &p->locations[loc];
	bool ok = true;
	ct_line *copy = arena_dup(st, lines, nlines, sizeof(ct_line), _Alignof(ct_line), &ok);
	if (!ok)
		return -ENOMEM;
	if (l->address) {
		l->lines = copy;
		l->nlines = nlines;
		return 0;
	}
	/* Keyed by its lines: re-key. The table only shrinks before the insert, so the
	 * insert cannot need to grow and cannot fail. */
	ct_hindex_remove(&st->locs, loc_hash(l->mapping, 0, l->lines, l->nlines), loc);
	l->lines = copy;
	l->nlines = nlines;
	int rc = ct_hindex_insert(&st->locs, loc_hash(l->mapping, 0, copy, nlines), loc);
	assert(rc == 0);
	return rc;
}

int ct_profile_add_pc_sample(ct_profile *p, const uint64_t *pcs, uint32_t n, bool leaf_exact,
			     bool truncated, ct_pc_mapper map, const void *ctx,
			     const int64_t *values, const ct_label *labels, uint32_t nlabels)
{
	uint32_t locs[CT_PROFILE_MAX_PCS + 1];
	uint32_t k = 0;
	for (uint32_t i = 0; i < n && k < CT_PROFILE_MAX_PCS; i++) {
		uint64_t a = pcs[i];
		if (!a)
			continue;
		if (i > 0 || !leaf_exact)
			a -= 1;
		uint32_t loc = ct_profile_add_location(p, map(p, ctx, a), a, NULL, 0);
		if (loc == UINT32_MAX)
			return -ENOMEM;
		locs[k++] = loc;
	}
	if (truncated) {
		uint32_t fn = ct_profile_add_function(p, "[truncated]", "", "", 0);
		ct_line line = {.function = fn, .line = 0};
		uint32_t loc =
			fn == UINT32_MAX ? UINT32_MAX : ct_profile_add_location(p, 0, 0, &line, 1);
		if (loc != UINT32_MAX)
			locs[k++] = loc;
	}
	return ct_profile_add_sample(p, locs, k, values, labels, nlabels);
}

int ct_profile_add_sample(ct_profile *p, const uint32_t *locs, uint32_t nlocs,
			  const int64_t *values, const ct_label *labels, uint32_t nlabels)
{
	struct ct_profile_store *st = p->store;
	if ((nlocs && !locs) || (p->nsample_types && !values) || (nlabels && !labels))
		return -EINVAL;
	for (uint32_t i = 0; i < nlocs; i++) {
		if (locs[i] >= p->nlocations)
			return -EINVAL;
	}
	if (CT_VEC_RESERVE(p->samples, st->cap_samples, p->nsamples + 1))
		return -ENOMEM;
	bool ok = true;
	ct_sample s = {.nlocs = nlocs, .nlabels = nlabels};
	s.locs = arena_dup(st, locs, nlocs, sizeof(*locs), _Alignof(uint32_t), &ok);
	s.values = arena_dup(st, values, p->nsample_types, sizeof(*values), _Alignof(int64_t), &ok);
	s.labels = arena_dup(st, labels, nlabels, sizeof(*labels), _Alignof(ct_label), &ok);
	if (!ok)
		return -ENOMEM;
	for (uint32_t i = 0; i < nlabels; i++) {
		ct_label *l = &s.labels[i];
		l->key = ct_profile_str(p, labels[i].key);
		if (!l->key)
			return -ENOMEM;
		if (labels[i].str) {
			l->str = ct_profile_str(p, labels[i].str);
			l->num = 0;
			l->num_unit = NULL;
			if (!l->str)
				return -ENOMEM;
		} else if (labels[i].num_unit) {
			l->num_unit = ct_profile_str(p, labels[i].num_unit);
			if (!l->num_unit)
				return -ENOMEM;
		}
	}
	p->samples[p->nsamples++] = s;
	return 0;
}

/* ---- merging samples ------------------------------------------------------------------ */

/* One step of a sample key's hash, under ct_hash_seed: a file chooses location indexes and
 * numeric labels, and must not be able to put every sample in one probe run. */
static uint64_t key_step(uint64_t h, uint64_t x)
{
	return ct_hash_u64_keyed(h + x);
}

static uint32_t sample_key_hash(const uint32_t *locs, uint32_t nlocs, const ct_label *l,
				uint32_t nlabels)
{
	uint64_t h = key_step(nlocs, nlabels);
	for (uint32_t i = 0; i < nlocs; i++)
		h = key_step(h, locs[i]);
	for (uint32_t i = 0; i < nlabels; i++) {
		h = key_step(h, (uintptr_t)l[i].key);
		h = key_step(h, (uintptr_t)l[i].str);
		h = key_step(h, (uint64_t)l[i].num);
		h = key_step(h, (uintptr_t)l[i].num_unit);
	}
	return (uint32_t)h;
}

/* Whether s has these locations and these labels (strings interned, as s's are). */
static bool sample_key_equal(const ct_sample *s, const uint32_t *locs, uint32_t nlocs,
			     const ct_label *l, uint32_t nlabels)
{
	if (s->nlocs != nlocs || s->nlabels != nlabels ||
	    (nlocs && memcmp(s->locs, locs, nlocs * sizeof(*locs)) != 0))
		return false;
	for (uint32_t i = 0; i < nlabels; i++) {
		const ct_label *a = &s->labels[i], *b = &l[i];
		if (a->key != b->key || a->str != b->str || a->num != b->num ||
		    a->num_unit != b->num_unit)
			return false;
	}
	return true;
}

/* Adds values to s's, unless one of the sums would overflow: whether they were added. */
static bool sample_add_values(const ct_profile *p, ct_sample *s, const int64_t *values)
{
	int64_t sum;
	for (uint32_t k = 0; k < p->nsample_types; k++)
		if (__builtin_add_overflow(s->values[k], values[k], &sum))
			return false;
	for (uint32_t k = 0; k < p->nsample_types; k++)
		s->values[k] += values[k];
	return true;
}

/* labels with their strings interned and a string label's number cleared, as
 * ct_profile_add_sample stores them, into st->merge_labels. 0 or -ENOMEM. */
static int intern_labels(ct_profile *p, const ct_label *labels, uint32_t nlabels)
{
	struct ct_profile_store *st = p->store;
	if (nlabels && CT_VEC_RESERVE(st->merge_labels, st->cap_merge_labels, nlabels))
		return -ENOMEM;
	for (uint32_t i = 0; i < nlabels; i++) {
		ct_label *l = &st->merge_labels[i];
		const ct_label *in = &labels[i];
		*l = (ct_label){.key = ct_profile_str(p, in->key)};
		if (in->str)
			l->str = ct_profile_str(p, in->str);
		else
			l->num = in->num;
		if (!in->str && in->num_unit)
			l->num_unit = ct_profile_str(p, in->num_unit);
		if (!l->key || (in->str && !l->str) || (!in->str && in->num_unit && !l->num_unit))
			return -ENOMEM;
	}
	return 0;
}

int ct_profile_merge_sample(ct_profile *p, const uint32_t *locs, uint32_t nlocs,
			    const int64_t *values, const ct_label *labels, uint32_t nlabels)
{
	struct ct_profile_store *st = p->store;
	if ((nlocs && !locs) || (p->nsample_types && !values) || (nlabels && !labels))
		return -EINVAL;
	if (intern_labels(p, labels, nlabels) || ct_hindex_reserve(&st->samples))
		return -ENOMEM;
	const ct_label *l = st->merge_labels;
	uint32_t h = sample_key_hash(locs, nlocs, l, nlabels);
	size_t i = ct_hindex_home(&st->samples, h);
	for (; st->samples.slots[i].idx1; i = ct_hindex_next(&st->samples, i)) {
		ct_sample *s = &p->samples[st->samples.slots[i].idx1 - 1];
		if (st->samples.slots[i].hash == h &&
		    sample_key_equal(s, locs, nlocs, l, nlabels) && sample_add_values(p, s, values))
			return 0;
	}
	if (p->nsamples >= UINT32_MAX - 1)
		return -ENOMEM;
	int rc = ct_profile_add_sample(p, locs, nlocs, values, l, nlabels);
	if (rc == 0)
		ct_hindex_fill(&st->samples, i, h, (uint32_t)(p->nsamples - 1));
	return rc;
}

int ct_profile_add_comment(ct_profile *p, const char *comment)
{
	const char *c = ct_profile_str(p, comment);
	if (!c || CT_VEC_RESERVE(p->comments, p->store->cap_comments, p->ncomments + 1))
		return -ENOMEM;
	p->comments[p->ncomments++] = c;
	return 0;
}

int ct_profile_sample_index(const ct_profile *p, const char *type)
{
	for (uint32_t i = 0; i < p->nsample_types; i++) {
		if (!strcmp(p->sample_types[i].type, type))
			return (int)i;
	}
	return -1;
}
