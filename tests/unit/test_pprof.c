/*
 * test_pprof.c — the pprof codec (libtrace/pprof.c): encode → decode round trips that
 * keep every field, gzip and raw framing, hostile inputs (every truncation, bad string
 * indexes, dangling and zero ids, wrong value counts, bad wire types, gzip bombs) that
 * must fail with a precise message and no partial profile, and interoperability with Go:
 * profiles written by Go's runtime decode, and `go tool pprof` reads ours (both run here
 * when `go` is installed).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "libtrace/pprof.h"
#include "proto/profile.pb-c.h"
#include "tests/unit/ct_check.h"

/* Allocation failure injection (see tests/unit/pprof.mk): when alloc_countdown is n >= 0,
 * the allocation n calls from now fails, once. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static long alloc_countdown = -1;

static bool alloc_fails(void)
{
	return alloc_countdown >= 0 && alloc_countdown-- == 0;
}

void *__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}

/* A profile that sets every field the model has. */
static ct_profile *full_profile(void)
{
	ct_profile *p = ct_profile_new();
	ck_assert_int_eq(ct_profile_add_sample_type(p, "alloc_objects", "count"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "alloc_space", "bytes"), 0);
	ct_mapping m = {.id = 7,
			.memory_start = 0x400000,
			.memory_limit = 0x480000,
			.file_offset = 0x1000,
			.filename = "/usr/bin/prog",
			.build_id = "0123456789abcdef",
			.has_functions = true,
			.has_filenames = true,
			.has_line_numbers = true,
			.has_inline_frames = false};
	uint32_t m1 = ct_profile_add_mapping(p, &m);
	m = (ct_mapping){.memory_start = 0x7f0000000000,
			 .memory_limit = 0x7f0000100000,
			 .filename = "/lib/x86_64-linux-gnu/libc.so.6",
			 .has_inline_frames = true};
	uint32_t m2 = ct_profile_add_mapping(p, &m);
	uint32_t fmain = ct_profile_add_function(p, "main", "main", "main.c", 10);
	uint32_t fwork = ct_profile_add_function(p, "ns::work(int)", "_ZN2ns4workEi", "w.cc", -3);
	uint32_t finl = ct_profile_add_function(p, "inl", "", "w.h", 0);
	ct_line lines[2] = {{finl, 12}, {fwork, 40}};
	uint32_t l0 = ct_profile_add_location(p, m1, 0x401234, lines, 2);
	ct_line lmain = {fmain, 22};
	uint32_t l1 = ct_profile_add_location(p, m1, 0x400100, &lmain, 1);
	uint32_t l2 = ct_profile_add_location(p, m2, 0x7f0000001000, NULL, 0);
	uint32_t l3 = ct_profile_add_location(p, 0, 0, &lmain, 1);
	p->locations[l2].is_folded = true;
	uint32_t s0[3] = {l0, l1, l3}, s1[2] = {l2, l1};
	int64_t v0[2] = {5, 5120}, v1[2] = {-1, INT64_MAX};
	ct_label lab[3] = {{.key = "thread", .str = "worker"},
			   {.key = "bytes", .num = 4096, .num_unit = "bytes"},
			   {.key = "n", .num = -7}};
	ck_assert_int_eq(ct_profile_add_sample(p, s0, 3, v0, lab, 3), 0);
	ck_assert_int_eq(ct_profile_add_sample(p, s1, 2, v1, NULL, 0), 0);
	ck_assert_int_eq(ct_profile_add_sample(p, NULL, 0, v0, lab, 1), 0);
	p->drop_frames = ct_profile_str(p, "^malloc$");
	p->keep_frames = ct_profile_str(p, "^main$");
	p->time_nanos = 1700000000123456789;
	p->duration_nanos = 2500000000;
	p->period_type.type = ct_profile_str(p, "space");
	p->period_type.unit = ct_profile_str(p, "bytes");
	p->period = 524288;
	ck_assert_int_eq(ct_profile_add_comment(p, "ctrace test"), 0);
	ck_assert_int_eq(ct_profile_add_comment(p, "second comment"), 0);
	p->default_sample_type = ct_profile_str(p, "alloc_space");
	return p;
}

