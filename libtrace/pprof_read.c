/*
 * pprof_read.c — the pprof reader: a Profile message, gzipped or not, from any producer,
 * to a ct_profile (see pprof.h).
 *
 * Reading trusts nothing and goes in passes, each relying only on what the previous one
 * proved:
 *   1. gzip, when the input starts with its magic bytes, is inflated with a hard bound on
 *      the output size (gzip.h); errors there name the offset in the compressed input.
 *   2. A walk of the wire format against the schema (pprof_wire.h) proves the framing and
 *      names the first defect's field and byte offset in the (decompressed) message. It
 *      also notes where each sample, mapping, location, function and sample type starts,
 *      so that later errors can point at them.
 *   3. Its framing proven, the message is decoded by hand (as protobuf-c would: the last
 *      occurrence of a scalar or of period_type wins, repeated fields accumulate, unknown
 *      fields are skipped) straight into the model, one kind of element at a time,
 *      checking pprof's rules as it goes — string table starting with "", every string
 *      index in range, ids nonzero and unique, every referenced id present, one value per
 *      sample type — in the same order as the elements' kinds: strings, sample types,
 *      mappings, functions, locations, samples, then Profile's scalars. Ids map to
 *      indexes through one idmap.h table per kind (a subtraction when ids are 1, 2, 3,
 *      ... as ctrace and Go write them); functions and locations are appended, not
 *      interned; samples with the same locations and labels are merged (their values
 *      summed), so a small gzip of millions of identical records holds one sample. A
 *      failure anywhere frees everything.
 */
#include "libtrace/pprof.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libtrace/gzip.h"
#include "libtrace/idmap.h"
#include "libtrace/pprof_wire.h"
#include "libtrace/safefile.h"
#include "libtrace/vec.h"

/* A string of the table: where it is in the message. */
struct str_ref {
	size_t at, len;
};

struct raw_line {
	uint64_t function_id;
	int64_t line;
};

struct reader {
	const uint8_t *buf; /* the message */
	size_t len;
	const ct_pb_offsets *off;
	ct_profile *p;
	/* Profile's own fields, as protobuf-c decodes them: the last occurrence of a scalar
	 * or of period_type wins, repeated ones accumulate. */
	struct str_ref *str_refs;
	size_t nstrs, cap_strs;
	uint64_t top[CT_PB_PROFILE_END]; /* the scalars, by field number */
	uint64_t period_type[CT_PB_VALUE_TYPE_END];
	bool has_period_type;
	int64_t *comments;
	size_t ncomments, cap_comments;
	const char **strs; /* string table, interned in p */
	ct_idmap maps, locs, funcs;
	/* Scratch space for one element, reused. */
	uint32_t *loc_idx;
	size_t cap_loc_idx;
	int64_t *values;
	size_t cap_values;
	uint64_t (*raw_labels)[CT_PB_LABEL_END];
	size_t cap_raw_labels;
	ct_label *labels;
	size_t cap_labels;
	struct raw_line *raw_lines;
	size_t nraw_lines, cap_raw_lines;
	ct_line *lines;
	size_t cap_lines;
	ct_error *err;
};

static int oom(struct reader *r)
{
	return ct_error_set(r->err, ENOMEM, -1, "out of memory");
}

/* The elements of repeated Profile field f (sample_type .. function): how many, and the
 * payload of element i. */
static size_t elem_count(const struct reader *r, enum ct_pb_profile f)
{
	return r->off->n[f];
}

static void elem_payload(const struct reader *r, enum ct_pb_profile f, size_t i, size_t *start,
			 size_t *end)
{
	ct_pb_elem_bounds(r->buf, r->len, r->off->elem[f][i], start, end);
}

/* Offset of element i of repeated Profile field f, or -1. */
static long long elem_off(const struct reader *r, enum ct_pb_profile f, size_t i)
{
	return i < r->off->n[f] ? (long long)r->off->elem[f][i] : -1;
}

/* Resolves string index idx of the named field of element elem (-1: a top-level field)
 * of the named kind, starting at byte at; NULL after filling the error. */
