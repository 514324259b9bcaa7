/*
 * report.h — aggregating a profile into what the report views show.
 *
 * Every view of `ctrace report` (text table, flame graphs, folded stacks, diffs) renders
 * from a ct_tree: the samples of one or more profiles merged into a call tree, root first
 * (root → outermost caller → … → leaf), with inlined frames expanded into frames of their
 * own. A tree carries one or more value columns: a plain report has one column per sample
 * type of the profile; a diff has two (the new profile's value, then the base's).
 *
 * A frame is a function, identified by its name and source file (a location without
 * symbols becomes "module+0xOFFSET", or "0xADDRESS" without a mapping; a sample without
 * any location gets the frame "[unknown]"). Children are ordered by frame name, and nodes
 * are numbered in pre-order, so that the subtree of node i is [i, nodes[i].end): views
 * can skip a whole subtree in one step.
 *
 * Filters (pprof's -focus, -ignore, -tagfocus) select the samples that enter a tree.
 *
 * Ownership: a ct_tree owns its strings (it does not point into the profiles it was built
 * from, which may be freed once the tree is finished). Thread-safety: none.
 */
#ifndef CT_REPORT_H
#define CT_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "libtrace/error.h"
#include "libtrace/profile.h"

#define CT_TREE_NONE UINT32_MAX

/* ---- sample selection ----------------------------------------------------------------- */

/* Resolves a --sample-index argument: a sample type name ("inuse_space"), or a 0-based
 * index. NULL selects pprof's default: the profile's default_sample_type when set, else
 * its last sample type. Returns the index, or -EINVAL with err filled. */
int ct_report_sample_index(const ct_profile *p, const char *spec, ct_error *err);

/* A short name for what p measures, from its sample types: "cpu", "heap", "contention"
 * (mutex and block profiles look alike), or the first sample type's name. */
const char *ct_report_profile_kind(const ct_profile *p);

typedef struct {
	const char *focus;  /* keep samples with a frame whose name matches (POSIX ERE); NULL */
	const char *ignore; /* drop samples with a frame whose name matches; NULL */
	const char **tags;  /* "KEY=VALUE" each; a sample must carry all of them */
	uint32_t ntags;
} ct_filter_spec;

typedef struct ct_filter ct_filter;

/* Compiles spec for profile p (the filter caches per-location matches, so it is bound to
 * p and must not outlive it). -EINVAL with err filled on a bad regex or tag. */
int ct_filter_new(const ct_profile *p, const ct_filter_spec *spec, ct_filter **out, ct_error *err);
void ct_filter_free(ct_filter *f);

/* Whether sample s of the filter's profile passes. */
bool ct_filter_keep(const ct_filter *f, const ct_sample *s);

/* ---- the call tree -------------------------------------------------------------------- */

typedef struct {
	const char *name;   /* function name, "module+0xOFF", "0xADDR" or "[unknown]" */
	const char *file;   /* source file, "" when unknown */
	int64_t line;	    /* first source line seen for it, 0 when unknown */
	const char *module; /* base name of the mapping's file, "" when unknown */
} ct_frame;

typedef struct {
	uint32_t parent;       /* CT_TREE_NONE for the root */
	uint32_t frame;	       /* index into ct_tree.frames; CT_TREE_NONE for the root */
	uint32_t first_child;  /* CT_TREE_NONE for a leaf */
	uint32_t next_sibling; /* CT_TREE_NONE for the last child */
	uint32_t end;	       /* one past the last node of this subtree (pre-order) */
	uint32_t depth;	       /* 0 for the root */
} ct_tree_node;

typedef struct ct_tree {
	ct_tree_node *nodes; /* nodes[0] is the root */
	uint32_t nnodes;
	uint32_t ncols;
	ct_value_type *cols; /* what each column holds (type/unit strings owned by the tree) */
	int64_t *cum;	     /* cum[i * ncols + c]: value of node i and its subtree */
	int64_t *self;	     /* self[i * ncols + c]: value of samples whose leaf is node i */
	ct_frame *frames;
	uint32_t nframes;
	uint64_t nsamples; /* samples that entered the tree (after filtering) */
	struct ct_tree_store *store;
} ct_tree;

/* An empty tree with ncols columns, each typed (type, unit) from the arrays. NULL on
 * ENOMEM. */
ct_tree *ct_tree_new(uint32_t ncols, const char *const *types, const char *const *units);
void ct_tree_free(ct_tree *t);

/* Adds the samples of p that f keeps (f may be NULL): column c gets sample value
 * value_index[c], or nothing when value_index[c] < 0. Samples whose used values are all
 * zero are skipped. 0 or -errno (-EINVAL for an index out of range). */
int ct_tree_add_profile(ct_tree *t, const ct_profile *p, const ct_filter *f,
			const int *value_index);

/* Makes the nodes of the samples added: numbered in pre-order, children ordered by name,
 * values summed up the tree (filling end/depth/first_child/next_sibling). Until then the
 * tree holds only its root. Call once, after the last add. 0 or -ENOMEM (-EOVERFLOW past
 * 2^32 - 1 nodes). */
int ct_tree_finish(ct_tree *t);

/* Builds and finishes a tree of p (kept by f) with one column per sample type. */
int ct_tree_from_profile(const ct_profile *p, const ct_filter *f, ct_tree **out);

/* Builds and finishes a diff tree: column 0 holds sample value new_index of new_p,
 * column 1 value base_index of base (each filtered by its own filter, may be NULL). Values
 * of two units of one kind are brought to the finer one (milliseconds and nanoseconds:
 * both columns in nanoseconds); -EDOM when the units measure different things, -ERANGE
 * when a converted value would overflow. */
int ct_tree_diff(const ct_profile *base, const ct_filter *fbase, int base_index,
		 const ct_profile *new_p, const ct_filter *fnew, int new_index, ct_tree **out);

static inline int64_t ct_tree_total(const ct_tree *t, uint32_t col)
{
	return t->cum[col];
}

/* ---- per-function totals -------------------------------------------------------------- */

typedef struct {
	uint32_t frame;
	int64_t flat; /* value where the frame is the leaf */
	int64_t cum;  /* value of samples with the frame anywhere on the stack (counted once) */
} ct_top_entry;

/* One entry per frame with a nonzero flat or cum in column col, sorted by flat descending,
 * then cum descending, then name. *out is malloc'd (caller frees). 0 or -ENOMEM. */
int ct_tree_top(const ct_tree *t, uint32_t col, ct_top_entry **out, uint32_t *n);

#endif