static void assert_same(const ct_profile *a, const ct_profile *b)
{
	ck_assert_uint_eq(a->nsample_types, b->nsample_types);
	for (uint32_t i = 0; i < a->nsample_types; i++) {
		ck_assert_str_eq(a->sample_types[i].type, b->sample_types[i].type);
		ck_assert_str_eq(a->sample_types[i].unit, b->sample_types[i].unit);
	}
	ck_assert_uint_eq(a->nmappings, b->nmappings);
	for (uint32_t i = 0; i < a->nmappings; i++) {
		const ct_mapping *x = &a->mappings[i], *y = &b->mappings[i];
		ck_assert_uint_eq(x->id, y->id);
		ck_assert_uint_eq(x->memory_start, y->memory_start);
		ck_assert_uint_eq(x->memory_limit, y->memory_limit);
		ck_assert_uint_eq(x->file_offset, y->file_offset);
		ck_assert_str_eq(x->filename, y->filename);
		ck_assert_str_eq(x->build_id, y->build_id);
		ck_assert_int_eq(x->has_functions, y->has_functions);
		ck_assert_int_eq(x->has_filenames, y->has_filenames);
		ck_assert_int_eq(x->has_line_numbers, y->has_line_numbers);
		ck_assert_int_eq(x->has_inline_frames, y->has_inline_frames);
	}
	ck_assert_uint_eq(a->nfunctions, b->nfunctions);
	for (uint32_t i = 0; i < a->nfunctions; i++) {
		const ct_function *x = &a->functions[i], *y = &b->functions[i];
		ck_assert_uint_eq(x->id, y->id);
		ck_assert_str_eq(x->name, y->name);
		ck_assert_str_eq(x->system_name, y->system_name);
		ck_assert_str_eq(x->filename, y->filename);
		ck_assert_int_eq(x->start_line, y->start_line);
	}
	ck_assert_uint_eq(a->nlocations, b->nlocations);
	for (uint32_t i = 0; i < a->nlocations; i++) {
		const ct_location *x = &a->locations[i], *y = &b->locations[i];
		ck_assert_uint_eq(x->id, y->id);
		ck_assert_uint_eq(x->mapping, y->mapping);
		ck_assert_uint_eq(x->address, y->address);
		ck_assert_int_eq(x->is_folded, y->is_folded);
		ck_assert_uint_eq(x->nlines, y->nlines);
		for (uint32_t k = 0; k < x->nlines; k++) {
			ck_assert_uint_eq(x->lines[k].function, y->lines[k].function);
			ck_assert_int_eq(x->lines[k].line, y->lines[k].line);
		}
	}
	ck_assert_uint_eq(a->nsamples, b->nsamples);
	for (size_t i = 0; i < a->nsamples; i++) {
		const ct_sample *x = &a->samples[i], *y = &b->samples[i];
		ck_assert_uint_eq(x->nlocs, y->nlocs);
		for (uint32_t k = 0; k < x->nlocs; k++)
			ck_assert_uint_eq(x->locs[k], y->locs[k]);
		for (uint32_t k = 0; k < a->nsample_types; k++)
			ck_assert_int_eq(x->values[k], y->values[k]);
		ck_assert_uint_eq(x->nlabels, y->nlabels);
		for (uint32_t k = 0; k < x->nlabels; k++) {
			const ct_label *u = &x->labels[k], *v = &y->labels[k];
			ck_assert_str_eq(u->key, v->key);
			ck_assert_int_eq(!u->str, !v->str);
			if (u->str) {
				ck_assert_str_eq(u->str, v->str);
			} else {
				ck_assert_int_eq(u->num, v->num);
				ck_assert_int_eq(!u->num_unit, !v->num_unit);
				if (u->num_unit)
					ck_assert_str_eq(u->num_unit, v->num_unit);
			}
		}
	}
	ck_assert_str_eq(a->drop_frames, b->drop_frames);
	ck_assert_str_eq(a->keep_frames, b->keep_frames);
	ck_assert_int_eq(a->time_nanos, b->time_nanos);
	ck_assert_int_eq(a->duration_nanos, b->duration_nanos);
	ck_assert_str_eq(a->period_type.type, b->period_type.type);
	ck_assert_str_eq(a->period_type.unit, b->period_type.unit);
	ck_assert_int_eq(a->period, b->period);
	ck_assert_uint_eq(a->ncomments, b->ncomments);
	for (uint32_t i = 0; i < a->ncomments; i++)
		ck_assert_str_eq(a->comments[i], b->comments[i]);
	ck_assert_str_eq(a->default_sample_type, b->default_sample_type);
}

/* Decodes buf expecting failure; returns the message (static) after checking the
 * contract: -EINVAL, *out NULL, a message. */
static const char *decode_fails(const uint8_t *buf, size_t len)
{
	static ct_error err;
	ct_profile *out = (ct_profile *)&err; /* must be reset to NULL */
	memset(&err, 0, sizeof(err));
	int rc = ct_pprof_decode(buf, len, &out, &err);
	ck_assert_msg(rc == -EINVAL, "decode of %zu bytes returned %d, expected -EINVAL", len, rc);
	ck_assert_ptr_null(out);
	ck_assert_msg(err.msg[0] != '\0', "no error message");
	return err.msg;
}

