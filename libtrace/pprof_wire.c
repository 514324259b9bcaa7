/*
 * pprof_wire.c — the Profile schema and the walk that proves a message's framing, plus
 * the field readers the pprof reader uses after it (see pprof_wire.h).
 */
#include "libtrace/pprof_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/vec.h"

enum kind {
	K_SCALAR,   /* varint */
	K_REPEATED, /* repeated varint: unpacked varints or packed in a length-delimited run */
	K_STRING,   /* length-delimited bytes */
	K_MESSAGE,  /* length-delimited submessage */
};

struct msg_schema;

struct field_schema {
	uint32_t num;
	const char *name;
	enum kind kind;
	const struct msg_schema *sub;
};

struct msg_schema {
	const char *name;
	const struct field_schema *fields;
	size_t nfields;
};

#define SCHEMA(var, name, ...)                                                                     \
	static const struct field_schema var##_fields[] = {__VA_ARGS__};                           \
	static const struct msg_schema var = {name, var##_fields,                                  \
					      sizeof(var##_fields) / sizeof(var##_fields[0])}

SCHEMA(s_value_type, "ValueType", {CT_PB_VALUE_TYPE_TYPE, "type", K_SCALAR, NULL},
       {CT_PB_VALUE_TYPE_UNIT, "unit", K_SCALAR, NULL});
SCHEMA(s_label, "Label", {CT_PB_LABEL_KEY, "key", K_SCALAR, NULL},
       {CT_PB_LABEL_STR, "str", K_SCALAR, NULL}, {CT_PB_LABEL_NUM, "num", K_SCALAR, NULL},
       {CT_PB_LABEL_NUM_UNIT, "num_unit", K_SCALAR, NULL});
SCHEMA(s_sample, "Sample", {CT_PB_SAMPLE_LOCATION_ID, "location_id", K_REPEATED, NULL},
       {CT_PB_SAMPLE_VALUE, "value", K_REPEATED, NULL},
       {CT_PB_SAMPLE_LABEL, "label", K_MESSAGE, &s_label});
SCHEMA(s_mapping, "Mapping", {CT_PB_MAPPING_ID, "id", K_SCALAR, NULL},
       {CT_PB_MAPPING_MEMORY_START, "memory_start", K_SCALAR, NULL},
       {CT_PB_MAPPING_MEMORY_LIMIT, "memory_limit", K_SCALAR, NULL},
       {CT_PB_MAPPING_FILE_OFFSET, "file_offset", K_SCALAR, NULL},
       {CT_PB_MAPPING_FILENAME, "filename", K_SCALAR, NULL},
       {CT_PB_MAPPING_BUILD_ID, "build_id", K_SCALAR, NULL},
       {CT_PB_MAPPING_HAS_FUNCTIONS, "has_functions", K_SCALAR, NULL},
       {CT_PB_MAPPING_HAS_FILENAMES, "has_filenames", K_SCALAR, NULL},
       {CT_PB_MAPPING_HAS_LINE_NUMBERS, "has_line_numbers", K_SCALAR, NULL},
       {CT_PB_MAPPING_HAS_INLINE_FRAMES, "has_inline_frames", K_SCALAR, NULL});
SCHEMA(s_line, "Line", {CT_PB_LINE_FUNCTION_ID, "function_id", K_SCALAR, NULL},
       {CT_PB_LINE_LINE, "line", K_SCALAR, NULL});
SCHEMA(s_location, "Location", {CT_PB_LOCATION_ID, "id", K_SCALAR, NULL},
       {CT_PB_LOCATION_MAPPING_ID, "mapping_id", K_SCALAR, NULL},
       {CT_PB_LOCATION_ADDRESS, "address", K_SCALAR, NULL},
       {CT_PB_LOCATION_LINE, "line", K_MESSAGE, &s_line},
       {CT_PB_LOCATION_IS_FOLDED, "is_folded", K_SCALAR, NULL});
SCHEMA(s_function, "Function", {CT_PB_FUNCTION_ID, "id", K_SCALAR, NULL},
       {CT_PB_FUNCTION_NAME, "name", K_SCALAR, NULL},
       {CT_PB_FUNCTION_SYSTEM_NAME, "system_name", K_SCALAR, NULL},
       {CT_PB_FUNCTION_FILENAME, "filename", K_SCALAR, NULL},
       {CT_PB_FUNCTION_START_LINE, "start_line", K_SCALAR, NULL});
SCHEMA(s_profile, "Profile", {CT_PB_PROFILE_SAMPLE_TYPE, "sample_type", K_MESSAGE, &s_value_type},
       {CT_PB_PROFILE_SAMPLE, "sample", K_MESSAGE, &s_sample},
       {CT_PB_PROFILE_MAPPING, "mapping", K_MESSAGE, &s_mapping},
       {CT_PB_PROFILE_LOCATION, "location", K_MESSAGE, &s_location},
       {CT_PB_PROFILE_FUNCTION, "function", K_MESSAGE, &s_function},
       {CT_PB_PROFILE_STRING_TABLE, "string_table", K_STRING, NULL},
       {CT_PB_PROFILE_DROP_FRAMES, "drop_frames", K_SCALAR, NULL},
       {CT_PB_PROFILE_KEEP_FRAMES, "keep_frames", K_SCALAR, NULL},
       {CT_PB_PROFILE_TIME_NANOS, "time_nanos", K_SCALAR, NULL},
       {CT_PB_PROFILE_DURATION_NANOS, "duration_nanos", K_SCALAR, NULL},
       {CT_PB_PROFILE_PERIOD_TYPE, "period_type", K_MESSAGE, &s_value_type},
       {CT_PB_PROFILE_PERIOD, "period", K_SCALAR, NULL},
       {CT_PB_PROFILE_COMMENT, "comment", K_REPEATED, NULL},
       {CT_PB_PROFILE_DEFAULT_SAMPLE_TYPE, "default_sample_type", K_SCALAR, NULL});

void ct_pb_offsets_free(ct_pb_offsets *o)
{
	for (int i = 0; i < CT_PB_PROFILE_STRING_TABLE; i++)
		free(o->elem[i]);
}

static const char *wire_name(unsigned wt)
{
	static const char *const names[] = {"varint",	   "fixed64",	"length-delimited",
					    "start-group", "end-group", "fixed32",
					    "type 6",	   "type 7"};
	return names[wt & 7];
}

/* The chain of fields leading to a submessage ("sample", then "label"), for messages. */
struct path {
	const struct path *up;
	const char *name;
};

static size_t path_format(char *buf, size_t n, const struct path *p)
{
	if (!p)
		return 0;
	size_t k = path_format(buf, n, p->up);
	int w = snprintf(buf + k, k < n ? n - k : 0, "%s%s", p->up ? "." : "", p->name);
	return k + (w > 0 ? (size_t)w : 0);
}

/* Names field num of message m reached through path: "field 2 (sample)",
 * "field 3 (sample.label)" or "unknown field 31 of Profile". Built only for errors. */
static const char *field_name(char *buf, size_t n, const struct msg_schema *m,
			      const struct field_schema *f, uint64_t num, const struct path *path)
{
	if (!f) {
		snprintf(buf, n, "unknown field %llu of %s", (unsigned long long)num, m->name);
		return buf;
	}
	struct path here = {path, f->name};
	char p[80];
	path_format(p, sizeof(p), &here);
	snprintf(buf, n, "field %llu (%s)", (unsigned long long)num, p);
	return buf;
}

/* Records where element n of top-level repeated field num starts. 0 or -ENOMEM. */
static int note_offset(ct_pb_offsets *off, uint64_t num, size_t at)
{
	if (num < CT_PB_PROFILE_END && !off->field[num])
		off->field[num] = at;
	if (num >= CT_PB_PROFILE_STRING_TABLE)
		return 0;
	if (num == CT_PB_PROFILE_SAMPLE) { /* counted only: the reader finds them itself */
		off->n[num]++;
		return 0;
	}
	if (CT_VEC_RESERVE(off->elem[num], off->cap[num], off->n[num] + 1))
		return -ENOMEM;
	off->elem[num][off->n[num]++] = at;
	return 0;
}

/* Whether buf[start, end) is a run of varints of at most 9 bytes each (so each fits in
 * 64 bits), the last one complete: a quick test that lets the common case skip decoding. */
static bool packed_ok(const uint8_t *buf, size_t start, size_t end)
{
	size_t run = 0, p = start; /* continuation bytes in a row */
	/* Eight bytes at a time: a run inside one word is shorter than 9, so only the runs
	 * that cross words need counting. */
	for (; end - p >= 8; p += 8) {
		uint64_t w;
		memcpy(&w, buf + p, sizeof(w));
		uint64_t last = ~w & 0x8080808080808080ULL; /* the bytes ending a varint */
		if (!last) {
			run += 8;
		} else {
			run += (size_t)__builtin_ctzll(last) / 8;
			if (run >= 9)
				return false;
			run = (size_t)__builtin_clzll(last) / 8;
		}
		if (run >= 9)
			return false;
	}
	for (; p < end; p++) {
		if (!(buf[p] & 0x80))
			run = 0;
		else if (++run == 9)
			return false;
	}
	return run == 0;
}

/* Walks the message in buf[start, end) against m, reached through path (NULL at the top). */
static int walk(const uint8_t *buf, size_t start, size_t end, const struct msg_schema *m,
		const struct path *path, ct_pb_offsets *off, ct_error *err)
{
	char fb[128];
	size_t pos = start;
	while (pos < end) {
		size_t at = pos;
		uint64_t tag, v;
		int vr = ct_pb_read_varint(buf, end, &pos, &tag);
		if (vr)
			return ct_error_set(err, EINVAL, (long long)at,
					    "%s field tag in %s at byte %zu",
					    vr == 1 ? "truncated" : "overlong", m->name, at);
		uint64_t num = tag >> 3;
		unsigned wt = tag & 7;
		if (num == 0 || num > 536870911)
			return ct_error_set(err, EINVAL, (long long)at,
					    "invalid field number %llu in %s at byte %zu",
					    (unsigned long long)num, m->name, at);
		const struct field_schema *f = NULL;
		for (size_t i = 0; i < m->nfields && !f; i++) {
			if (m->fields[i].num == num)
				f = &m->fields[i];
		}
		bool allowed = !f || (wt == 0 && (f->kind == K_SCALAR || f->kind == K_REPEATED)) ||
			       (wt == 2 && f->kind != K_SCALAR);
		if (wt == 3 || wt == 4 || wt > 5 || !allowed)
			return ct_error_set(err, EINVAL, (long long)at,
					    "%s has unexpected wire type %u (%s) at byte %zu",
					    field_name(fb, sizeof(fb), m, f, num, path), wt,
					    wire_name(wt), at);
		if (m == &s_profile && note_offset(off, num, at))
			return ct_error_set(err, ENOMEM, -1, "out of memory");
		if (wt == 0) {
			vr = ct_pb_read_varint(buf, end, &pos, &v);
			if (vr)
				return ct_error_set(
					err, EINVAL, (long long)at, "%s varint in %s at byte %zu",
					vr == 1 ? "truncated" : "overlong",
					field_name(fb, sizeof(fb), m, f, num, path), at);
		} else if (wt == 1 || wt == 5) {
			size_t n = wt == 1 ? 8 : 4;
			if (end - pos < n)
				return ct_error_set(err, EINVAL, (long long)at,
						    "truncated fixed-size %s at byte %zu",
						    field_name(fb, sizeof(fb), m, f, num, path),
						    at);
			pos += n;
		} else {
			vr = ct_pb_read_varint(buf, end, &pos, &v);
			if (vr || v > end - pos)
				return ct_error_set(err, EINVAL, (long long)at,
						    "truncated length-delimited %s at byte %zu",
						    field_name(fb, sizeof(fb), m, f, num, path),
						    at);
			size_t sub_end = pos + (size_t)v;
			if (f && f->kind == K_MESSAGE) {
				struct path sub = {path, f->name};
				int rc = walk(buf, pos, sub_end, f->sub, &sub, off, err);
				if (rc)
					return rc;
			} else if (f && f->kind == K_REPEATED && !packed_ok(buf, pos, sub_end)) {
				for (size_t p = pos; p < sub_end;) {
					size_t vat = p;
					vr = ct_pb_read_varint(buf, sub_end, &p, &v);
					if (vr)
						return ct_error_set(
							err, EINVAL, (long long)vat,
							"%s packed varint in %s at byte %zu",
							vr == 1 ? "truncated" : "overlong",
							field_name(fb, sizeof(fb), m, f, num, path),
							vat);
				}
			}
			pos = sub_end;
		}
	}
	return 0;
}

int ct_pb_walk_profile(const uint8_t *buf, size_t len, ct_pb_offsets *off, ct_error *err)
{
	return walk(buf, 0, len, &s_profile, NULL, off, err);
}

void ct_pb_elem_bounds(const uint8_t *buf, size_t len, size_t at, size_t *start, size_t *end)
{
	ct_pb_field f = {0};
	size_t pos = at;
	ct_pb_next_field(buf, len, &pos, &f);
	*start = f.wt == CT_PB_LEN ? f.sub : pos;
	*end = f.wt == CT_PB_LEN ? f.sub_end : pos;
}

int ct_pb_scan(const uint8_t *buf, size_t pos, size_t end, uint64_t *v, size_t nv,
	       ct_pb_len_fn len_fn, void *ctx)
{
	memset(v, 0, nv * sizeof(*v));
	ct_pb_field f = {0};
	while (pos < end) {
		ct_pb_next_field(buf, end, &pos, &f);
		if (f.wt == CT_PB_VARINT && f.num < nv) {
			v[f.num] = f.v;
		} else if (f.wt == CT_PB_LEN && len_fn) {
			int rc = len_fn(ctx, buf, &f);
			if (rc)
				return rc;
		}
	}
	return 0;
}
