/*
 * report.c — aggregation for the report views (see report.h): sample-type selection,
 * sample filters, the call tree and per-function flat/cum totals.
 *
 * Building a tree takes two steps, laid out so that no loop chases pointers per frame per
 * sample (a big profile has a million samples and a million tree nodes, far more than the
 * caches hold). ct_tree_add_profile resolves each location once into frame ids (inlined
 * frames expanded), then groups the samples by stack with a radix sort of their stacks'
 * hashes (profiles repeat stacks a lot: one sample per event), records each distinct
 * stack's frames root first and sums its values. ct_tree_finish ranks the frames by name,
 * sorts the distinct stacks by those ranks, root first, and reads the tree off the sorted
 * list: a stack adds nodes only after the prefix it shares with the stack before it, so
 * nodes come out numbered in pre-order with children sorted by name, and no node table is
 * ever looked up. Values then go up in one backward pass. The price is memory for the
 * distinct stacks' frames until the tree is finished (at most what the profile's own
 * location arrays take, times its inlining).
 */
#include "libtrace/report.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/intern.h"
#include "libtrace/vec.h"

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

/* ---- frame names shared by filters and trees ------------------------------------------ */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The name of a location without lines: "module+0xOFF" or "0xADDR", into buf. */
static const char *address_name(const ct_profile *p, const ct_location *l, char *buf, size_t len)
{
	if (l->mapping && l->mapping <= p->nmappings) {
		const ct_mapping *m = &p->mappings[l->mapping - 1];
		const char *b = base_name(m->filename);
		if (*b) {
			uint64_t off = l->address - m->memory_start + m->file_offset;
			snprintf(buf, len, "%s+0x%" PRIx64, b, off);
			return buf;
		}
	}
	snprintf(buf, len, "0x%" PRIx64, l->address);
	return buf;
}