static ct_profile *decode_ok(const uint8_t *buf, size_t len)
{
	ct_error err = {{0}, 0};
	ct_profile *out = NULL;
	int rc = ct_pprof_decode(buf, len, &out, &err);
	ck_assert_msg(rc == 0, "decode failed (%d): %s", rc, err.msg);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(test_round_trip)
{
	ct_profile *p = full_profile();
	for (int gz = 0; gz < 2; gz++) {
		uint8_t *buf;
		size_t len;
		ck_assert_int_eq(ct_pprof_encode(p, gz, &buf, &len), 0);
		ck_assert_uint_gt(len, 20);
		ck_assert_int_eq(gz && buf[0] == 0x1f && buf[1] == 0x8b, gz);
		ct_profile *q = decode_ok(buf, len);
		assert_same(p, q);
		/* Decoding what we decoded and re-encoded changes nothing either. */
		uint8_t *buf2;
		size_t len2;
		ck_assert_int_eq(ct_pprof_encode(q, gz, &buf2, &len2), 0);
		if (!gz) {
			ck_assert_uint_eq(len, len2);
			ck_assert_int_eq(memcmp(buf, buf2, len), 0);
		}
		ct_profile *r = decode_ok(buf2, len2);
		assert_same(p, r);
		ct_profile_free(q);
		ct_profile_free(r);
		free(buf);
		free(buf2);
	}
	ct_profile_free(p);
}
END_TEST

START_TEST(test_string_table_layout)
{
	ct_profile *p = full_profile();
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(ct_pprof_encode(p, false, &buf, &len), 0);
	Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_gt(m->n_string_table, 10);
	ck_assert_str_eq(m->string_table[0], "");
	/* Every string once. */
	for (size_t i = 0; i < m->n_string_table; i++)
		for (size_t k = i + 1; k < m->n_string_table; k++)
			ck_assert_str_ne(m->string_table[i], m->string_table[k]);
	ck_assert_uint_eq(m->mapping[0]->id, 7);
	ck_assert_uint_eq(m->mapping[1]->id, 8);
	ck_assert_uint_eq(m->location[3]->mapping_id, 0);
	ck_assert_str_eq(m->string_table[m->sample_type[1]->type], "alloc_space");
	perftools__profiles__profile__free_unpacked(m, NULL);
	free(buf);
	ct_profile_free(p);
}
END_TEST

START_TEST(test_empty_profile)
{
	ct_profile *p = ct_profile_new();
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(ct_pprof_encode(p, false, &buf, &len), 0);
	ct_profile *q = decode_ok(buf, len);
	assert_same(p, q);
	ct_profile_free(q);
	free(buf);
	ct_profile_free(p);
	const char *msg = decode_fails((const uint8_t *)"", 0);
	ck_assert_ptr_nonnull(strstr(msg, "empty"));
}
END_TEST

START_TEST(test_encode_rejects_bad_model)
{
	ct_profile *p = full_profile();
	uint8_t *buf = (uint8_t *)"x";
	size_t len = 1;
	p->samples[0].locs[1] = 1000;
	ck_assert_int_eq(ct_pprof_encode(p, true, &buf, &len), -EINVAL);
	ck_assert_ptr_null(buf);
	p->samples[0].locs[1] = 0;
	p->locations[1].id = p->locations[0].id;
	ck_assert_int_eq(ct_pprof_encode(p, true, &buf, &len), -EINVAL);
	p->locations[1].id = 0;
	ck_assert_int_eq(ct_pprof_encode(p, true, &buf, &len), -EINVAL);
	p->locations[1].id = 1000;
	p->locations[1].mapping = 3;
	ck_assert_int_eq(ct_pprof_encode(p, true, &buf, &len), -EINVAL);
	p->locations[1].mapping = 1;
	ck_assert_int_eq(ct_pprof_encode(p, true, &buf, &len), 0);
	free(buf);
	ct_profile_free(p);
}
END_TEST

/* Every prefix of a valid message either fails cleanly or (cut between two top-level
 * fields after the string table) is itself a valid, smaller profile. */
START_TEST(test_truncations)
{
	ct_profile *p = full_profile();
	uint8_t *raw, *gz;
	size_t rawlen, gzlen;
	ck_assert_int_eq(ct_pprof_encode(p, false, &raw, &rawlen), 0);
	ck_assert_int_eq(ct_pprof_encode(p, true, &gz, &gzlen), 0);
	int valid = 0, truncated = 0;
	for (size_t n = 0; n < rawlen; n++) {
		uint8_t *cut = malloc(n ? n : 1); /* exact size, so ASan sees over-reads */
		memcpy(cut, raw, n);
		ct_error err = {{0}, 0};
		ct_profile *out = NULL;
		int rc = ct_pprof_decode(cut, n, &out, &err);
		if (rc == 0) {
			valid++;
			ck_assert_ptr_nonnull(out);
			ct_profile_free(out);
		} else {
			ck_assert_int_eq(rc, -EINVAL);
			ck_assert_ptr_null(out);
			ck_assert(err.msg[0]);
			truncated += strstr(err.msg, "truncated") != NULL;
		}
		free(cut);
	}
	/* Valid prefixes end between two top-level fields after the last string that
	 * fields 1-5 use: after a later string (those of drop/keep_frames, the comments,
	 * period_type) or after one of the fields 7-13. */
	ck_assert_int_le(valid, 16);
	ck_assert_int_gt(truncated, (int)rawlen / 2);
	/* gzip carries a length and CRC: no prefix of it is valid. */
	for (size_t n = 0; n < gzlen; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, gz, n);
		decode_fails(cut, n);
		free(cut);
	}
	free(raw);
	free(gz);
	ct_profile_free(p);
}
END_TEST