static const char *str_at(struct reader *r, int64_t idx, long long at, const char *kind,
			  long long elem, const char *field)
{
	if (idx >= 0 && (uint64_t)idx < r->nstrs)
		return r->strs[idx];
	char what[64];
	if (elem >= 0)
		snprintf(what, sizeof(what), "%s %lld%s%s", kind, elem, *field ? " " : "", field);
	else
		snprintf(what, sizeof(what), "%s", field);
	ct_error_set(r->err, EINVAL, at,
		     "%s: string index %lld out of range (string table has %zu entries) at byte "
		     "%lld",
		     what, (long long)idx, r->nstrs, at);
	return NULL;
}

/* Appends the varint (wire type 0) or packed varints (wire type 2) of f to *a. */
static inline int append_varints(const uint8_t *buf, const ct_pb_field *f, int64_t **a, size_t *n,
				 size_t *cap)
{
	if (f->wt == CT_PB_VARINT) {
		if (ct_vec_reserve(a, cap, *n + 1, sizeof(**a)))
			return -ENOMEM;
		(*a)[(*n)++] = (int64_t)f->v;
		return 0;
	}
	for (size_t p = f->sub; p < f->sub_end;) {
		if (*n == *cap && ct_vec_reserve(a, cap, *n + 1, sizeof(**a)))
			return -ENOMEM;
		(*a)[(*n)++] = (int64_t)ct_pb_get_varint(buf, f->sub_end, &p);
	}
	return 0;
}

/* Collects Profile's own fields other than the repeated messages. */
static int scan_top(struct reader *r)
{
	const uint8_t *buf = r->buf;
	ct_pb_field f = {0};
	for (size_t pos = 0; pos < r->len;) {
		ct_pb_next_field(buf, r->len, &pos, &f);
		if (f.num == CT_PB_PROFILE_COMMENT && (f.wt == CT_PB_VARINT || f.wt == CT_PB_LEN)) {
			if (append_varints(buf, &f, &r->comments, &r->ncomments, &r->cap_comments))
				return oom(r);
		} else if (f.wt == CT_PB_LEN && f.num == CT_PB_PROFILE_STRING_TABLE) {
			if (CT_VEC_RESERVE(r->str_refs, r->cap_strs, r->nstrs + 1))
				return oom(r);
			r->str_refs[r->nstrs++] = (struct str_ref){f.sub, f.sub_end - f.sub};
		} else if (f.wt == CT_PB_LEN && f.num == CT_PB_PROFILE_PERIOD_TYPE) {
			/* As protobuf-c does, a later period_type replaces an earlier one. */
			r->has_period_type = true;
			ct_pb_scan(buf, f.sub, f.sub_end, r->period_type, CT_PB_VALUE_TYPE_END,
				   NULL, NULL);
		} else if (f.wt == CT_PB_VARINT && f.num < CT_PB_PROFILE_END) {
			r->top[f.num] = f.v;
		}
	}
	return 0;
}

static int read_strings(struct reader *r)
{
	size_t at = r->off->field[CT_PB_PROFILE_STRING_TABLE];
	if (!r->nstrs || (r->str_refs[0].len && r->buf[r->str_refs[0].at]))
		return ct_error_set(
			r->err, EINVAL, (long long)at,
			"string_table[0] must be the empty string (field 6 at byte %zu)", at);
	size_t maxlen = 0;
	for (size_t i = 0; i < r->nstrs; i++) {
		if (r->str_refs[i].len > maxlen)
			maxlen = r->str_refs[i].len;
	}
	r->strs = malloc(r->nstrs * sizeof(*r->strs));
	char *s = malloc(maxlen + 1);
	int rc = r->strs && s ? 0 : oom(r);
	/* Copied out to be terminated; like any C string, one ends at its first NUL. */
	for (size_t i = 0; !rc && i < r->nstrs; i++) {
		memcpy(s, r->buf + r->str_refs[i].at, r->str_refs[i].len);
		s[r->str_refs[i].len] = '\0';
		r->strs[i] = ct_profile_str(r->p, s);
		if (!r->strs[i])
			rc = oom(r);
	}
	free(s);
	return rc;
}

