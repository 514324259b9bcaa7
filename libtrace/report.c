/*
 * report.c — aggregation for the report views (see report.h): sample-type selection,
 * sample filters, the call tree and per-function flat/cum totals.
 *
 * Building a tree costs one hash lookup per frame per sample: each location's frames are
 * resolved once into an array of frame ids (inlined frames expanded), and a sample walks
 * them root first through an open-addressing table keyed by (parent node, frame). Values
 * are added at the leaf only ("self"); ct_tree_finish sums them upwards in one backward
 * pass (a child is always created after its parent), then renumbers nodes in pre-order
 * with children sorted by name.
 */
#include "libtrace/report.h"

#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- the tree's private store: strings, frame and node hash tables -------------------- */

typedef struct {
	uint32_t parent, frame;
	uint32_t node; /* index + 1; 0 marks an empty slot */
} node_entry;

struct ct_tree_store {
	char **blocks; /* string arena blocks */
	size_t nblocks;
	char *cur;
	size_t left;
	const char **strs; /* intern table (open addressing) */
	uint32_t strs_cap, nstrs;
	uint32_t *fslots; /* frame index + 1, keyed by (name, file) */
	uint32_t fcap;
	node_entry *nslots; /* keyed by (parent, frame); keys kept in the slot so a lookup
			     * touches one cache line, not the node array too */
	uint32_t ncap;
	uint32_t frames_cap, nodes_cap;
	bool finished;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static uint64_t hash2(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static char *arena_alloc(struct ct_tree_store *s, size_t n)
{
	if (n > s->left) {
		size_t size = n > 65536 ? n : 65536;
		char **b = realloc(s->blocks, (s->nblocks + 1) * sizeof(*b));
		if (!b)
			return NULL;
		s->blocks = b;
		if (!(b[s->nblocks] = malloc(size)))
			return NULL;
		s->cur = b[s->nblocks++];
		s->left = size;
	}
	char *r = s->cur;
	s->cur += n;
	s->left -= n;
	return r;
}

static int grow_strs(struct ct_tree_store *s)
{
	uint32_t cap = s->strs_cap ? s->strs_cap * 2 : 256;
	const char **n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->strs_cap; i++) {
		if (!s->strs[i])
			continue;
		uint32_t j = (uint32_t)hash_str(s->strs[i]) & (cap - 1);
		while (n[j])
			j = (j + 1) & (cap - 1);
		n[j] = s->strs[i];
	}
	free(s->strs);
	s->strs = n;
	s->strs_cap = cap;
	return 0;
}

/* The tree's copy of str (equal strings give equal pointers), NULL on ENOMEM. */
static const char *intern(ct_tree *t, const char *str)
{
	struct ct_tree_store *s = t->store;
	if ((s->nstrs + 1) * 2 > s->strs_cap && grow_strs(s))
		return NULL;
	uint32_t j = (uint32_t)hash_str(str) & (s->strs_cap - 1);
	while (s->strs[j]) {
		if (strcmp(s->strs[j], str) == 0)
			return s->strs[j];
		j = (j + 1) & (s->strs_cap - 1);
	}
	size_t len = strlen(str) + 1;
	char *c = arena_alloc(s, len);
	if (!c)
		return NULL;
	memcpy(c, str, len);
	s->strs[j] = c;
	s->nstrs++;
	return c;
}

static uint32_t frame_slot(const ct_frame *fr, uint32_t cap)
{
	return (uint32_t)hash2((uintptr_t)fr->name, (uintptr_t)fr->file) & (cap - 1);
}

static int grow_frames(ct_tree *t)
{
	struct ct_tree_store *s = t->store;
	if (t->nframes == s->frames_cap) {
		uint32_t cap = s->frames_cap ? s->frames_cap * 2 : 256;
		ct_frame *f = realloc(t->frames, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		t->frames = f;
		s->frames_cap = cap;
	}
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

static uint32_t node_slot(uint32_t parent, uint32_t frame, uint32_t cap)
{
	return (uint32_t)hash2(parent, frame) & (cap - 1);
}

static int grow_nodes(ct_tree *t)
{
	struct ct_tree_store *s = t->store;
	if (t->nnodes == s->nodes_cap) {
		uint32_t cap = s->nodes_cap * 2;
		ct_tree_node *n = realloc(t->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->nodes = n;
		int64_t *v = realloc(t->self, (size_t)cap * t->ncols * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->self = v;
		s->nodes_cap = cap;
	}
	if ((t->nnodes + 1) * 2 > s->ncap) {
		uint32_t cap = s->ncap * 2;
		node_entry *n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (uint32_t k = 0; k < s->ncap; k++) {
			if (!s->nslots[k].node)
				continue;
			uint32_t j = node_slot(s->nslots[k].parent, s->nslots[k].frame, cap);
			while (n[j].node)
				j = (j + 1) & (cap - 1);
			n[j] = s->nslots[k];
		}
		free(s->nslots);
		s->nslots = n;
		s->ncap = cap;
	}
	return 0;
}

/* The child of parent for frame, created when new; CT_TREE_NONE on ENOMEM. */
static uint32_t child(ct_tree *t, uint32_t parent, uint32_t frame)
{
	struct ct_tree_store *s = t->store;
	uint32_t j = node_slot(parent, frame, s->ncap);
	for (; s->nslots[j].node; j = (j + 1) & (s->ncap - 1))
		if (s->nslots[j].parent == parent && s->nslots[j].frame == frame)
			return s->nslots[j].node - 1;
	if (grow_nodes(t))
		return CT_TREE_NONE;
	j = node_slot(parent, frame, s->ncap);
	while (s->nslots[j].node)
		j = (j + 1) & (s->ncap - 1);
	uint32_t i = t->nnodes++;
	t->nodes[i] = (ct_tree_node){.parent = parent, .frame = frame};
	memset(&t->self[(size_t)i * t->ncols], 0, t->ncols * sizeof(int64_t));
	s->nslots[j] = (node_entry){.parent = parent, .frame = frame, .node = i + 1};
	return i;
}

ct_tree *ct_tree_new(uint32_t ncols, const char *const *types, const char *const *units)
{
	ct_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols ? ncols : 1;
	t->store = calloc(1, sizeof(*t->store));
	t->cols = calloc(t->ncols, sizeof(*t->cols));
	t->nodes = malloc(1024 * sizeof(*t->nodes));
	t->self = calloc((size_t)1024 * t->ncols, sizeof(*t->self));
	if (!t->store || !t->cols || !t->nodes || !t->self)
		goto err;
	t->store->nodes_cap = 1024;
	t->store->ncap = 2048;
	if (!(t->store->nslots = calloc(t->store->ncap, sizeof(node_entry))))
		goto err;
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

void ct_tree_free(ct_tree *t)
{
	if (!t)
		return;
	if (t->store) {
		for (size_t i = 0; i < t->store->nblocks; i++)
			free(t->store->blocks[i]);
		free(t->store->blocks);
		free(t->store->strs);
		free(t->store->fslots);
		free(t->store->nslots);
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

/* The leaf node of sample s, created with its path when new; CT_TREE_NONE on ENOMEM,
 * with *bad set when the sample names a location that does not exist. */
static uint32_t walk(ct_tree *t, const ct_profile *p, const uint32_t *first, const uint32_t *ids,
		     const ct_sample *s, uint32_t *unknown, bool *bad)
{
	uint32_t node = 0;
	if (s->nlocs == 0) {
		if (*unknown == CT_TREE_NONE)
			*unknown = frame_id(t, "[unknown]", "", 0, "");
		return *unknown == CT_TREE_NONE ? CT_TREE_NONE : child(t, 0, *unknown);
	}
	for (uint32_t k = s->nlocs; k-- > 0 && node != CT_TREE_NONE;) {
		uint32_t loc = s->locs[k];
		if (loc >= p->nlocations) {
			*bad = true;
			return CT_TREE_NONE;
		}
		for (uint32_t j = first[loc]; j < first[loc + 1] && node != CT_TREE_NONE; j++)
			node = child(t, node, ids[j]);
	}
	return node;
}

/* Remembers the leaf node of each distinct stack, so that the many samples of a hot stack
 * cost one hash of their location array instead of a walk from the root (profiles that
 * keep one sample per event repeat stacks a lot). Bounded: past MEMO_MAX_SLOTS / 2
 * distinct stacks new ones are walked without being remembered. */
enum { MEMO_MAX_SLOTS = 1u << 22 };

typedef struct {
	uint32_t *slots; /* sample index + 1 of the stack's first sample; 0 empty */
	uint32_t *leaf;
	uint32_t cap, n;
} stack_memo;

static uint32_t hash_stack(const ct_sample *s)
{
	uint64_t h = s->nlocs;
	for (uint32_t i = 0; i < s->nlocs; i++) {
		h = (h + s->locs[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	return (uint32_t)hash2(h, s->nlocs);
}

static bool same_stack(const ct_sample *a, const ct_sample *b)
{
	return a->nlocs == b->nlocs && memcmp(a->locs, b->locs, a->nlocs * sizeof(*a->locs)) == 0;
}

int ct_tree_add_profile(ct_tree *t, const ct_profile *p, const ct_filter *f, const int *value_index)
{
	if (t->store->finished)
		return -EINVAL;
	for (uint32_t c = 0; c < t->ncols; c++)
		if (value_index[c] >= (int)p->nsample_types)
			return -EINVAL;
	uint32_t *first, *ids;
	if (resolve_locations(t, p, &first, &ids))
		return -ENOMEM;
	stack_memo memo = {0};
	for (memo.cap = 16; memo.cap < MEMO_MAX_SLOTS && memo.cap < 2 * p->nsamples;)
		memo.cap *= 2;
	memo.slots = calloc(memo.cap, sizeof(*memo.slots));
	memo.leaf = malloc(memo.cap * sizeof(*memo.leaf));
	uint32_t unknown = CT_TREE_NONE;
	int rc = memo.slots && memo.leaf ? 0 : -ENOMEM;
	for (size_t i = 0; i < p->nsamples && !rc; i++) {
		const ct_sample *s = &p->samples[i];
		bool any = false, bad = false;
		for (uint32_t c = 0; c < t->ncols; c++)
			any |= value_index[c] >= 0 && s->values[value_index[c]] != 0;
		if (!any || !ct_filter_keep(f, s))
			continue;
		uint32_t j = hash_stack(s) & (memo.cap - 1), node = CT_TREE_NONE;
		for (; memo.slots[j]; j = (j + 1) & (memo.cap - 1)) {
			if (same_stack(&p->samples[memo.slots[j] - 1], s)) {
				node = memo.leaf[j];
				break;
			}
		}
		if (node == CT_TREE_NONE) {
			node = walk(t, p, first, ids, s, &unknown, &bad);
			if (node == CT_TREE_NONE) {
				rc = bad ? -EINVAL : -ENOMEM;
				break;
			}
			if ((memo.n + 1) * 2 <= memo.cap && i < UINT32_MAX) {
				memo.slots[j] = (uint32_t)i + 1;
				memo.leaf[j] = node;
				memo.n++;
			}
		}
		int64_t *self = &t->self[(size_t)node * t->ncols];
		for (uint32_t c = 0; c < t->ncols; c++)
			if (value_index[c] >= 0)
				self[c] += s->values[value_index[c]];
		t->nsamples++;
	}
	free(memo.slots);
	free(memo.leaf);
	free(first);
	free(ids);
	return rc;
}

/* ---- finishing: cum values, sorted children, pre-order numbering ----------------------- */

static int cmp_children(const void *a, const void *b, void *arg)
{
	const ct_tree *t = arg;
	const ct_tree_node *na = &t->nodes[*(const uint32_t *)a];
	const ct_tree_node *nb = &t->nodes[*(const uint32_t *)b];
	const ct_frame *fa = &t->frames[na->frame], *fb = &t->frames[nb->frame];
	int c = strcmp(fa->name, fb->name);
	if (!c)
		c = strcmp(fa->file, fb->file);
	return c;
}

int ct_tree_finish(ct_tree *t)
{
	if (t->store->finished)
		return 0;
	uint32_t n = t->nnodes, nc = t->ncols;
	int64_t *cum = malloc((size_t)n * nc * sizeof(*cum));
	uint32_t *start = calloc(n + 1, sizeof(*start)); /* CSR child lists */
	uint32_t *kids = malloc(n * sizeof(*kids));
	uint32_t *order = malloc(n * sizeof(*order)); /* new index → old */
	uint32_t *renum = malloc(n * sizeof(*renum)); /* old index → new */
	uint32_t *stack = malloc(n * sizeof(*stack));
	ct_tree_node *nodes = malloc(n * sizeof(*nodes));
	int64_t *self = malloc((size_t)n * nc * sizeof(*self));
	int64_t *cum2 = malloc((size_t)n * nc * sizeof(*cum2));
	int rc = -ENOMEM;
	if (!cum || !start || !kids || !order || !renum || !stack || !nodes || !self || !cum2)
		goto out;
	memcpy(cum, t->self, (size_t)n * nc * sizeof(*cum));
	for (uint32_t i = n; i-- > 1;)
		for (uint32_t c = 0; c < nc; c++)
			cum[(size_t)t->nodes[i].parent * nc + c] += cum[(size_t)i * nc + c];
	for (uint32_t i = 1; i < n; i++)
		start[t->nodes[i].parent + 1]++;
	for (uint32_t i = 0; i < n; i++)
		start[i + 1] += start[i];
	uint32_t *fill = renum; /* borrowed as insertion cursors until numbering */
	memcpy(fill, start, n * sizeof(*fill));
	for (uint32_t i = 1; i < n; i++)
		kids[fill[t->nodes[i].parent]++] = i;
	for (uint32_t i = 0; i < n; i++)
		if (start[i + 1] - start[i] > 1)
			qsort_r(kids + start[i], start[i + 1] - start[i], sizeof(*kids),
				cmp_children, t);
	/* Pre-order: pop a node, emit it, push its children in reverse order. */
	uint32_t sp = 0, k = 0;
	stack[sp++] = 0;
	while (sp) {
		uint32_t i = stack[--sp];
		order[k++] = i;
		for (uint32_t j = start[i + 1]; j-- > start[i];)
			stack[sp++] = kids[j];
	}
	for (uint32_t i = 0; i < n; i++)
		renum[order[i]] = i;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t old = order[i];
		const ct_tree_node *o = &t->nodes[old];
		ct_tree_node *d = &nodes[i];
		d->parent = o->parent == CT_TREE_NONE ? CT_TREE_NONE : renum[o->parent];
		d->frame = o->frame;
		d->depth = i ? nodes[d->parent].depth + 1 : 0;
		d->first_child =
			start[old + 1] > start[old] ? renum[kids[start[old]]] : CT_TREE_NONE;
		d->next_sibling = CT_TREE_NONE;
		memcpy(&self[(size_t)i * nc], &t->self[(size_t)old * nc], nc * sizeof(*self));
		memcpy(&cum2[(size_t)i * nc], &cum[(size_t)old * nc], nc * sizeof(*cum2));
	}
	/* end: a subtree ends where the next node at the same or a shallower depth starts. */
	sp = 0;
	for (uint32_t i = 0; i < n; i++) {
		while (sp && nodes[stack[sp - 1]].depth >= nodes[i].depth) {
			uint32_t j = stack[--sp];
			nodes[j].end = i;
			if (nodes[j].depth == nodes[i].depth)
				nodes[j].next_sibling = i;
		}
		stack[sp++] = i;
	}
	while (sp)
		nodes[stack[--sp]].end = n;
	free(t->nodes);
	free(t->self);
	t->nodes = nodes;
	t->self = self;
	t->cum = cum2;
	nodes = NULL;
	self = cum2 = NULL;
	free(t->store->nslots);
	t->store->nslots = NULL;
	t->store->finished = true;
	rc = 0;
out:
	free(cum);
	free(start);
	free(kids);
	free(order);
	free(renum);
	free(stack);
	free(nodes);
	free(self);
	free(cum2);
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