START_TEST(test_wire_errors)
{
	const char *msg;
	/* field 2 (sample), length 5, only 1 byte follows */
	static const uint8_t t1[] = {0x32, 0x00, 0x12, 0x05, 0x08};
	msg = decode_fails(t1, sizeof(t1));
	ck_assert_str_eq(msg, "truncated length-delimited field 2 (sample) at byte 2");
	/* sample.location_id varint cut short */
	static const uint8_t t2[] = {0x32, 0x00, 0x12, 0x02, 0x08, 0x80};
	msg = decode_fails(t2, sizeof(t2));
	ck_assert_str_eq(msg, "truncated varint in field 1 (sample.location_id) at byte 4");
	/* a varint longer than 10 bytes */
	static const uint8_t t3[] = {0x48, 0xff, 0xff, 0xff, 0xff, 0xff,
				     0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	msg = decode_fails(t3, sizeof(t3));
	ck_assert_str_eq(msg, "overlong varint in field 9 (time_nanos) at byte 0");
	/* time_nanos sent length-delimited */
	static const uint8_t t4[] = {0x4a, 0x00};
	msg = decode_fails(t4, sizeof(t4));
	ck_assert_str_eq(
		msg,
		"field 9 (time_nanos) has unexpected wire type 2 (length-delimited) at byte 0");
	/* a group */
	static const uint8_t t5[] = {0x32, 0x00, 0x7b};
	msg = decode_fails(t5, sizeof(t5));
	ck_assert_ptr_nonnull(strstr(msg, "start-group"));
	/* field number 0 */
	static const uint8_t t6[] = {0x00, 0x00};
	msg = decode_fails(t6, sizeof(t6));
	ck_assert_str_eq(msg, "invalid field number 0 in Profile at byte 0");
	/* packed location ids with a cut varint inside a well-framed run */
	static const uint8_t t7[] = {0x32, 0x00, 0x12, 0x04, 0x0a, 0x02, 0x01, 0x80};
	msg = decode_fails(t7, sizeof(t7));
	ck_assert_str_eq(msg, "truncated packed varint in field 1 (sample.location_id) at byte 7");
	/* a nested message whose length overruns its parent */
	static const uint8_t t8[] = {0x32, 0x00, 0x22, 0x03, 0x22, 0x05, 0x08};
	msg = decode_fails(t8, sizeof(t8));
	ck_assert_str_eq(msg, "truncated length-delimited field 4 (location.line) at byte 4");
	/* unknown fields of every wire type are skipped */
	static const uint8_t ok[] = {0x32, 0x00, 0xf8, 0x01, 0x05, 0xf9, 0x01, 1,    2,
				     3,	   4,	 5,    6,    7,	   8,	 0xfd, 0x01, 1,
				     2,	   3,	 4,    0xfa, 0x01, 0x01, 0x00};
	ct_profile_free(decode_ok(ok, sizeof(ok)));
	/* ... but must be complete */
	msg = decode_fails(ok, sizeof(ok) - 1);
	ck_assert_str_eq(msg, "truncated length-delimited unknown field 31 of Profile at byte 21");
	/* err is optional */
	ct_profile *out = NULL;
	ck_assert_int_eq(ct_pprof_decode(t1, sizeof(t1), &out, NULL), -EINVAL);
	ck_assert_ptr_null(out);
}
END_TEST

/* Packs a hand-made message (for inputs our encoder would never produce). */
static uint8_t *pack(const Perftools__Profiles__Profile *m, size_t *len)
{
	*len = perftools__profiles__profile__get_packed_size(m);
	uint8_t *buf = malloc(*len + 1);
	perftools__profiles__profile__pack(m, buf);
	return buf;
}

/* A minimal valid message to break in different ways. */
struct hand {
	Perftools__Profiles__Profile p;
	Perftools__Profiles__ValueType vt, *vtp[1];
	Perftools__Profiles__Sample s, *sp[1];
	Perftools__Profiles__Label lab, *labp[1];
	Perftools__Profiles__Mapping map, *mapp[1];
	Perftools__Profiles__Location loc, *locp[1];
	Perftools__Profiles__Line line, *linep[1];
	Perftools__Profiles__Function fn, *fnp[1];
	uint64_t locids[1];
	int64_t values[1];
	char *strs[4];
};

static void hand_init(struct hand *h)
{
	memset(h, 0, sizeof(*h));
	perftools__profiles__profile__init(&h->p);
	perftools__profiles__value_type__init(&h->vt);
	perftools__profiles__sample__init(&h->s);
	perftools__profiles__label__init(&h->lab);
	perftools__profiles__mapping__init(&h->map);
	perftools__profiles__location__init(&h->loc);
	perftools__profiles__line__init(&h->line);
	perftools__profiles__function__init(&h->fn);
	h->strs[0] = "";
	h->strs[1] = "samples";
	h->strs[2] = "count";
	h->strs[3] = "main";
	h->p.n_string_table = 4;
	h->p.string_table = h->strs;
	h->vt.type = 1;
	h->vt.unit = 2;
	h->vtp[0] = &h->vt;
	h->p.n_sample_type = 1;
	h->p.sample_type = h->vtp;
	h->map.id = 1;
	h->map.filename = 3;
	h->mapp[0] = &h->map;
	h->p.n_mapping = 1;
	h->p.mapping = h->mapp;
	h->fn.id = 1;
	h->fn.name = 3;
	h->fnp[0] = &h->fn;
	h->p.n_function = 1;
	h->p.function = h->fnp;
	h->line.function_id = 1;
	h->line.line = 5;
	h->linep[0] = &h->line;
	h->loc.id = 1;
	h->loc.mapping_id = 1;
	h->loc.address = 0x1000;
	h->loc.n_line = 1;
	h->loc.line = h->linep;
	h->locp[0] = &h->loc;
	h->p.n_location = 1;
	h->p.location = h->locp;
	h->locids[0] = 1;
	h->values[0] = 3;
	h->lab.key = 3;
	h->lab.str = 1;
	h->labp[0] = &h->lab;
	h->s.n_location_id = 1;
	h->s.location_id = h->locids;
	h->s.n_value = 1;
	h->s.value = h->values;
	h->s.n_label = 1;
	h->s.label = h->labp;
	h->sp[0] = &h->s;
	h->p.n_sample = 1;
	h->p.sample = h->sp;
}

static const char *hand_fails(struct hand *h)
{
	size_t len;
	uint8_t *buf = pack(&h->p, &len);
	const char *msg = decode_fails(buf, len);
	free(buf);
	return msg;
}

START_TEST(test_semantic_errors)
{
	struct hand h;
	size_t len;
	hand_init(&h);
	uint8_t *buf = pack(&h.p, &len);
	ct_profile *p = decode_ok(buf, len);
	ck_assert_str_eq(p->functions[p->locations[0].lines[0].function].name, "main");
	ck_assert_str_eq(p->samples[0].labels[0].str, "samples");
	ct_profile_free(p);
	free(buf);

	const char *msg;
	hand_init(&h);
	h.fn.name = 4;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "function 0 name: string index 4 out of range"));
	hand_init(&h);
	h.lab.key = -1;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "sample 0 label key: string index -1 out of range"));
	hand_init(&h);
	h.vt.unit = 99;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "sample_type 0 unit: string index 99"));
	hand_init(&h);
	h.p.period = 1;
	h.p.comment = (int64_t[]){1, 4};
	h.p.n_comment = 2;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "comment 1: string index 4"));
	hand_init(&h);
	h.p.drop_frames = 10;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "drop_frames: string index 10"));

	hand_init(&h);
	h.strs[0] = "x";
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "string_table[0] must be the empty string"));
	hand_init(&h);
	h.p.n_string_table = 0;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "string_table[0]"));

	hand_init(&h);
	h.locids[0] = 2;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "sample 0: location id 2 not found at byte"));
	hand_init(&h);
	h.loc.mapping_id = 9;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "location 0 (id 1): mapping id 9 not found"));
	hand_init(&h);
	h.line.function_id = 9;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "unknown function id 9"));
	hand_init(&h);
	h.line.function_id = 0;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "zero function id"));

	hand_init(&h);
	h.s.n_value = 0;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "sample 0: 0 values for 1 sample types"));
	hand_init(&h);
	h.p.n_sample_type = 0;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "1 values for 0 sample types"));

	hand_init(&h);
	h.map.id = 0;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "mapping 0: zero id"));
	hand_init(&h);
	h.loc.id = 0;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "location 0: zero id"));
	hand_init(&h);
	h.fn.id = 0;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "function 0: zero id"));

	/* duplicate ids */
	hand_init(&h);
	Perftools__Profiles__Function fn2 = h.fn, *fnp2[2] = {&h.fn, &fn2};
	h.p.function = fnp2;
	h.p.n_function = 2;
	msg = hand_fails(&h);
	ck_assert_ptr_nonnull(strstr(msg, "function 1: duplicate id 1"));

	/* the offset named is where the offending element starts */
	hand_init(&h);
	h.locids[0] = 5;
	buf = pack(&h.p, &len);
	ct_error err;
	ct_profile *out;
	ck_assert_int_eq(ct_pprof_decode(buf, len, &out, &err), -EINVAL);
	ck_assert_int_eq(err.offset, 6); /* after sample_type: tag, length, 2 x 2 bytes */
	ck_assert_uint_eq(buf[err.offset], 0x12);
	free(buf);
}
END_TEST