static int read_sample_types(struct reader *r)
{
	for (size_t i = 0; i < elem_count(r, CT_PB_PROFILE_SAMPLE_TYPE); i++) {
		size_t start, end;
		elem_payload(r, CT_PB_PROFILE_SAMPLE_TYPE, i, &start, &end);
		uint64_t v[CT_PB_VALUE_TYPE_END];
		ct_pb_scan(r->buf, start, end, v, CT_PB_VALUE_TYPE_END, NULL, NULL);
		long long at = elem_off(r, CT_PB_PROFILE_SAMPLE_TYPE, i);
		const char *t = str_at(r, (int64_t)v[CT_PB_VALUE_TYPE_TYPE], at, "sample_type",
				       (long long)i, "type");
		const char *u = t ? str_at(r, (int64_t)v[CT_PB_VALUE_TYPE_UNIT], at, "sample_type",
					   (long long)i, "unit")
				  : NULL;
		if (!t || !u)
			return -EINVAL;
		if (ct_profile_add_sample_type(r->p, t, u))
			return oom(r);
	}
	return 0;
}

/* Registers id (of element i of the named kind, at byte at) in m; fills the error for a
 * zero or duplicate id. */
static int add_id(struct reader *r, ct_idmap *m, uint64_t id, size_t i, const char *kind,
		  long long at)
{
	if (ct_idmap_add(m, id, (uint32_t)i))
		return 0;
	return ct_error_set(r->err, EINVAL, at, "%s %zu: %s id %llu at byte %lld", kind, i,
			    id ? "duplicate" : "zero", (unsigned long long)id, at);
}

/* Adds element i of a repeated message (its varint fields v, its offset at) to the model. */
typedef int (*add_fn)(struct reader *r, size_t i, const uint64_t *v, long long at);

/* Reads every element of repeated Profile field f, each with an id (field 1) that goes to
 * ids (as kind), its varint fields (nv of them) and length-delimited ones (to len_fn) to
 * add. 0 or -errno with the error filled. */
