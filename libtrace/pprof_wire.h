/*
 * pprof_wire.h — the protobuf wire format of pprof's Profile message: field numbers,
 * the schema walk that proves a message's framing, and the field readers the pprof
 * reader decodes with once the framing is proven.
 *
 * Field numbers are those of proto/profile.proto, one enum per message.
 *
 * ct_pb_walk_profile checks every varint complete, every length inside its parent and
 * every known field with a wire type its type allows (repeated scalars may be packed or
 * not: Go's runtime writes both), and names the first defect's field and byte offset. It
 * also notes where each element of Profile's repeated message fields starts, so that the
 * reader's semantic errors can point at them.
 *
 * The readers after it (ct_pb_next_field, ct_pb_scan) report no errors: they rely on the
 * walk, but still never step past the end they are given.
 *
 * Thread-safety: none needed; functions touch only their arguments.
 */
#ifndef CT_PPROF_WIRE_H
#define CT_PPROF_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/error.h"

enum ct_pb_profile {
	CT_PB_PROFILE_SAMPLE_TYPE = 1,
	CT_PB_PROFILE_SAMPLE = 2,
	CT_PB_PROFILE_MAPPING = 3,
	CT_PB_PROFILE_LOCATION = 4,
	CT_PB_PROFILE_FUNCTION = 5,
	CT_PB_PROFILE_STRING_TABLE = 6,
	CT_PB_PROFILE_DROP_FRAMES = 7,
	CT_PB_PROFILE_KEEP_FRAMES = 8,
	CT_PB_PROFILE_TIME_NANOS = 9,
	CT_PB_PROFILE_DURATION_NANOS = 10,
	CT_PB_PROFILE_PERIOD_TYPE = 11,
	CT_PB_PROFILE_PERIOD = 12,
	CT_PB_PROFILE_COMMENT = 13,
	CT_PB_PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	CT_PB_PROFILE_END, /* one past the last field number */
};

enum ct_pb_value_type { CT_PB_VALUE_TYPE_TYPE = 1, CT_PB_VALUE_TYPE_UNIT, CT_PB_VALUE_TYPE_END };

enum ct_pb_sample { CT_PB_SAMPLE_LOCATION_ID = 1, CT_PB_SAMPLE_VALUE, CT_PB_SAMPLE_LABEL };

enum ct_pb_label {
	CT_PB_LABEL_KEY = 1,
	CT_PB_LABEL_STR,
	CT_PB_LABEL_NUM,
	CT_PB_LABEL_NUM_UNIT,
	CT_PB_LABEL_END,
};

enum ct_pb_mapping {
	CT_PB_MAPPING_ID = 1,
	CT_PB_MAPPING_MEMORY_START,
	CT_PB_MAPPING_MEMORY_LIMIT,
	CT_PB_MAPPING_FILE_OFFSET,
	CT_PB_MAPPING_FILENAME,
	CT_PB_MAPPING_BUILD_ID,
	CT_PB_MAPPING_HAS_FUNCTIONS,
	CT_PB_MAPPING_HAS_FILENAMES,
	CT_PB_MAPPING_HAS_LINE_NUMBERS,
	CT_PB_MAPPING_HAS_INLINE_FRAMES,
	CT_PB_MAPPING_END,
};

enum ct_pb_location {
	CT_PB_LOCATION_ID = 1,
	CT_PB_LOCATION_MAPPING_ID,
	CT_PB_LOCATION_ADDRESS,
	CT_PB_LOCATION_LINE,
	CT_PB_LOCATION_IS_FOLDED,
	CT_PB_LOCATION_END,
};

enum ct_pb_line { CT_PB_LINE_FUNCTION_ID = 1, CT_PB_LINE_LINE, CT_PB_LINE_END };

enum ct_pb_function {
	CT_PB_FUNCTION_ID = 1,
	CT_PB_FUNCTION_NAME,
	CT_PB_FUNCTION_SYSTEM_NAME,
	CT_PB_FUNCTION_FILENAME,
	CT_PB_FUNCTION_START_LINE,
	CT_PB_FUNCTION_END,
};