/* Go writes repeated scalars unpacked when there are one or two of them, packed
 * otherwise; both can occur in one field. */
START_TEST(test_unpacked_and_packed)
{
	static const uint8_t good[] = {
		0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,	       /* sample_type {a, b} */
		0x0a, 0x04, 0x08, 0x03, 0x10, 0x02,	       /* sample_type {c, b} */
		0x12, 0x08,				       /* sample: */
		0x08, 0x01, 0x08, 0x02,			       /*   location_id 1, 2 unpacked */
		0x12, 0x02, 0x05, 0x06,			       /*   value [5, 6] packed */
		0x22, 0x02, 0x08, 0x01,			       /* location {id 1} */
		0x22, 0x02, 0x08, 0x02,			       /* location {id 2} */
		0x32, 0x00, 0x32, 0x01, 'a',  0x32, 0x01, 'b', /* string_table "", a, b */
		0x32, 0x01, 'c',			       /*   c */
		0x68, 0x01, 0x6a, 0x02, 0x02, 0x03,	       /* comment 1; [2, 3] packed */
	};
	ct_profile *p = decode_ok(good, sizeof(good));
	ck_assert_uint_eq(p->nsamples, 1);
	ck_assert_uint_eq(p->samples[0].nlocs, 2);
	ck_assert_uint_eq(p->samples[0].locs[1], 1);
	ck_assert_int_eq(p->samples[0].values[0], 5);
	ck_assert_int_eq(p->samples[0].values[1], 6);
	ck_assert_str_eq(p->sample_types[1].type, "c");
	ck_assert_uint_eq(p->ncomments, 3);
	ck_assert_str_eq(p->comments[0], "a");
	ck_assert_str_eq(p->comments[2], "c");
	ct_profile_free(p);
	/* A third value, unpacked after the packed ones: 3 values for 2 sample types. */
	static const uint8_t bad[] = {
		0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x0a, 0x04, 0x08, 0x03, 0x10,
		0x02, 0x12, 0x0a, 0x08, 0x01, 0x08, 0x02, 0x12, 0x02, 0x05, 0x06,
		0x10, 0x07, 0x22, 0x02, 0x08, 0x01, 0x22, 0x02, 0x08, 0x02, 0x32,
		0x00, 0x32, 0x01, 'a',	0x32, 0x01, 'b',  0x32, 0x01, 'c',
	};
	ck_assert_str_eq(decode_fails(bad, sizeof(bad)),
			 "sample 0: 3 values for 2 sample types at byte 12");
}
END_TEST

/* Ids need not be 1, 2, 3, ...: references resolve through the ids whatever they are.
 * As protobuf-c decodes: the last scalar or period_type wins; unknown fields of any wire
 * type are skipped inside submessages too. */
START_TEST(test_sparse_ids_and_repeats)
{
	uint8_t msg[] = {
		0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,		/* sample_type {s, c} */
		0x1a, 0x02, 0x08, 0x09,				/* mapping {id 9} */
		0x2a, 0x04, 0x08, 0x32, 0x10, 0x03,		/* function {id 50, main} */
		0x22, 0x0a, 0x08, 0x07, 0x10, 0x09,		/* location {id 7, mapping 9, */
		0x22, 0x04, 0x08, 0x32, 0x10, 0x04,		/*   line {function 50, 4}} */
		0x22, 0x06, 0x08, 0x03, 0x22, 0x02, 0x08, 0x32, /* location {id 3, line {50}} */
		0x12, 0x0c, 0x0a, 0x03, 0x03, 0x07, 0x03,	/* sample: location_id [3, 7, 3] */
		0x10, 0x05, 0x4d, 0x01, 0x02, 0x03, 0x04,	/*   value 5; unknown fixed32 */
		0x32, 0x00, 0x32, 0x01, 's',  0x32, 0x01, 'c',	/* string_table "", s, c, */
		0x32, 0x04, 'm',  'a',	'i',  'n',		/*   main */
		0x5a, 0x02, 0x08, 0x01, 0x5a, 0x02, 0x10, 0x02, /* period_type {s}, {unit c} */
		0x48, 0x05, 0x48, 0x06,				/* time_nanos 5, then 6 */
	};
	ct_profile *p = decode_ok(msg, sizeof(msg));
	ck_assert_uint_eq(p->nlocations, 2);
	ck_assert_uint_eq(p->nsamples, 1);
	ck_assert_uint_eq(p->samples[0].nlocs, 3);
	ck_assert_uint_eq(p->samples[0].locs[0], 1);
	ck_assert_uint_eq(p->samples[0].locs[1], 0);
	ck_assert_uint_eq(p->samples[0].locs[2], 1);
	ck_assert_int_eq(p->samples[0].values[0], 5);
	ck_assert_uint_eq(p->locations[0].id, 7);
	ck_assert_uint_eq(p->locations[0].mapping, 1);
	ck_assert_uint_eq(p->locations[0].lines[0].function, 0);
	ck_assert_int_eq(p->locations[0].lines[0].line, 4);
	ck_assert_str_eq(p->functions[0].name, "main");
	ck_assert_str_eq(p->period_type.type, "");
	ck_assert_str_eq(p->period_type.unit, "c");
	ck_assert_int_eq(p->time_nanos, 6);
	ct_profile_free(p);
	msg[41] = 0x08; /* location_id 7 -> 8 */
	ck_assert_str_eq(decode_fails(msg, sizeof(msg)),
			 "sample 0: location id 8 not found at byte 36");
}
END_TEST