static int read_elems(struct reader *r, enum ct_pb_profile f, ct_idmap *ids, const char *kind,
		      size_t nv, ct_pb_len_fn len_fn, add_fn add)
{
	size_t n = elem_count(r, f);
	if (ct_idmap_init(ids, n))
		return oom(r);
	uint64_t v[CT_PB_MAPPING_END]; /* the widest of the three */
	assert(nv <= CT_PB_MAPPING_END);
	for (size_t i = 0; i < n; i++) {
		size_t pos, end;
		elem_payload(r, f, i, &pos, &end);
		long long at = elem_off(r, f, i);
		r->nraw_lines = 0;
		if (ct_pb_scan(r->buf, pos, end, v, nv, len_fn, r))
			return oom(r);
		int rc = add_id(r, ids, v[1], i, kind, at);
		if (!rc)
			rc = add(r, i, v, at);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_mapping(struct reader *r, size_t i, const uint64_t *v, long long at)
{
	ct_mapping c = {
		.id = v[CT_PB_MAPPING_ID],
		.memory_start = v[CT_PB_MAPPING_MEMORY_START],
		.memory_limit = v[CT_PB_MAPPING_MEMORY_LIMIT],
		.file_offset = v[CT_PB_MAPPING_FILE_OFFSET],
		.filename = str_at(r, (int64_t)v[CT_PB_MAPPING_FILENAME], at, "mapping",
				   (long long)i, "filename"),
		.build_id = str_at(r, (int64_t)v[CT_PB_MAPPING_BUILD_ID], at, "mapping",
				   (long long)i, "build_id"),
		.has_functions = v[CT_PB_MAPPING_HAS_FUNCTIONS] != 0,
		.has_filenames = v[CT_PB_MAPPING_HAS_FILENAMES] != 0,
		.has_line_numbers = v[CT_PB_MAPPING_HAS_LINE_NUMBERS] != 0,
		.has_inline_frames = v[CT_PB_MAPPING_HAS_INLINE_FRAMES] != 0,
	};
	if (!c.filename || !c.build_id)
		return -EINVAL;
	return ct_profile_add_mapping(r->p, &c) ? 0 : oom(r);
}

static int add_function(struct reader *r, size_t i, const uint64_t *v, long long at)
{
	ct_function c = {
		.id = v[CT_PB_FUNCTION_ID],
		.name = str_at(r, (int64_t)v[CT_PB_FUNCTION_NAME], at, "function", (long long)i,
			       "name"),
		.system_name = str_at(r, (int64_t)v[CT_PB_FUNCTION_SYSTEM_NAME], at, "function",
				      (long long)i, "system_name"),
		.filename = str_at(r, (int64_t)v[CT_PB_FUNCTION_FILENAME], at, "function",
				   (long long)i, "filename"),
		.start_line = (int64_t)v[CT_PB_FUNCTION_START_LINE],
	};
	if (!c.name || !c.system_name || !c.filename)
		return -EINVAL;
	return ct_profile_append_function(r->p, &c) == UINT32_MAX ? oom(r) : 0;
}

/* ct_pb_scan's callback for a Location: collects its Line messages. */
static int location_line(void *ctx, const uint8_t *buf, const ct_pb_field *f)
{
	struct reader *r = ctx;
	if (f->num != CT_PB_LOCATION_LINE)
		return 0;
	if (CT_VEC_RESERVE(r->raw_lines, r->cap_raw_lines, r->nraw_lines + 1))
		return -ENOMEM;
	uint64_t v[CT_PB_LINE_END];
	ct_pb_scan(buf, f->sub, f->sub_end, v, CT_PB_LINE_END, NULL, NULL);
	r->raw_lines[r->nraw_lines++] =
		(struct raw_line){v[CT_PB_LINE_FUNCTION_ID], (int64_t)v[CT_PB_LINE_LINE]};
	return 0;
}

/* Resolves the lines collected for location i (id id, at byte at) into r->lines. */
static int resolve_lines(struct reader *r, size_t i, uint64_t id, long long at)
{
	if (CT_VEC_RESERVE(r->lines, r->cap_lines, r->nraw_lines))
		return oom(r);
	for (size_t k = 0; k < r->nraw_lines; k++) {
		uint64_t fid = r->raw_lines[k].function_id;
		uint32_t fi = ct_idmap_get(&r->funcs, fid);
		if (fi == UINT32_MAX)
			return ct_error_set(r->err, EINVAL, at,
					    "location %zu (id %llu): line %zu has %s function id "
					    "%llu at byte %lld",
					    i, (unsigned long long)id, k, fid ? "unknown" : "zero",
					    (unsigned long long)fid, at);
		r->lines[k] = (ct_line){fi, r->raw_lines[k].line};
	}
	return 0;
}

static int add_location(struct reader *r, size_t i, const uint64_t *v, long long at)
{
	uint64_t id = v[CT_PB_LOCATION_ID], mapping_id = v[CT_PB_LOCATION_MAPPING_ID];
	uint32_t mapping = 0;
	if (mapping_id) {
		uint32_t mi = ct_idmap_get(&r->maps, mapping_id);
		if (mi == UINT32_MAX)
			return ct_error_set(r->err, EINVAL, at,
					    "location %zu (id %llu): mapping id %llu not found at "
					    "byte %lld",
					    i, (unsigned long long)id,
					    (unsigned long long)mapping_id, at);
		mapping = mi + 1;
	}
	int rc = resolve_lines(r, i, id, at);
	if (rc)
		return rc;
	ct_location c = {.id = id,
			 .mapping = mapping,
			 .address = v[CT_PB_LOCATION_ADDRESS],
			 .lines = r->lines,
			 .nlines = (uint32_t)r->nraw_lines,
			 .is_folded = v[CT_PB_LOCATION_IS_FOLDED] != 0};
	return ct_profile_append_location(r->p, &c) == UINT32_MAX ? oom(r) : 0;
}
/* Resolves a location id of sample's field 1 into r->loc_idx[*n]; remembers the first
 * unknown one in *bad (when *nbad is still 0). 0 or -ENOMEM. */
static inline int add_loc(struct reader *r, uint64_t id, size_t *n, uint64_t *bad, size_t *nbad)
{
	if (*n == r->cap_loc_idx && CT_VEC_RESERVE(r->loc_idx, r->cap_loc_idx, *n + 1))
		return -ENOMEM;
	uint32_t li = ct_idmap_get(&r->locs, id);
	if (li == UINT32_MAX && !*nbad) {
		*bad = id;
		*nbad = 1;
	}
	r->loc_idx[(*n)++] = li;
	return 0;
}

/* Checks and adds sample i, whose payload is [pos, end) and whose field starts at byte
 * at. */
static int read_sample(struct reader *r, size_t i, size_t pos, size_t end, long long at)
{
	const uint8_t *buf = r->buf;
	size_t nlocs = 0, nvalues = 0, nlabels = 0, nbad = 0;
	uint64_t bad = 0;
	ct_pb_field f = {0};
	while (pos < end) {
		ct_pb_next_field(buf, end, &pos, &f);
		if (f.num == CT_PB_SAMPLE_LOCATION_ID && f.wt == CT_PB_VARINT) {
			if (add_loc(r, f.v, &nlocs, &bad, &nbad))
				return oom(r);
		} else if (f.num == CT_PB_SAMPLE_LOCATION_ID && f.wt == CT_PB_LEN) {
			/* At most one id per byte: room for all of them at once. */
			if (CT_VEC_RESERVE(r->loc_idx, r->cap_loc_idx, nlocs + (f.sub_end - f.sub)))
				return oom(r);
			for (size_t q = f.sub; q < f.sub_end;) {
				uint64_t id = ct_pb_get_varint(buf, f.sub_end, &q);
				uint32_t li = ct_idmap_get(&r->locs, id);
				if (li == UINT32_MAX && !nbad) {
					bad = id;
					nbad = 1;
				}
				r->loc_idx[nlocs++] = li;
			}
		} else if (f.num == CT_PB_SAMPLE_VALUE &&
			   (f.wt == CT_PB_VARINT || f.wt == CT_PB_LEN)) {
			if (append_varints(buf, &f, &r->values, &nvalues, &r->cap_values))
				return oom(r);
		} else if (f.num == CT_PB_SAMPLE_LABEL && f.wt == CT_PB_LEN) {
			if (CT_VEC_RESERVE(r->raw_labels, r->cap_raw_labels, nlabels + 1))
				return oom(r);
			ct_pb_scan(buf, f.sub, f.sub_end, r->raw_labels[nlabels++], CT_PB_LABEL_END,
				   NULL, NULL);
		}
	}
	size_t ntypes = elem_count(r, CT_PB_PROFILE_SAMPLE_TYPE);
	if (nvalues != ntypes)
		return ct_error_set(r->err, EINVAL, at,
				    "sample %zu: %zu values for %zu sample types at byte %lld", i,
				    nvalues, ntypes, at);
	if (nlocs > UINT32_MAX || nlabels > UINT32_MAX)
		return ct_error_set(r->err, EINVAL, at, "sample %zu too large at byte %lld", i, at);
	if (nbad)
		return ct_error_set(r->err, EINVAL, at,
				    "sample %zu: location id %llu not found at byte %lld", i,
				    (unsigned long long)bad, at);
	if (CT_VEC_RESERVE(r->labels, r->cap_labels, nlabels))
		return oom(r);
	for (size_t k = 0; k < nlabels; k++) {
		const uint64_t *l = r->raw_labels[k];
		int64_t key = (int64_t)l[CT_PB_LABEL_KEY], str = (int64_t)l[CT_PB_LABEL_STR];
		int64_t num_unit = (int64_t)l[CT_PB_LABEL_NUM_UNIT];
		ct_label *c = &r->labels[k];
		/* As in pprof: a string label when str is set, else a numeric one. */
		c->key = str_at(r, key, at, "sample", (long long)i, "label key");
		c->str = c->key && str ? str_at(r, str, at, "sample", (long long)i, "label str")
				       : NULL;
		c->num = (int64_t)l[CT_PB_LABEL_NUM];
		c->num_unit = c->key && num_unit ? str_at(r, num_unit, at, "sample", (long long)i,
							  "label num_unit")
						 : NULL;
		if (!c->key || (str && !c->str) || (num_unit && !c->num_unit))
			return -EINVAL;
	}
	if (ct_profile_merge_sample(r->p, r->loc_idx, (uint32_t)nlocs, r->values, r->labels,
				    (uint32_t)nlabels))
		return oom(r);
	return 0;
}

/* The samples, found by a pass over the message's fields (the walk keeps no offset per
 * sample: 8 bytes each of a few-byte record) and merged as they are added. */
static int read_samples(struct reader *r)
{
	ct_pb_field f = {0};
	size_t i = 0;
	for (size_t pos = 0; pos < r->len;) {
		size_t at = pos;
		ct_pb_next_field(r->buf, r->len, &pos, &f);
		if (f.num != CT_PB_PROFILE_SAMPLE || f.wt != CT_PB_LEN)
			continue;
		int rc = read_sample(r, i++, f.sub, f.sub_end, (long long)at);
		if (rc)
			return rc;
	}
	return 0;
}

/* The string of top-level field num (a string index), named name; NULL after filling the
 * error. */
static const char *top_str(struct reader *r, enum ct_pb_profile num, const char *name)
{
	return str_at(r, (int64_t)r->top[num], (long long)r->off->field[num], "", -1, name);
}

static int read_scalars(struct reader *r)
{
	ct_profile *p = r->p;
	if (!(p->drop_frames = top_str(r, CT_PB_PROFILE_DROP_FRAMES, "drop_frames")) ||
	    !(p->keep_frames = top_str(r, CT_PB_PROFILE_KEEP_FRAMES, "keep_frames")) ||
	    !(p->default_sample_type =
		      top_str(r, CT_PB_PROFILE_DEFAULT_SAMPLE_TYPE, "default_sample_type")))
		return -EINVAL;
	p->time_nanos = (int64_t)r->top[CT_PB_PROFILE_TIME_NANOS];
	p->duration_nanos = (int64_t)r->top[CT_PB_PROFILE_DURATION_NANOS];
	p->period = (int64_t)r->top[CT_PB_PROFILE_PERIOD];
	if (r->has_period_type) {
		long long at = (long long)r->off->field[CT_PB_PROFILE_PERIOD_TYPE];
		p->period_type.type = str_at(r, (int64_t)r->period_type[CT_PB_VALUE_TYPE_TYPE], at,
					     "", -1, "period_type.type");
		if (!p->period_type.type)
			return -EINVAL;
		p->period_type.unit = str_at(r, (int64_t)r->period_type[CT_PB_VALUE_TYPE_UNIT], at,
					     "", -1, "period_type.unit");
		if (!p->period_type.unit)
			return -EINVAL;
	}
	long long at = (long long)r->off->field[CT_PB_PROFILE_COMMENT];
	for (size_t i = 0; i < r->ncomments; i++) {
		const char *c = str_at(r, r->comments[i], at, "comment", (long long)i, "");
		if (!c)
			return -EINVAL;
		if (ct_profile_add_comment(p, c))
			return oom(r);
	}
	return 0;
}

/* Frees the reader's scratch tables (not the profile it built). */
static void reader_release(struct reader *r)
{
	void *scratch[] = {r->str_refs,	  r->comments, r->strs,	     r->loc_idx, r->values,
			   r->raw_labels, r->labels,   r->raw_lines, r->lines};
	for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++)
		free(scratch[i]);
	ct_idmap_free(&r->maps);
	ct_idmap_free(&r->funcs);
	ct_idmap_free(&r->locs);
}

/* Checks the message buf[0, len), whose framing pass 2 proved and whose offsets it
 * noted, and builds the profile. */
static int build_profile(const uint8_t *buf, size_t len, const ct_pb_offsets *off, ct_profile **out,
			 ct_error *err)
{
	struct reader r;
	memset(&r, 0, sizeof(r));
	r.buf = buf;
	r.len = len;
	r.off = off;
	r.err = err;
	r.p = ct_profile_new();
	if (!r.p)
		return ct_error_set(err, ENOMEM, -1, "out of memory");
	int rc = scan_top(&r);
	if (!rc)
		rc = read_strings(&r);
	if (!rc)
		rc = read_sample_types(&r);
	if (!rc)
		rc = read_elems(&r, CT_PB_PROFILE_MAPPING, &r.maps, "mapping", CT_PB_MAPPING_END,
				NULL, add_mapping);
	if (!rc)
		rc = read_elems(&r, CT_PB_PROFILE_FUNCTION, &r.funcs, "function",
				CT_PB_FUNCTION_END, NULL, add_function);
	if (!rc)
		rc = read_elems(&r, CT_PB_PROFILE_LOCATION, &r.locs, "location", CT_PB_LOCATION_END,
				location_line, add_location);
	if (!rc)
		rc = read_samples(&r);
	if (!rc)
		rc = read_scalars(&r);
	reader_release(&r);
	if (!rc)
		*out = r.p;
	else
		ct_profile_free(r.p);
	return rc;
}

int ct_pprof_decode_limit(const uint8_t *buf, size_t len, size_t max_raw, ct_profile **out,
			  ct_error *err)
{
	*out = NULL;
	if (err) {
		err->msg[0] = '\0';
		err->offset = -1;
	}
	uint8_t *raw = NULL;
	const uint8_t *msg = buf;
	size_t msglen = len;
	const char *where = "";
	if (ct_is_gzip(buf, len)) {
		int rc = ct_gunzip(buf, len, max_raw, &raw, &msglen, err);
		if (rc)
			return rc;
		msg = raw;
		where = " (decompressed)";
	} else if (len > max_raw) {
		return ct_error_set(err, EINVAL, (long long)max_raw,
				    "profile larger than %zu bytes (limit)", max_raw);
	}
	if (!msglen) {
		free(raw);
		return ct_error_set(err, EINVAL, 0, "empty profile%s at byte 0", where);
	}

	ct_pb_offsets off;
	memset(&off, 0, sizeof(off));
	int rc = ct_pb_walk_profile(msg, msglen, &off, err);
	if (!rc)
		rc = build_profile(msg, msglen, &off, out, err);
	free(raw);
	ct_pb_offsets_free(&off);
	if (rc && *where && err && err->offset >= 0) {
		/* Say which stream the offset counts in. */
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, "%s", where);
	}
	return rc;
}

