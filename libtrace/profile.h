/*
 * profile.h — the in-memory pprof profile.
 *
 * One model for every producer and consumer of profiles in ctrace: the agent's collector
 * builds one and hands it to the pprof writer, the pprof reader returns one, the
 * symbolizer fills in its functions and lines, and every report view renders from it.
 * It mirrors pprof's profile.proto, with two deliberate differences: strings are plain
 * C strings owned by the profile (no string table), and cross references are array
 * indexes, not ids (ids are kept as well so that a round trip preserves them).
 *
 * Ownership: a ct_profile owns every string and array reachable from it; all are freed by
 * ct_profile_free. Strings returned by ct_profile_str() are interned: equal strings give
 * the same pointer for the life of the profile.
 *
 * Thread-safety: none. A profile is built and read by one thread at a time.
 */
#ifndef CT_PROFILE_H
#define CT_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	const char *type; /* e.g. "cpu" */
	const char *unit; /* e.g. "nanoseconds" */
} ct_value_type;

typedef struct {
	const char *key;
	const char *str;      /* string label value, or NULL for a numeric label */
	int64_t num;	      /* numeric label value (when str == NULL) */
	const char *num_unit; /* numeric label unit, may be NULL */
} ct_label;

typedef struct {
	uint64_t id; /* pprof id, nonzero */
	uint64_t memory_start, memory_limit, file_offset;
	const char *filename; /* "" when unknown, never NULL */
	const char *build_id; /* hex string, "" when unknown, never NULL */
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} ct_mapping;

typedef struct {
	uint64_t id;		 /* pprof id, nonzero */
	const char *name;	 /* demangled/human name, never NULL */
	const char *system_name; /* mangled/system name, never NULL ("" if unknown) */
	const char *filename;	 /* source file, never NULL ("" if unknown) */
	int64_t start_line;
} ct_function;

typedef struct {
	uint32_t function; /* index into ct_profile.functions */
	int64_t line;	   /* 0 when unknown */
} ct_line;

typedef struct {
	uint64_t id;	  /* pprof id, nonzero */
	uint32_t mapping; /* index + 1 into ct_profile.mappings; 0 = no mapping */
	uint64_t address; /* runtime address (already "return address - 1" for callers) */
	ct_line *lines;	  /* lines[0] is the innermost inlined frame, the last the outermost */
	uint32_t nlines;
	bool is_folded;
} ct_location;

typedef struct {
	uint32_t *locs; /* indexes into ct_profile.locations, leaf first */
	uint32_t nlocs;
	int64_t *values; /* exactly ct_profile.nsample_types values */
	ct_label *labels;
	uint32_t nlabels;
} ct_sample;

struct ct_profile_store; /* private: arena, intern tables */

typedef struct ct_profile {
	ct_value_type *sample_types;
	uint32_t nsample_types;
	ct_sample *samples;
	size_t nsamples;
	ct_mapping *mappings;
	uint32_t nmappings;
	ct_location *locations;
	uint32_t nlocations;
	ct_function *functions;
	uint32_t nfunctions;
	const char *drop_frames; /* "" when unset, never NULL */
	const char *keep_frames; /* "" when unset, never NULL */
	int64_t time_nanos, duration_nanos;
	ct_value_type period_type; /* type/unit "" when unset */
	int64_t period;
	const char **comments;
	uint32_t ncomments;
	const char *default_sample_type; /* "" when unset */
	struct ct_profile_store *store;
} ct_profile;

/* A new empty profile (all strings ""), or NULL when out of memory. */
ct_profile *ct_profile_new(void);
void ct_profile_free(ct_profile *p);

/* Interns s (NULL is treated as ""); the pointer lives as long as p. NULL on ENOMEM. */
const char *ct_profile_str(ct_profile *p, const char *s);

/* Appends a sample type. Must precede the first ct_profile_add_sample. 0 or -errno. */
int ct_profile_add_sample_type(ct_profile *p, const char *type, const char *unit);