/* Wire types used by pprof. */
enum { CT_PB_VARINT = 0, CT_PB_LEN = 2 };

/* Where things start in a Profile message, noted by the walk. */
typedef struct {
	/* byte offset of each element of the repeated message fields sample_type ..
	 * function (indexed by field number) — but samples, the many small ones, are only
	 * counted in n (elem[CT_PB_PROFILE_SAMPLE] stays NULL) */
	size_t *elem[CT_PB_PROFILE_STRING_TABLE];
	size_t n[CT_PB_PROFILE_STRING_TABLE], cap[CT_PB_PROFILE_STRING_TABLE];
	size_t field[CT_PB_PROFILE_END]; /* offset of the first occurrence of each field */
} ct_pb_offsets;

void ct_pb_offsets_free(ct_pb_offsets *o);

/* Walks the Profile message buf[0, len), noting offsets into *off (zeroed by the caller).
 * 0, or -EINVAL / -ENOMEM with err naming the field and byte offset. */
int ct_pb_walk_profile(const uint8_t *buf, size_t len, ct_pb_offsets *off, ct_error *err);

/* Reads a varint at *pos (< end). 0, 1 when truncated, 2 when longer than 64 bits. */
static inline int ct_pb_read_varint(const uint8_t *buf, size_t end, size_t *pos, uint64_t *v)
{
	if (*pos < end && buf[*pos] < 0x80) {
		*v = buf[(*pos)++];
		return 0;
	}
	if (end - *pos >= 2 && buf[*pos + 1] < 0x80) { /* the other common case */
		*v = (uint64_t)(buf[*pos] & 0x7f) | (uint64_t)buf[*pos + 1] << 7;
		*pos += 2;
		return 0;
	}
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (*pos >= end)
			return 1;
		uint8_t b = buf[(*pos)++];
		if (shift == 63 && b > 1)
			return 2;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return 2;
}

/* The varint at *pos, or 0 (pos then at end) if it were cut. */
static inline uint64_t ct_pb_get_varint(const uint8_t *buf, size_t end, size_t *pos)
{
	uint64_t v = 0;
	if (ct_pb_read_varint(buf, end, pos, &v))
		*pos = end;
	return v;
}

/* One field of a message: its number and wire type, and its varint value (wire type 0)
 * or its payload [sub, sub_end) (wire type 2). */
typedef struct {
	uint64_t num, v;
	unsigned wt;
	size_t sub, sub_end;
} ct_pb_field;

/* Reads the field at *pos (< end) and moves past it. */
static inline void ct_pb_next_field(const uint8_t *buf, size_t end, size_t *pos, ct_pb_field *f)
{
	uint64_t tag = ct_pb_get_varint(buf, end, pos);
	f->num = tag >> 3;
	f->wt = tag & 7;
	if (f->wt == CT_PB_VARINT) {
		f->v = ct_pb_get_varint(buf, end, pos);
	} else if (f->wt == CT_PB_LEN) {
		uint64_t n = ct_pb_get_varint(buf, end, pos);
		f->sub = *pos;
		f->sub_end = n < end - *pos ? *pos + (size_t)n : end;
		*pos = f->sub_end;
	} else {
		size_t n = f->wt == 1 ? 8 : 4;
		*pos = n < end - *pos ? *pos + n : end;
	}
}

/* The payload [*start, *end) of the length-delimited field whose tag is at byte at. */
void ct_pb_elem_bounds(const uint8_t *buf, size_t len, size_t at, size_t *start, size_t *end);

/* Called by ct_pb_scan for each length-delimited field of the message; nonzero stops the
 * scan and is returned. */
typedef int (*ct_pb_len_fn)(void *ctx, const uint8_t *buf, const ct_pb_field *f);

/* Scans the message in buf[pos, end): each varint field numbered below nv goes to
 * v[num] (the last occurrence wins, as protobuf decoders do; v is zeroed first), each
 * length-delimited one to len_fn when given; anything else is skipped. 0 or len_fn's
 * nonzero result. */
int ct_pb_scan(const uint8_t *buf, size_t pos, size_t end, uint64_t *v, size_t nv,
	       ct_pb_len_fn len_fn, void *ctx);

#endif