/* Records with the same stack and labels are one sample, their values summed: a million
 * identical 14-byte records decode to one sample, not to a million (the memory a small
 * gzip of them could otherwise claim). Other labels, or an overflowing sum, stay apart. */
START_TEST(test_identical_samples_merged)
{
	static const uint8_t head[] = {
		0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,		    /* sample_type {s, c} */
		0x2a, 0x04, 0x08, 0x01, 0x10, 0x03,		    /* function {id 1, main} */
		0x22, 0x06, 0x08, 0x01, 0x22, 0x02, 0x08, 0x01,	    /* location {id 1, line {1}} */
		0x32, 0x00, 0x32, 0x01, 's',  0x32, 0x01, 'c',	    /* string_table "", s, c, */
		0x32, 0x04, 'm',  'a',	'i',  'n',  0x32, 0x01, 't' /*   main, t */
	};
	/* sample {location_id [1], value [2], label {key t, num 7}}; then one whose value is
	 * INT64_MAX (the sum would overflow) and one labelled num 8 */
	static const uint8_t rec[] = {0x12, 0x0c, 0x0a, 0x01, 0x01, 0x12, 0x01,
				      0x02, 0x1a, 0x04, 0x08, 0x04, 0x18, 0x07};
	static const uint8_t max[] = {0x12, 0x14, 0x0a, 0x01, 0x01, 0x12, 0x09, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
				      0x1a, 0x04, 0x08, 0x04, 0x18, 0x07};
	enum { N = 1000000 };
	size_t len = sizeof(head) + (size_t)(N + 1) * sizeof(rec) + sizeof(max);
	uint8_t *msg = malloc(len), *at = msg + sizeof(head);
	ck_assert_ptr_nonnull(msg);
	memcpy(msg, head, sizeof(head));
	for (int i = 0; i < N; i++, at += sizeof(rec))
		memcpy(at, rec, sizeof(rec));
	memcpy(at, max, sizeof(max));
	at += sizeof(max);
	memcpy(at, rec, sizeof(rec));
	at[13] = 0x08;
	ct_profile *p = decode_ok(msg, len);
	ck_assert_uint_eq(p->nsamples, 3);
	ck_assert_int_eq(p->samples[0].values[0], 2 * N);
	ck_assert_int_eq(p->samples[1].values[0], INT64_MAX);
	ck_assert_int_eq(p->samples[0].labels[0].num, 7);
	ck_assert_int_eq(p->samples[1].labels[0].num, 7);
	ck_assert_int_eq(p->samples[2].labels[0].num, 8);
	ct_profile_free(p);
	free(msg);
}
END_TEST

/* gzip (one member) of n bytes of buf, or of zeros when buf is NULL. */
static uint8_t *gzip_bytes(const uint8_t *buf, size_t n, size_t *len)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY),
			 Z_OK);
	size_t cap = deflateBound(&zs, n);
	uint8_t *out = malloc(cap);
	static const uint8_t zeros[1 << 16];
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	for (size_t done = 0; done < n || !done;) {
		size_t k = n - done < sizeof(zeros) ? n - done : sizeof(zeros);
		zs.next_in = (Bytef *)(buf ? buf + done : zeros);
		zs.avail_in = (uInt)k;
		done += k;
		ck_assert_int_ne(deflate(&zs, done == n ? Z_FINISH : Z_NO_FLUSH), Z_STREAM_ERROR);
		if (!n)
			break;
	}
	*len = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

START_TEST(test_gzip_bomb)
{
	size_t len;
	uint8_t *bomb = gzip_bytes(NULL, 64u << 20, &len);
	ck_assert_uint_lt(len, 200000);
	ct_error err;
	ct_profile *out = (ct_profile *)&err;
	ck_assert_int_eq(ct_pprof_decode_limit(bomb, len, 1u << 20, &out, &err), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(err.msg, "more than 1048576 bytes (limit)"));
	ck_assert_int_gt(err.offset, 0);
	ck_assert_int_lt(err.offset, (long long)len);
	free(bomb);
	/* Exactly at the limit is allowed to inflate (then fails as a message: zeros). */
	bomb = gzip_bytes(NULL, 1u << 20, &len);
	ck_assert_int_eq(ct_pprof_decode_limit(bomb, len, 1u << 20, &out, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "invalid field number 0"));
	ck_assert_ptr_nonnull(strstr(err.msg, "(decompressed)"));
	free(bomb);
	/* The default limit is 1 GiB. */
	ck_assert_uint_eq(CT_PPROF_MAX_RAW, 1u << 30);
}
END_TEST

START_TEST(test_gzip_errors)
{
	ct_profile *p = full_profile();
	uint8_t *gz;
	size_t len;
	ck_assert_int_eq(ct_pprof_encode(p, true, &gz, &len), 0);
	uint8_t *bad = malloc(len + 8);
	/* trailing garbage */
	memcpy(bad, gz, len);
	memcpy(bad + len, "garbage!", 8);
	const char *msg = decode_fails(bad, len + 8);
	char want[80];
	snprintf(want, sizeof(want), "trailing data after gzip stream at byte %zu", len);
	ck_assert_str_eq(msg, want);
	/* a flipped byte in the deflate data or CRC */
	memcpy(bad, gz, len);
	bad[len - 6] ^= 0x55;
	msg = decode_fails(bad, len);
	ck_assert_ptr_nonnull(strstr(msg, "corrupt gzip stream at byte"));
	/* Concatenated members are one stream: split the message anywhere. */
	uint8_t *raw;
	size_t rawlen, alen, blen;
	ck_assert_int_eq(ct_pprof_encode(p, false, &raw, &rawlen), 0);
	uint8_t *a = gzip_bytes(raw, rawlen / 3, &alen);
	uint8_t *b = gzip_bytes(raw + rawlen / 3, rawlen - rawlen / 3, &blen);
	uint8_t *two = malloc(alen + blen);
	memcpy(two, a, alen);
	memcpy(two + alen, b, blen);
	ct_profile *q = decode_ok(two, alen + blen);
	assert_same(p, q);
	ct_profile_free(q);
	free(a);
	free(b);
	free(two);
	free(raw);
	free(bad);
	free(gz);
	ct_profile_free(p);
}
END_TEST