int ct_pprof_decode(const uint8_t *buf, size_t len, ct_profile **out, ct_error *err)
{
	return ct_pprof_decode_limit(buf, len, CT_PPROF_MAX_RAW, out, err);
}

int ct_pprof_read_file(const char *path, ct_profile **out, ct_error *err)
{
	*out = NULL;
	int fd = ct_open_regular(path);
	if (fd < 0) {
		int e = errno;
		return ct_error_set(err, e, -1, "%s",
				    e == EINVAL ? "not a regular file" : strerror(e));
	}
	struct stat sb;
	if (fstat(fd, &sb)) {
		int e = errno;
		close(fd);
		return ct_error_set(err, e, -1, "%s", strerror(e));
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > CT_PPROF_MAX_RAW) {
		close(fd);
		return ct_error_set(err, S_ISREG(sb.st_mode) ? EFBIG : EINVAL, -1, "%s",
				    S_ISREG(sb.st_mode) ? "file larger than 1 GiB"
							: "not a regular file");
	}
	size_t len = (size_t)sb.st_size, have = 0;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		close(fd);
		return ct_error_set(err, ENOMEM, -1, "out of memory");
	}
	while (have < len) {
		ssize_t n = read(fd, buf + have, len - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			free(buf);
			close(fd);
			return ct_error_set(err, e, (long long)have, "read failed at byte %zu: %s",
					    have, n < 0 ? strerror(e) : "file shrank");
		}
		have += (size_t)n;
	}
	close(fd);
	int rc = ct_pprof_decode(buf, len, out, err);
	free(buf);
	return rc;
}
