/*
 * tree.c — the report's call tree (see report.h): its private store, adding profiles'
 * samples, and finishing it into pre-order nodes.
 *
 * Building a tree takes two steps, laid out so that no loop chases pointers per frame per
 * sample (a big profile has a million samples and a million tree nodes, far more than the
 * caches hold). ct_tree_add_profile resolves each location once into frame ids (inlined
 * frames expanded), then groups the samples by stack with a radix sort of their stacks'
 * hashes (profiles repeat stacks a lot: one sample per event), records each distinct
 * stack's frames root first and sums its values. ct_tree_finish ranks the frames by name,
 * sorts the distinct stacks by those ranks, root first (stacksort.h), and reads the tree
 * off the sorted list: a stack adds nodes only after the prefix it shares with the stack
 * before it, so nodes come out numbered in pre-order with children sorted by name, and no
 * node table is ever looked up. Values then go up in one backward pass. The price is
 * memory for the distinct stacks' frames until the tree is finished (at most what the
 * profile's own location arrays take, times its inlining).
 */
#include "libtrace/report.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/intern.h"
#include "libtrace/locname.h"
#include "libtrace/stacksort.h"
#include "libtrace/vec.h"

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
	char buf[CT_LOCNAME_MAX];
	size_t k = 0;
	for (uint32_t i = 0; i < p->nlocations; i++) {
		const ct_location *l = &p->locations[i];
		const char *module = "";
		if (l->mapping && l->mapping <= p->nmappings)
			module = ct_path_base(p->mappings[l->mapping - 1].filename);
		first[i] = (uint32_t)k;
		if (l->nlines == 0) {
			ids[k] = frame_id(t, ct_location_name(p, l, 0, buf, sizeof(buf)), "", 0,
					  module);
			if (ids[k++] == CT_TREE_NONE)
				goto err;
			continue;
		}
		for (uint32_t j = l->nlines; j-- > 0;) {
			const ct_line *ln = &l->lines[j];
			const char *file = ln->function < p->nfunctions
						   ? p->functions[ln->function].filename
						   : "";
			ids[k] = frame_id(t, ct_location_name(p, l, j, buf, sizeof(buf)),
					  file ? file : "", ln->line, module);
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

/* Ranks the frames by (name, file) and rewrites the stacks' frame ids as ranks;
 * *byrank_out[r] is the frame of rank r. 0 or -ENOMEM. */
static int rank_frames(ct_tree *t, uint32_t **byrank_out)
{
	struct ct_tree_store *s = t->store;
	uint32_t nf = t->nframes;
	uint32_t *byrank = malloc((nf ? nf : 1) * sizeof(*byrank)); /* rank → frame */
	uint32_t *rank = malloc((nf ? nf : 1) * sizeof(*rank));	    /* frame → rank */
	if (!byrank || !rank) {
		free(byrank);
		free(rank);
		return -ENOMEM;
	}
	for (uint32_t f = 0; f < nf; f++)
		byrank[f] = f;
	qsort_r(byrank, nf, sizeof(*byrank), cmp_frames, t);
	for (uint32_t r = 0; r < nf; r++)
		rank[byrank[r]] = r;
	for (size_t k = 0; k < s->nseq; k++)
		s->seq[k] = rank[s->seq[k]];
	free(rank);
	*byrank_out = byrank;
	return 0;
}

/* Sorted by ct_stacks_sort, the stacks list the tree's paths in pre-order with children
 * ordered by frame rank: each stack adds the nodes after the prefix it shares with the
 * one before. Makes those nodes with their self values and installs them in t.
 * 0, -ENOMEM or -EOVERFLOW. */
static int make_nodes(ct_tree *t, const uint32_t *byrank, const uint32_t *order,
		      const uint32_t *lcp)
{
	const struct ct_tree_store *s = t->store;
	uint32_t ns = s->nstacks, nc = t->ncols;
	size_t nn = 1, maxlen = 0;
	for (uint32_t i = 0; i < ns; i++) {
		size_t len = s->soff[order[i] + 1] - s->soff[order[i]];
		nn += len - lcp[i];
		maxlen = len > maxlen ? len : maxlen;
	}
	if (nn >= CT_TREE_NONE)
		return -EOVERFLOW;
	ct_tree_node *nodes = malloc(nn * sizeof(*nodes));
	int64_t *self = calloc(nn * nc, sizeof(*self));
	int64_t *cum = malloc(nn * nc * sizeof(*cum));
	uint32_t *path = malloc((maxlen + 1) * sizeof(*path));
	if (!nodes || !self || !cum || !path) {
		free(nodes);
		free(self);
		free(cum);
		free(path);
		return -ENOMEM;
	}
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
	free(path);
	free(t->nodes);
	t->nodes = nodes;
	t->nnodes = n;
	t->self = self;
	t->cum = cum;
	return 0;
}

/* Sums values up the tree and links the nodes (end, first_child, next_sibling), in one
 * backward pass: children follow their parent. */
static void sum_up(ct_tree *t)
{
	ct_tree_node *nodes = t->nodes;
	uint32_t n = t->nnodes, nc = t->ncols;
	memcpy(t->cum, t->self, (size_t)n * nc * sizeof(*t->cum));
	for (uint32_t i = 0; i < n; i++)
		nodes[i].end = i + 1;
	for (uint32_t i = n; i-- > 1;) {
		uint32_t up = nodes[i].parent;
		for (uint32_t c = 0; c < nc; c++)
			t->cum[(size_t)up * nc + c] += t->cum[(size_t)i * nc + c];
		if (nodes[i].end > nodes[up].end)
			nodes[up].end = nodes[i].end;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t e = nodes[i].end;
		nodes[i].first_child = i + 1 < n && nodes[i + 1].parent == i ? i + 1 : CT_TREE_NONE;
		nodes[i].next_sibling =
			i && e < n && nodes[e].parent == nodes[i].parent ? e : CT_TREE_NONE;
	}
}

int ct_tree_finish(ct_tree *t)
{
	struct ct_tree_store *s = t->store;
	if (s->finished)
		return 0;
	uint32_t ns = s->nstacks;
	uint32_t *byrank = NULL;
	uint32_t *order = malloc((ns ? ns : 1) * sizeof(*order));
	uint32_t *lcp = malloc((ns ? ns : 1) * sizeof(*lcp));
	int rc = order && lcp ? rank_frames(t, &byrank) : -ENOMEM;
	if (!rc)
		rc = ct_stacks_sort(s->seq, s->soff, ns, t->nframes, order, lcp);
	if (!rc)
		rc = make_nodes(t, byrank, order, lcp);
	if (!rc) {
		sum_up(t);
		free_stacks(s);
		s->finished = true;
	}
	free(byrank);
	free(order);
	free(lcp);
	return rc;
}