START_TEST(test_files)
{
	char dir[64];
	ct_check_tmpdir(dir, sizeof(dir), "pprof");
	char path[256];
	snprintf(path, sizeof(path), "%s/heap.pb.gz", dir);
	ct_profile *p = full_profile();
	ck_assert_int_eq(ct_pprof_write_file(p, path), 0);
	ck_assert_int_eq(ct_pprof_write_file(p, path), 0); /* replaces */
	ct_error err;
	ct_profile *q = NULL;
	ck_assert_int_eq(ct_pprof_read_file(path, &q, &err), 0);
	assert_same(p, q);
	ct_profile_free(q);
	struct stat sb;
	ck_assert_int_eq(stat(path, &sb), 0);
	FILE *f = fopen(path, "rb");
	uint8_t magic[2];
	ck_assert_uint_eq(fread(magic, 1, 2, f), 2);
	fclose(f);
	ck_assert(magic[0] == 0x1f && magic[1] == 0x8b);
	unlink(path);
	ck_assert_int_eq(ct_pprof_read_file(path, &q, &err), -ENOENT);
	ck_assert_ptr_null(q);
	ck_assert_str_eq(err.msg, "No such file or directory");
	snprintf(path, sizeof(path), "%s/missing-dir/x.pb.gz", dir);
	ck_assert_int_eq(ct_pprof_write_file(p, path), -ENOENT);
	ck_assert_int_eq(rmdir(dir), 0); /* no temporary left behind */
	ct_profile_free(p);
}
END_TEST

/* Fails each allocation in turn: every call then fails with -ENOMEM and leaves nothing
 * behind (ASan's leak checker runs at the end of the test), or succeeds once the failure
 * point lies beyond its last allocation. */
START_TEST(test_out_of_memory)
{
	ct_profile *p = full_profile();
	uint8_t *raw, *gz;
	size_t rawlen, gzlen;
	ck_assert_int_eq(ct_pprof_encode(p, false, &raw, &rawlen), 0);
	ck_assert_int_eq(ct_pprof_encode(p, true, &gz, &gzlen), 0);
	char dir[64], path[96];
	ct_check_tmpdir(dir, sizeof(dir), "oom");
	snprintf(path, sizeof(path), "%s/x.pb.gz", dir);
	for (int what = 0; what < 4; what++) {
		int injected = 0;
		for (long n = 0;; n++) {
			ct_profile *out = (ct_profile *)&n;
			uint8_t *buf = (uint8_t *)&n;
			size_t len;
			ct_error err;
			int rc;
			alloc_countdown = n;
			switch (what) {
			case 0:
				rc = ct_pprof_decode(raw, rawlen, &out, &err);
				break;
			case 1:
				rc = ct_pprof_decode(gz, gzlen, &out, &err);
				break;
			case 2:
				rc = ct_pprof_encode(p, true, &buf, &len);
				break;
			default:
				rc = ct_pprof_write_file(p, path);
				break;
			}
			bool hit = alloc_countdown < 0;
			alloc_countdown = -1;
			if (!hit) {
				ck_assert_int_eq(rc, 0);
				if (what < 2)
					ct_profile_free(out);
				if (what == 2)
					free(buf);
				break;
			}
			injected++;
			ck_assert_msg(rc == -ENOMEM, "case %d, allocation %ld: rc %d", what, n, rc);
			if (what < 2)
				ck_assert_ptr_null(out);
			if (what == 2)
				ck_assert_ptr_null(buf);
		}
		ck_assert_int_gt(injected, 3);
	}
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left by a failed write */
	free(raw);
	free(gz);
	ct_profile_free(p);

	/* The builder: every operation may fail; the profile stays valid and freeable. */
	for (long n = 0; n < 200; n++) {
		alloc_countdown = n;
		ct_profile *b = ct_profile_new();
		if (b) {
			ct_profile_add_sample_type(b, "samples", "count");
			ct_mapping m = {.filename = "/bin/x", .build_id = "ab"};
			uint32_t mi = ct_profile_add_mapping(b, &m);
			uint32_t f = ct_profile_add_function(b, "f", "f", "f.c", 1);
			ct_line ln = {f, 3};
			uint32_t loc = ct_profile_add_location(
				b, mi, 0x10, f == UINT32_MAX ? NULL : &ln, f == UINT32_MAX ? 0 : 1);
			uint32_t loc2 = ct_profile_add_location(
				b, 0, 0, f == UINT32_MAX ? NULL : &ln, f == UINT32_MAX ? 0 : 1);
			int64_t v = 1;
			ct_label l = {.key = "k", .str = "v"};
			if (loc != UINT32_MAX && loc2 != UINT32_MAX) {
				uint32_t locs[2] = {loc, loc2};
				ct_profile_add_sample(b, locs, 2, &v, &l, 1);
				ct_profile_set_lines(b, loc2, NULL, 0);
			}
			ct_profile_add_comment(b, "c");
			alloc_countdown = -1;
			uint8_t *buf;
			size_t len;
			ck_assert_int_eq(ct_pprof_encode(b, false, &buf, &len), 0);
			free(buf);
		}
		alloc_countdown = -1;
		ct_profile_free(b);
	}
}
END_TEST

/* ---- profiles written by Go's runtime ---------------------------------------------------- */