/* Appends a copy of *m (strings interned; id assigned as index + 1 when m->id == 0 — or
 * one past the largest id so far when that is larger, so ids stay unique).
 * Returns the mapping's index + 1 (the value a ct_location.mapping holds), 0 on ENOMEM. */
uint32_t ct_profile_add_mapping(ct_profile *p, const ct_mapping *m);

/* Interns a function by (name, system_name, filename, start_line); returns its index,
 * or UINT32_MAX on ENOMEM. */
uint32_t ct_profile_add_function(ct_profile *p, const char *name, const char *system_name,
				 const char *filename, int64_t start_line);

/* Interns a location. With address != 0 it is keyed by (mapping, address) and lines given
 * on a later call are ignored (use ct_profile_set_lines to symbolize); with address == 0
 * it is keyed by its lines. Returns its index, or UINT32_MAX on ENOMEM
 * or when mapping or a line's function is out of range. */
uint32_t ct_profile_add_location(ct_profile *p, uint32_t mapping, uint64_t address,
				 const ct_line *lines, uint32_t nlines);

/* Replaces the lines of location loc with a copy of lines. 0 or -errno. */
int ct_profile_set_lines(ct_profile *p, uint32_t loc, const ct_line *lines, uint32_t nlines);

/* Appends a sample; copies locs, values (nsample_types of them) and labels (strings
 * interned). Samples are not merged. 0 or -errno. */
int ct_profile_add_sample(ct_profile *p, const uint32_t *locs, uint32_t nlocs,
			  const int64_t *values, const ct_label *labels, uint32_t nlabels);

/* ct_profile_add_sample, except that a sample with the same locations and labels (in the
 * same order) as one this function added before is not appended: its values are added to
 * that one's — unless a sum would overflow, and then it is appended after all. For readers
 * of untrusted files: N identical records cost one sample, not N. Samples added by
 * ct_profile_add_sample are not merged with. 0 or -errno. */
int ct_profile_merge_sample(ct_profile *p, const uint32_t *locs, uint32_t nlocs,
			    const int64_t *values, const ct_label *labels, uint32_t nlabels);

/* Most frames ct_profile_add_pc_sample keeps of one stack. */
#define CT_PROFILE_MAX_PCS 512

/* Maps a program counter to the id of its mapping in p (0: none; it may add the mapping),
 * for ct_profile_add_pc_sample. */
typedef uint32_t (*ct_pc_mapper)(ct_profile *p, const void *ctx, uint64_t pc);

/* Appends a sample on a captured stack pcs[0..n), leaf first, zeros skipped: each pc becomes
 * a location in map(p, ctx, pc)'s mapping, return addresses stepped back one byte (into their
 * call) — the leaf too unless leaf_exact. truncated (the capture lost the root side) adds a
 * "[truncated]" frame last. At most CT_PROFILE_MAX_PCS pcs are kept. 0 or -errno. */
int ct_profile_add_pc_sample(ct_profile *p, const uint64_t *pcs, uint32_t n, bool leaf_exact,
			     bool truncated, ct_pc_mapper map, const void *ctx,
			     const int64_t *values, const ct_label *labels, uint32_t nlabels);

/* Appends a comment (interned). 0 or -errno. */
int ct_profile_add_comment(ct_profile *p, const char *comment);

/* Index of the sample type named type, or -1. */
int ct_profile_sample_index(const ct_profile *p, const char *type);

/* Appends a copy of *f without merging it with an equal function (strings interned; id
 * assigned like a mapping's when f->id == 0). Decoders use it to keep a file's functions
 * exactly as they are; later ct_profile_add_function calls still find it. Returns its
 * index, or UINT32_MAX on ENOMEM. */
uint32_t ct_profile_append_function(ct_profile *p, const ct_function *f);

/* Appends a copy of *loc (its lines copied, id assigned when loc->id == 0) without
 * merging it with an equal location. Returns its index, or UINT32_MAX on ENOMEM or when
 * loc->mapping or a line's function is out of range. */
uint32_t ct_profile_append_location(ct_profile *p, const ct_location *loc);

#endif