/* The name of line k of location l (or of l itself when it has no lines). */
static const char *line_name(const ct_profile *p, const ct_location *l, uint32_t k, char *buf,
			     size_t len)
{
	if (k < l->nlines && l->lines[k].function < p->nfunctions) {
		const ct_function *f = &p->functions[l->lines[k].function];
		if (f->name && *f->name)
			return f->name;
		if (f->system_name && *f->system_name)
			return f->system_name;
	}
	return address_name(p, l, buf, len);
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
	char buf[128];
	for (uint32_t i = 0; i < p->nlocations; i++) {
		const ct_location *l = &p->locations[i];
		uint32_t n = l->nlines ? l->nlines : 1;
		for (uint32_t k = 0; k < n; k++) {
			if (regexec(re, line_name(p, l, k, buf, sizeof(buf)), 0, NULL, 0) == 0) {
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

/* ---- the tree's private store: strings, frames, distinct stacks ------------------------- */

struct ct_tree_store {
	ct_intern strs;	  /* the tree's strings */
	uint32_t *fslots; /* frame index + 1, keyed by (name, file) */
	uint32_t fcap;
	size_t frames_cap;
	/* The distinct stacks added so far, as frame ids root first, back to back: stack k
	 * is seq[soff[k] .. soff[k + 1]), and sval[k * ncols + c] sums its samples' values.
	 * ct_tree_finish turns them into nodes. */
	uint32_t *seq;
	size_t nseq, seq_cap;
	size_t *soff;
	int64_t *sval;
	size_t soff_cap, sval_cap;
	uint32_t nstacks;
	bool finished;
};

static uint64_t hash2(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

/* The tree's copy of str (equal strings give equal pointers), NULL on ENOMEM. */
static const char *intern(ct_tree *t, const char *str)
{
	return ct_intern_str(&t->store->strs, str);
}

static uint32_t frame_slot(const ct_frame *fr, uint32_t cap)
{
	return (uint32_t)hash2((uintptr_t)fr->name, (uintptr_t)fr->file) & (cap - 1);
}

static int grow_frames(ct_tree *t)
{
	struct ct_tree_store *s = t->store;
	if (CT_VEC_RESERVE(t->frames, s->frames_cap, (size_t)t->nframes + 1))
		return -ENOMEM;
	if ((t->nframes + 1) * 2 > s->fcap) {
		uint32_t cap = s->fcap ? s->fcap * 2 : 512;
		uint32_t *n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (uint32_t i = 0; i < t->nframes; i++) {
			uint32_t j = frame_slot(&t->frames[i], cap);
			while (n[j])
				j = (j + 1) & (cap - 1);
			n[j] = i + 1;
		}
		free(s->fslots);
		s->fslots = n;
		s->fcap = cap;
	}
	return 0;
}

/* The frame (name, file), created with line and module when new; CT_TREE_NONE on ENOMEM. */
static uint32_t frame_id(ct_tree *t, const char *name, const char *file, int64_t line,
			 const char *module)
{
	if (grow_frames(t))
		return CT_TREE_NONE;
	const char *n = intern(t, name), *f = intern(t, file);
	if (!n || !f)
		return CT_TREE_NONE;
	struct ct_tree_store *s = t->store;
	ct_frame key = {.name = n, .file = f};
	uint32_t j = frame_slot(&key, s->fcap);
	for (; s->fslots[j]; j = (j + 1) & (s->fcap - 1)) {
		ct_frame *fr = &t->frames[s->fslots[j] - 1];
		if (fr->name == n && fr->file == f) {
			if (!fr->line)
				fr->line = line;
			return s->fslots[j] - 1;
		}
	}
	const char *m = intern(t, module);
	if (!m)
		return CT_TREE_NONE;
	key.line = line;
	key.module = m;
	t->frames[t->nframes] = key;
	s->fslots[j] = ++t->nframes;
	return t->nframes - 1;
}

ct_tree *ct_tree_new(uint32_t ncols, const char *const *types, const char *const *units)
{
	ct_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols ? ncols : 1;
	t->store = calloc(1, sizeof(*t->store));
	t->cols = calloc(t->ncols, sizeof(*t->cols));
	t->nodes = malloc(sizeof(*t->nodes));
	if (!t->store || !t->cols || !t->nodes)
		goto err;
	ct_intern_init(&t->store->strs, true);
	if (!(t->store->soff = calloc(1, sizeof(*t->store->soff))))
		goto err;
	t->store->soff_cap = 1;
	for (uint32_t c = 0; c < ncols; c++) {
		t->cols[c].type = intern(t, types && types[c] ? types[c] : "");
		t->cols[c].unit = intern(t, units && units[c] ? units[c] : "");
		if (!t->cols[c].type || !t->cols[c].unit)
			goto err;
	}
	if (ncols == 0 && !(t->cols[0].type = t->cols[0].unit = intern(t, "")))
		goto err;
	t->nodes[0] = (ct_tree_node){.parent = CT_TREE_NONE, .frame = CT_TREE_NONE};
	t->nnodes = 1;
	return t;
err:
	ct_tree_free(t);
	return NULL;
}

/* Drops the distinct stacks, once ct_tree_finish has made nodes of them. */
static void free_stacks(struct ct_tree_store *s)
{
	free(s->seq);
	free(s->soff);
	free(s->sval);
	s->seq = NULL;
	s->soff = NULL;
	s->sval = NULL;
	s->seq_cap = s->soff_cap = s->sval_cap = 0;
}

void ct_tree_free(ct_tree *t)
{
	if (!t)
		return;
	if (t->store) {
		ct_intern_free(&t->store->strs);
		free(t->store->fslots);
		free_stacks(t->store);
		free(t->store);
	}
	free(t->nodes);
	free(t->cols);
	free(t->cum);
	free(t->self);
	free(t->frames);
	free(t);
}

/* Resolves every location of p into its frames, outermost (inlined caller) first:
 * the frames of location i are ids[first[i] .. first[i + 1]). */
static int resolve_locations(ct_tree *t, const ct_profile *p, uint32_t **first_out,
			     uint32_t **ids_out)
{
	size_t total = 0;
	for (uint32_t i = 0; i < p->nlocations; i++)
		total += p->locations[i].nlines ? p->locations[i].nlines : 1;
	uint32_t *first = malloc((p->nlocations + 1) * sizeof(*first));
	uint32_t *ids = malloc((total ? total : 1) * sizeof(*ids));
	if (!first || !ids)
		goto err;
	char buf[128];
	size_t k = 0;
	for (uint32_t i = 0; i < p->nlocations; i++) {
		const ct_location *l = &p->locations[i];
		const char *module = "";
		if (l->mapping && l->mapping <= p->nmappings)
			module = base_name(p->mappings[l->mapping - 1].filename);
		first[i] = (uint32_t)k;
		if (l->nlines == 0) {
			ids[k] = frame_id(t, address_name(p, l, buf, sizeof(buf)), "", 0, module);
			if (ids[k++] == CT_TREE_NONE)
				goto err;
			continue;
		}
		for (uint32_t j = l->nlines; j-- > 0;) {
			const ct_line *ln = &l->lines[j];
			const char *file = ln->function < p->nfunctions
						   ? p->functions[ln->function].filename
						   : "";
			ids[k] = frame_id(t, line_name(p, l, j, buf, sizeof(buf)), file ? file : "",
					  ln->line, module);
			if (ids[k++] == CT_TREE_NONE)
				goto err;
		}
	}
	first[p->nlocations] = (uint32_t)k;
	*first_out = first;
	*ids_out = ids;
	return 0;
err:
	free(first);
	free(ids);
	return -ENOMEM;
}

/* ---- adding samples: distinct stacks --------------------------------------------------- */

/* Finding each sample's distinct stack is the hot loop of building a tree: a million
 * samples for a big profile. A hash table of stacks costs a cache miss or two per sample
 * once the stacks outgrow the caches, so there is none: each sample gets a key (the high
 * half of its location array's hash, then its index), the keys are radix-sorted, and the
 * samples of one stack come out next to each other, each one checked against the one
 * before it. The loops are sequential but for that check, whose reads are prefetched a
 * few samples ahead. Two different stacks with the same hash half may alternate in a run
 * and so be recorded more than once; ct_tree_finish merges such twins (rare: a 32-bit
 * collision) like any stacks with equal frames. */
static uint64_t hash_locs(const uint32_t *locs, uint32_t n)
{
	uint64_t h = n;
	for (uint32_t i = 0; i < n; i++)
		h = ((h << 5 | h >> 59) ^ locs[i]) * 0x9e3779b97f4a7c15ull;
	return hash2(h, n);
}

enum { RADIX_BITS = 11, PREFETCH = 8 };

/* Sorts n keys by their high 32 bits, stably (least significant digit first, RADIX_BITS a
 * pass); tmp has room for n keys. Returns the array holding the result (keys or tmp). */
static uint64_t *sort_keys(uint64_t *keys, uint64_t *tmp, size_t n)
{
	for (unsigned shift = 32; shift < 64; shift += RADIX_BITS) {
		size_t count[1u << RADIX_BITS] = {0}, sum = 0;
		uint64_t mask = (1u << RADIX_BITS) - 1;
		for (size_t i = 0; i < n; i++)
			count[keys[i] >> shift & mask]++;
		for (size_t d = 0; d <= mask; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[keys[i] >> shift & mask]++] = keys[i];
		uint64_t *swap = keys;
		keys = tmp;
		tmp = swap;
	}
	return keys;
}

static int grow_stacks(ct_tree *t, size_t nframes)
{
	struct ct_tree_store *s = t->store;
	if (s->nstacks >= 1u << 30 ||
	    CT_VEC_RESERVE(s->soff, s->soff_cap, (size_t)s->nstacks + 2) ||
	    CT_VEC_RESERVE(s->sval, s->sval_cap, ((size_t)s->nstacks + 1) * t->ncols) ||
	    CT_VEC_RESERVE(s->seq, s->seq_cap, s->nseq + nframes))
		return -ENOMEM;
	return 0;
}

/* Records the stack of sample smp (its frames, root first) as a new distinct stack with
 * zero values, into *out. 0, -ENOMEM, or -EINVAL when smp names a location p lacks. */
static int new_stack(ct_tree *t, const ct_profile *p, const uint32_t *first, const uint32_t *ids,
		     const ct_sample *smp, uint32_t *unknown, uint32_t *out)
{
	struct ct_tree_store *s = t->store;
	size_t n = 0;
	for (uint32_t k = 0; k < smp->nlocs; k++) {
		if (smp->locs[k] >= p->nlocations)
			return -EINVAL;
		n += first[smp->locs[k] + 1] - first[smp->locs[k]];
	}
	if (smp->nlocs == 0) {
		if (*unknown == CT_TREE_NONE)
			*unknown = frame_id(t, "[unknown]", "", 0, "");
		if (*unknown == CT_TREE_NONE)
			return -ENOMEM;
		n = 1;
	}
	if (grow_stacks(t, n))
		return -ENOMEM;
	uint32_t *q = s->seq + s->nseq;
	if (smp->nlocs == 0)
		*q = *unknown;
	for (uint32_t k = smp->nlocs; k-- > 0;) {
		uint32_t loc = smp->locs[k];
		for (uint32_t j = first[loc]; j < first[loc + 1]; j++)
			*q++ = ids[j];
	}
	s->nseq += n;
	uint32_t k = s->nstacks++;
	s->soff[k + 1] = s->nseq;
	memset(&s->sval[(size_t)k * t->ncols], 0, t->ncols * sizeof(*s->sval));
	*out = k;
	return 0;
}

/* Whether sample s counts: a used value is nonzero and the filter keeps it. */
static bool sample_kept(const ct_sample *s, const int *value_index, uint32_t nc, const ct_filter *f)
{
	bool any = false;
	for (uint32_t c = 0; c < nc; c++)
		any |= value_index[c] >= 0 && s->values[value_index[c]] != 0;
	return any && ct_filter_keep(f, s);
}

static bool same_locs(const ct_sample *a, const ct_sample *b)
{
	return a->nlocs == b->nlocs &&
	       (a->nlocs == 0 || memcmp(a->locs, b->locs, a->nlocs * sizeof(*a->locs)) == 0);
}

int ct_tree_add_profile(ct_tree *t, const ct_profile *p, const ct_filter *f, const int *value_index)
{
	struct ct_tree_store *st = t->store;
	uint32_t nc = t->ncols;
	size_t n = p->nsamples, m = 0;
	if (st->finished)
		return -EINVAL;
	for (uint32_t c = 0; c < nc; c++)
		if (value_index[c] >= (int)p->nsample_types)
			return -EINVAL;
	if (n > UINT32_MAX) /* the index must fit in a key's low half */
		return -EOVERFLOW;
	uint32_t *first = NULL, *ids = NULL;
	uint64_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	uint64_t *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	int rc = -ENOMEM;
	if (!keys || !tmp || resolve_locations(t, p, &first, &ids))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const ct_sample *s = &p->samples[i];
		if (sample_kept(s, value_index, nc, f))
			keys[m++] = (hash_locs(s->locs, s->nlocs) & ~(uint64_t)UINT32_MAX) | i;
	}
	const uint64_t *sorted = sort_keys(keys, tmp, m);
	uint32_t k = 0, unknown = CT_TREE_NONE;
	rc = 0;
	for (size_t j = 0; j < m; j++) {
		if (j + 2 * PREFETCH < m)
			__builtin_prefetch(&p->samples[(uint32_t)sorted[j + 2 * PREFETCH]]);
		if (j + PREFETCH < m) {
			const ct_sample *ahead = &p->samples[(uint32_t)sorted[j + PREFETCH]];
			__builtin_prefetch(ahead->locs);
			__builtin_prefetch(ahead->values);
		}
		const ct_sample *s = &p->samples[(uint32_t)sorted[j]];
		if (j == 0 || (sorted[j] ^ sorted[j - 1]) >> 32 ||
		    !same_locs(s, &p->samples[(uint32_t)sorted[j - 1]])) {
			if ((rc = new_stack(t, p, first, ids, s, &unknown, &k)))
				break;
		}
		int64_t *v = &st->sval[(size_t)k * nc];
		for (uint32_t c = 0; c < nc; c++)
			if (value_index[c] >= 0)
				v[c] += s->values[value_index[c]];
		t->nsamples++;
	}
out:
	free(keys);
	free(tmp);
	free(first);
	free(ids);
	return rc;
}

/* ---- finishing: the distinct stacks, sorted, become a pre-order tree -------------------- */

static int cmp_frames(const void *a, const void *b, void *arg)
{
	const ct_tree *t = arg;
	const ct_frame *fa = &t->frames[*(const uint32_t *)a],
		       *fb = &t->frames[*(const uint32_t *)b];
	int c = strcmp(fa->name, fb->name);
	return c ? c : strcmp(fa->file, fb->file);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Puts the ns stacks (their frames already turned into ranks) into order: root-first
 * lexicographic, a stack before the stacks it is a prefix of; lcp[i] is how many frames
 * order[i] shares with order[i - 1]. A radix sort, most significant frame first but one
 * level at a time for all groups: the stacks that share their first d frames form a group
 * at positions [lo, lo + size) of the result; at level d each group is split by frame d
 * (the digit: rank + 1, or 0 for a stack that ends there, which sorts first) with a
 * counting sort over the digits that occur in it, and a subgroup that ended or holds one
 * stack is placed for good. Each level reads one frame per stack still in a group, so the
 * work is the stacks' distinguishing prefixes, where a comparison sort would re-read
 * shared prefixes at every comparison. */
typedef struct {
	const uint32_t *r; /* the stack's ranks */
	uint32_t len, k;   /* its length and index */
	uint32_t lo;	   /* where its group starts in the result */
	uint32_t digit;
} sort_item;

static int sort_stacks(const struct ct_tree_store *s, uint32_t nf, uint32_t *order, uint32_t *lcp)
{
	uint32_t ns = s->nstacks, n = ns;
	sort_item *it = malloc((ns ? ns : 1) * sizeof(*it)),
		  *tmp = malloc((ns ? ns : 1) * sizeof(*tmp));
	uint32_t *cnt = calloc((size_t)nf + 1, sizeof(*cnt));
	uint32_t *seen = malloc(((size_t)nf + 1) * sizeof(*seen));
	int rc = -ENOMEM;
	if (!it || !tmp || !cnt || !seen)
		goto out;
	if (ns)
		lcp[0] = 0;
	for (uint32_t i = 0; i < ns; i++)
		it[i] = (sort_item){.r = s->seq + s->soff[i],
				    .len = (uint32_t)(s->soff[i + 1] - s->soff[i]),
				    .k = i};
	for (uint32_t d = 0; n; d++) {
		for (uint32_t i = 0; i < n; i++)
			it[i].digit = d < it[i].len ? it[i].r[d] + 1 : 0;
		uint32_t next = 0; /* the stacks still grouped, rewritten in place */
		for (uint32_t a = 0, b; a < n; a = b) {
			uint32_t nseen = 0;
			for (b = a; b < n && it[b].lo == it[a].lo; b++)
				if (cnt[it[b].digit]++ == 0)
					seen[nseen++] = it[b].digit;
			qsort(seen, nseen, sizeof(*seen), cmp_u32);
			for (uint32_t j = 0, sum = a; j < nseen; j++) {
				uint32_t c = cnt[seen[j]];
				cnt[seen[j]] = sum;
				sum += c;
			}
			for (uint32_t i = a; i < b; i++)
				tmp[cnt[it[i].digit]++] = it[i];
			for (uint32_t j = 0; j < nseen; j++)
				cnt[seen[j]] = 0;
			/* Runs of one digit are the subgroups; tmp[i] goes to position lo + i - a.
			 * A run shares d frames with the one before it; the first run, what its
			 * group shared with the stack before the group. */
			uint32_t base = it[a].lo;
			for (uint32_t r = a, e; r < b; r = e) {
				for (e = r + 1; e < b && tmp[e].digit == tmp[r].digit;)
					e++;
				if (r > a)
					lcp[base + r - a] = d;
				for (uint32_t i = r; i < e; i++) {
					if (i > r && tmp[r].digit == 0)
						lcp[base + i - a] = d; /* the same stack again */
					if (tmp[r].digit == 0 || e - r == 1) {
						order[base + i - a] = tmp[i].k;
					} else {
						it[next] = tmp[i];
						it[next++].lo = base + r - a;
					}
				}
			}
		}
		n = next;
	}
	rc = 0;
out:
	free(it);
	free(tmp);
	free(cnt);
	free(seen);
	return rc;
}

/* Sorted that way, the stacks list the tree's paths in pre-order with children ordered by
 * frame rank: each stack adds the nodes after the prefix it shares with the one before. */
int ct_tree_finish(ct_tree *t)
{
	struct ct_tree_store *s = t->store;
	if (s->finished)
		return 0;
	uint32_t nf = t->nframes, ns = s->nstacks, nc = t->ncols;
	uint32_t *byrank = malloc((nf ? nf : 1) * sizeof(*byrank)); /* rank → frame */
	uint32_t *rank = malloc((nf ? nf : 1) * sizeof(*rank));	    /* frame → rank */
	uint32_t *order = malloc((ns ? ns : 1) * sizeof(*order));
	uint32_t *lcp = malloc((ns ? ns : 1) * sizeof(*lcp));
	uint32_t *path = NULL;
	ct_tree_node *nodes = NULL;
	int64_t *self = NULL, *cum = NULL;
	int rc = -ENOMEM;
	if (!byrank || !rank || !order || !lcp)
		goto out;
	for (uint32_t f = 0; f < nf; f++)
		byrank[f] = f;
	qsort_r(byrank, nf, sizeof(*byrank), cmp_frames, t);
	for (uint32_t r = 0; r < nf; r++)
		rank[byrank[r]] = r;
	for (size_t k = 0; k < s->nseq; k++)
		s->seq[k] = rank[s->seq[k]];
	if (sort_stacks(s, nf, order, lcp))
		goto out;
	size_t nn = 1, maxlen = 0;
	for (uint32_t i = 0; i < ns; i++) {
		size_t len = s->soff[order[i] + 1] - s->soff[order[i]];
		nn += len - lcp[i];
		maxlen = len > maxlen ? len : maxlen;
	}
	if (nn >= CT_TREE_NONE) {
		rc = -EOVERFLOW;
		goto out;
	}
	nodes = malloc(nn * sizeof(*nodes));
	self = calloc(nn * nc, sizeof(*self));
	cum = malloc(nn * nc * sizeof(*cum));
	path = malloc((maxlen + 1) * sizeof(*path));
	if (!nodes || !self || !cum || !path)
		goto out;
	nodes[0] = (ct_tree_node){.parent = CT_TREE_NONE, .frame = CT_TREE_NONE};
	path[0] = 0;
	uint32_t n = 1;
	for (uint32_t i = 0; i < ns; i++) {
		uint32_t k = order[i];
		const uint32_t *r = s->seq + s->soff[k];
		size_t len = s->soff[k + 1] - s->soff[k];
		for (size_t d = lcp[i]; d < len; d++) {
			nodes[n] = (ct_tree_node){
				.parent = path[d], .frame = byrank[r[d]], .depth = (uint32_t)d + 1};
			path[d + 1] = n++;
		}
		int64_t *dst = &self[(size_t)path[len] * nc];
		const int64_t *src = &s->sval[(size_t)k * nc];
		for (uint32_t c = 0; c < nc; c++)
			dst[c] += src[c];
	}
	assert(n == nn);
	/* Values and subtree ends go up in one backward pass: children follow their parent. */
	memcpy(cum, self, nn * nc * sizeof(*cum));
	for (uint32_t i = 0; i < n; i++)
		nodes[i].end = i + 1;
	for (uint32_t i = n; i-- > 1;) {
		uint32_t up = nodes[i].parent;
		for (uint32_t c = 0; c < nc; c++)
			cum[(size_t)up * nc + c] += cum[(size_t)i * nc + c];
		if (nodes[i].end > nodes[up].end)
			nodes[up].end = nodes[i].end;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t e = nodes[i].end;
		nodes[i].first_child = i + 1 < n && nodes[i + 1].parent == i ? i + 1 : CT_TREE_NONE;
		nodes[i].next_sibling =
			i && e < n && nodes[e].parent == nodes[i].parent ? e : CT_TREE_NONE;
	}
	free(t->nodes);
	t->nodes = nodes;
	t->nnodes = n;
	t->self = self;
	t->cum = cum;
	nodes = NULL;
	self = cum = NULL;
	free_stacks(s);
	s->finished = true;
	rc = 0;
out:
	free(byrank);
	free(rank);
	free(order);
	free(lcp);
	free(path);
	free(nodes);
	free(self);
	free(cum);
	return rc;
}

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
	if (rc) {
		ct_tree_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* ---- per-function totals -------------------------------------------------------------- */

static int cmp_top(const void *a, const void *b, void *arg)
{
	const ct_tree *t = arg;
	const ct_top_entry *x = a, *y = b;
	if (x->flat != y->flat)
		return x->flat > y->flat ? -1 : 1;
	if (x->cum != y->cum)
		return x->cum > y->cum ? -1 : 1;
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