static const char go_program[] = "package main\n"
				 "\n"
				 "import (\n"
				 "\t\"os\"\n"
				 "\t\"runtime\"\n"
				 "\t\"runtime/pprof\"\n"
				 ")\n"
				 "\n"
				 "var sink [][]byte\n"
				 "\n"
				 "func burn(n int) uint64 {\n"
				 "\tx := uint64(1)\n"
				 "\tfor i := 0; i < n; i++ {\n"
				 "\t\tx = x*6364136223846793005 + 1442695040888963407\n"
				 "\t}\n"
				 "\treturn x\n"
				 "}\n"
				 "\n"
				 "func main() {\n"
				 "\truntime.MemProfileRate = 1\n"
				 "\tf, _ := os.Create(os.Args[1])\n"
				 "\tpprof.StartCPUProfile(f)\n"
				 "\tif burn(200000000) == 42 {\n"
				 "\t\tos.Exit(3)\n"
				 "\t}\n"
				 "\tpprof.StopCPUProfile()\n"
				 "\tf.Close()\n"
				 "\tfor i := 0; i < 1000; i++ {\n"
				 "\t\tsink = append(sink, make([]byte, 1024))\n"
				 "\t}\n"
				 "\truntime.GC()\n"
				 "\th, _ := os.Create(os.Args[2])\n"
				 "\tpprof.WriteHeapProfile(h)\n"
				 "\th.Close()\n"
				 "}\n";

static char go_dir[64];

/* Builds and runs the Go program above; false (with a message) when Go is absent. */
static bool make_go_profiles(void)
{
	if (system("command -v go >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_pprof: go not installed, skipping the Go profile test\n");
		return false;
	}
	ct_check_tmpdir(go_dir, sizeof(go_dir), "go");
	ct_check_write_file(go_dir, "main.go", go_program);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && env HOME=%s GOCACHE=%s/cache GOPATH=%s/gopath GOFLAGS=-mod=mod "
		 "GO111MODULE=off GOPROXY=off GOTOOLCHAIN=local go build -o prog main.go && "
		 "./prog cpu.pb.gz heap.pb.gz",
		 go_dir, go_dir, go_dir, go_dir);
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "building/running the Go program failed: %d", rc);
	return true;
}

static void remove_go_dir(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "chmod -R u+w %s; rm -rf %s", go_dir, go_dir);
	ck_assert_int_eq(system(cmd), 0);
}

static ct_profile *read_go(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", go_dir, name);
	ct_error err;
	ct_profile *p = NULL;
	int rc = ct_pprof_read_file(path, &p, &err);
	ck_assert_msg(rc == 0, "%s: %s", name, err.msg);
	/* It must survive our own round trip too. */
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(ct_pprof_encode(p, true, &buf, &len), 0);
	ct_profile *q = decode_ok(buf, len);
	assert_same(p, q);
	ct_profile_free(q);
	free(buf);
	return p;
}

START_TEST(test_go_profiles)
{
	if (!make_go_profiles())
		return;
	ct_profile *cpu = read_go("cpu.pb.gz");
	ck_assert_uint_eq(cpu->nsample_types, 2);
	ck_assert_str_eq(cpu->sample_types[0].type, "samples");
	ck_assert_str_eq(cpu->sample_types[0].unit, "count");
	ck_assert_str_eq(cpu->sample_types[1].type, "cpu");
	ck_assert_str_eq(cpu->sample_types[1].unit, "nanoseconds");
	ck_assert_str_eq(cpu->period_type.type, "cpu");
	ck_assert_int_gt(cpu->period, 0);
	ck_assert_int_gt(cpu->time_nanos, 0);
	ct_profile_free(cpu);

	ct_profile *heap = read_go("heap.pb.gz");
	ck_assert_uint_eq(heap->nsample_types, 4);
	ck_assert_int_eq(ct_profile_sample_index(heap, "alloc_objects"), 0);
	ck_assert_int_eq(ct_profile_sample_index(heap, "alloc_space"), 1);
	ck_assert_int_eq(ct_profile_sample_index(heap, "inuse_objects"), 2);
	ck_assert_int_eq(ct_profile_sample_index(heap, "inuse_space"), 3);
	ck_assert_str_eq(heap->period_type.type, "space");
	ck_assert_uint_gt(heap->nsamples, 0);
	ck_assert_uint_gt(heap->nfunctions, 0);
	ck_assert_uint_gt(heap->nmappings, 0);
	bool found_main = false;
	for (uint32_t i = 0; i < heap->nfunctions; i++)
		found_main |= !strcmp(heap->functions[i].name, "main.main");
	ck_assert(found_main);
	int64_t space = 0;
	for (size_t i = 0; i < heap->nsamples; i++)
		space += heap->samples[i].values[1];
	ck_assert_int_ge(space, 1000 * 1024);
	ct_profile_free(heap);

	/* And the other way round: Go's pprof reads what we write. */
	ct_profile *ours = full_profile();
	char path[128], cmd[512];
	snprintf(path, sizeof(path), "%s/ours.pb.gz", go_dir);
	ck_assert_int_eq(ct_pprof_write_file(ours, path), 0);
	ct_profile_free(ours);
	snprintf(
		cmd, sizeof(cmd),
		"cd %s && env HOME=%s GOCACHE=%s/cache go tool pprof -raw ours.pb.gz > raw.txt "
		"2>&1 && grep -q 'ns::work(int) w.cc:40' raw.txt && grep -q 'Comment: ctrace test' "
		"raw.txt && grep -q 'alloc_space/bytes\\[dflt\\]' raw.txt",
		go_dir, go_dir, go_dir);
	int rc = system(cmd);
	if (rc) {
		snprintf(cmd, sizeof(cmd), "cat %s/raw.txt >&2", go_dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	ck_assert_msg(rc == 0, "go tool pprof did not read our profile as expected");
	remove_go_dir();
}
END_TEST

static Suite *pprof_suite(void)
{
	Suite *s = suite_create("pprof");
	CT_CHECK_TCASE(s, "codec", 60, test_round_trip, test_string_table_layout,
		       test_empty_profile, test_encode_rejects_bad_model, test_truncations,
		       test_wire_errors, test_semantic_errors, test_unpacked_and_packed,
		       test_sparse_ids_and_repeats, test_identical_samples_merged, test_gzip_bomb,
		       test_gzip_errors, test_files, test_out_of_memory);
	CT_CHECK_TCASE(s, "go", 300, test_go_profiles);
	return s;
}

CT_CHECK_MAIN(pprof_suite)
