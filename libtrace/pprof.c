/*
 * pprof.c — pprof Profile messages to and from the in-memory model (see pprof.h).
 *
 * Writing maps a ct_profile onto protobuf-c's generated structs for proto/profile.proto:
 * a string table built by content with "" at index 0, ids exactly as stored, references
 * (array indexes in the model) turned back into ids; protobuf-c emits the fields in
 * schema order and zlib wraps the result in gzip.
 *
 * Reading trusts nothing and goes in passes, each relying only on what the previous one
 * proved:
 *   1. gzip, when the input starts with its magic bytes, is inflated with a hard bound on
 *      the output size (into a buffer sized from the gzip trailer when that is plausible);
 *      errors there name the offset in the compressed input.
 *   2. A walk of the wire format against the schema checks the framing — every varint
 *      complete, every length inside its parent, every known field with a wire type its
 *      type allows (repeated scalars may be packed or not: Go's runtime writes both) — and
 *      names the first defect's field and byte offset in the (decompressed) message. It
 *      also remembers where each sample, mapping, location, function and sample type
 *      starts, so that later errors can point at them.
 *   3. Its framing proven, the message is decoded by hand (as protobuf-c would: the last
 *      occurrence of a scalar or of period_type wins, repeated fields accumulate, unknown
 *      fields are skipped) straight into the model, one kind of element at a time, checking pprof's
 *      rules as it goes — string table starting with "", every string index in range, ids
 *      nonzero and unique, every referenced id present, one value per sample type — in
 *      the same order as the elements' kinds: strings, sample types, mappings, functions,
 *      locations, samples, then Profile's scalars. Ids map to indexes through one hash
 *      table per kind (a subtraction when ids are 1, 2, 3, ... as ctrace and Go write
 *      them); functions and locations are appended, not interned. A failure anywhere
 *      frees everything.
 * protobuf-c serves the writer only.
 */
#include "pprof.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "proto/profile.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

/* ---- id maps ---------------------------------------------------------------------------
 * Open addressing from a nonzero 64-bit id to an array index, at most half full. Used by
 * the writer to prove ids unique and by the reader to resolve references. While every id
 * added is its index + 1 (as ctrace and Go write them) a lookup is a subtraction. */

struct id_map {
	uint64_t *ids; /* 0 = empty slot */
	uint32_t *idx;
	size_t mask;
	size_t n;   /* ids added */
	bool dense; /* every id added so far was its index + 1, added in index order */
};

static uint64_t id_hash(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static int id_map_init(struct id_map *m, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	m->ids = calloc(cap, sizeof(*m->ids));
	m->idx = malloc(cap * sizeof(*m->idx));
	m->mask = cap - 1;
	m->n = 0;
	m->dense = true;
	return m->ids && m->idx ? 0 : -ENOMEM;
}

static void id_map_free(struct id_map *m)
{
	free(m->ids);
	free(m->idx);
}

/* Adds id -> idx; false when id is already present. */
static bool id_map_add(struct id_map *m, uint64_t id, uint32_t idx)
{
	size_t i = id_hash(id) & m->mask;
	for (; m->ids[i]; i = (i + 1) & m->mask) {
		if (m->ids[i] == id)
			return false;
	}
	m->ids[i] = id;
	m->idx[i] = idx;
	m->dense = m->dense && idx == m->n && id == (uint64_t)idx + 1;
	m->n++;
	return true;
}

/* The index stored for id, or UINT32_MAX. */
static inline uint32_t id_map_get(const struct id_map *m, uint64_t id)
{
	if (m->dense)
		return id - 1 < m->n ? (uint32_t)(id - 1) : UINT32_MAX;
	if (!id)
		return UINT32_MAX;
	for (size_t i = id_hash(id) & m->mask; m->ids[i]; i = (i + 1) & m->mask) {
		if (m->ids[i] == id)
			return m->idx[i];
	}
	return UINT32_MAX;
}

/* ---- writer ----------------------------------------------------------------------------- */

/* The string table under construction: strings by content -> index. */
struct str_table {
	const char **strs;
	size_t n, cap;
	uint32_t *slots; /* index + 1; 0 = empty */
	size_t mask;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		h ^= *c;
		h *= 0x100000001b3ULL;
	}
	return id_hash(h);
}

static int str_table_grow(struct str_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 256;
	const char **ns = realloc(t->strs, ncap * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	t->strs = ns;
	uint32_t *slots = calloc(2 * ncap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(t->slots);
	t->slots = slots;
	t->mask = 2 * ncap - 1;
	t->cap = ncap;
	for (size_t k = 0; k < t->n; k++) {
		size_t i = str_hash(t->strs[k]) & t->mask;
		while (t->slots[i])
			i = (i + 1) & t->mask;
		t->slots[i] = (uint32_t)k + 1;
	}
	return 0;
}

/* The index of s (NULL as ""), added when new; -1 on ENOMEM. */
static int64_t str_index(struct str_table *t, const char *s)
{
	if (!s)
		s = "";
	if (t->n == t->cap && str_table_grow(t))
		return -1;
	size_t i = str_hash(s) & t->mask;
	for (; t->slots[i]; i = (i + 1) & t->mask) {
		if (!strcmp(t->strs[t->slots[i] - 1], s))
			return t->slots[i] - 1;
	}
	t->slots[i] = (uint32_t)t->n + 1;
	t->strs[t->n] = s;
	return (int64_t)t->n++;
}

/* Every allocation made to encode one profile, freed together. */
struct enc {
	struct str_table st;
	pb_value_type *vts, **vtp;
	pb_sample *samples, **samplep;
	uint64_t *loc_ids;
	pb_label *labels, **labelp;
	pb_mapping *maps, **mapp;
	pb_location *locs, **locp;
	pb_line *lines, **linep;
	pb_function *funcs, **funcp;
	int64_t *comments;
	pb_value_type period_type;
};

static void enc_free(struct enc *e)
{
	free(e->st.strs);
	free(e->st.slots);
	free(e->vts);
	free(e->vtp);
	free(e->samples);
	free(e->samplep);
	free(e->loc_ids);
	free(e->labels);
	free(e->labelp);
	free(e->maps);
	free(e->mapp);
	free(e->locs);
	free(e->locp);
	free(e->lines);
	free(e->linep);
	free(e->funcs);
	free(e->funcp);
	free(e->comments);
}

/* n elements of size elem, or NULL (also for n == 0, which is then not an error). */
static void *alloc_n(size_t n, size_t elem, bool *ok)
{
	if (!n)
		return NULL;
	void *a = calloc(n, elem);
	if (!a)
		*ok = false;
	return a;
}

_Static_assert(offsetof(ct_mapping, id) == 0 && offsetof(ct_location, id) == 0 &&
		       offsetof(ct_function, id) == 0,
	       "check_ids reads the id at the start of each element");

/* Checks that the n ids of an array of elements (each starting with its uint64_t id, as
 * ct_mapping, ct_location and ct_function do) are nonzero and unique. 0 or -errno. */
static int check_ids(const void *base, size_t n, size_t stride)
{
	struct id_map m;
	int rc = id_map_init(&m, n);
	for (size_t i = 0; !rc && i < n; i++) {
		uint64_t id;
		memcpy(&id, (const char *)base + i * stride, sizeof(id));
		if (!id || !id_map_add(&m, id, (uint32_t)i))
			rc = -EINVAL;
	}
	id_map_free(&m);
	return rc;
}

/* Checks what the writer relies on: references in range, ids nonzero and unique. */
static int check_model(const ct_profile *p)
{
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		if ((s->nlocs && !s->locs) || (p->nsample_types && !s->values) ||
		    (s->nlabels && !s->labels))
			return -EINVAL;
		for (uint32_t k = 0; k < s->nlocs; k++) {
			if (s->locs[k] >= p->nlocations)
				return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < p->nlocations; i++) {
		const ct_location *l = &p->locations[i];
		if (l->mapping > p->nmappings || (l->nlines && !l->lines))
			return -EINVAL;
		for (uint32_t k = 0; k < l->nlines; k++) {
			if (l->lines[k].function >= p->nfunctions)
				return -EINVAL;
		}
	}
	int rc = check_ids(p->mappings, p->nmappings, sizeof(*p->mappings));
	if (!rc)
		rc = check_ids(p->locations, p->nlocations, sizeof(*p->locations));
	if (!rc)
		rc = check_ids(p->functions, p->nfunctions, sizeof(*p->functions));
	return rc;
}

/* Fills msg from p, in schema order; every pointer it sets belongs to e or p. */
static int build_message(const ct_profile *p, struct enc *e, pb_profile *msg)
{
	struct str_table *st = &e->st;
	bool ok = str_index(st, "") == 0;

	size_t nlocids = 0, nlabels = 0, nlines = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		nlocids += p->samples[i].nlocs;
		nlabels += p->samples[i].nlabels;
	}
	for (uint32_t i = 0; i < p->nlocations; i++)
		nlines += p->locations[i].nlines;
	e->vts = alloc_n(p->nsample_types, sizeof(*e->vts), &ok);
	e->vtp = alloc_n(p->nsample_types, sizeof(*e->vtp), &ok);
	e->samples = alloc_n(p->nsamples, sizeof(*e->samples), &ok);
	e->samplep = alloc_n(p->nsamples, sizeof(*e->samplep), &ok);
	e->loc_ids = alloc_n(nlocids, sizeof(*e->loc_ids), &ok);
	e->labels = alloc_n(nlabels, sizeof(*e->labels), &ok);
	e->labelp = alloc_n(nlabels, sizeof(*e->labelp), &ok);
	e->maps = alloc_n(p->nmappings, sizeof(*e->maps), &ok);
	e->mapp = alloc_n(p->nmappings, sizeof(*e->mapp), &ok);
	e->locs = alloc_n(p->nlocations, sizeof(*e->locs), &ok);
	e->locp = alloc_n(p->nlocations, sizeof(*e->locp), &ok);
	e->lines = alloc_n(nlines, sizeof(*e->lines), &ok);
	e->linep = alloc_n(nlines, sizeof(*e->linep), &ok);
	e->funcs = alloc_n(p->nfunctions, sizeof(*e->funcs), &ok);
	e->funcp = alloc_n(p->nfunctions, sizeof(*e->funcp), &ok);
	e->comments = alloc_n(p->ncomments, sizeof(*e->comments), &ok);
	if (!ok)
		return -ENOMEM;

/* A string index; on ENOMEM leaves ok false (the caller checks once at the end). */
#define STR(s) (ok && (idx = str_index(st, (s))) >= 0 ? idx : (ok = false, 0))
	int64_t idx;

	for (uint32_t i = 0; i < p->nsample_types; i++) {
		pb_value_type *v = &e->vts[i];
		perftools__profiles__value_type__init(v);
		v->type = STR(p->sample_types[i].type);
		v->unit = STR(p->sample_types[i].unit);
		e->vtp[i] = v;
	}
	msg->n_sample_type = p->nsample_types;
	msg->sample_type = e->vtp;

	uint64_t *ids = e->loc_ids;
	pb_label *lab = e->labels;
	pb_label **labp = e->labelp;
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		pb_sample *o = &e->samples[i];
		perftools__profiles__sample__init(o);
		o->n_location_id = s->nlocs;
		o->location_id = s->nlocs ? ids : NULL;
		for (uint32_t k = 0; k < s->nlocs; k++)
			*ids++ = p->locations[s->locs[k]].id;
		o->n_value = p->nsample_types;
		o->value = s->values;
		o->n_label = s->nlabels;
		o->label = s->nlabels ? labp : NULL;
		for (uint32_t k = 0; k < s->nlabels; k++) {
			const ct_label *l = &s->labels[k];
			perftools__profiles__label__init(lab);
			lab->key = STR(l->key);
			if (l->str) {
				lab->str = STR(l->str);
			} else {
				lab->num = l->num;
				lab->num_unit = l->num_unit ? STR(l->num_unit) : 0;
			}
			*labp++ = lab++;
		}
		e->samplep[i] = o;
	}
	msg->n_sample = p->nsamples;
	msg->sample = e->samplep;

	for (uint32_t i = 0; i < p->nmappings; i++) {
		const ct_mapping *m = &p->mappings[i];
		pb_mapping *o = &e->maps[i];
		perftools__profiles__mapping__init(o);
		o->id = m->id;
		o->memory_start = m->memory_start;
		o->memory_limit = m->memory_limit;
		o->file_offset = m->file_offset;
		o->filename = STR(m->filename);
		o->build_id = STR(m->build_id);
		o->has_functions = m->has_functions;
		o->has_filenames = m->has_filenames;
		o->has_line_numbers = m->has_line_numbers;
		o->has_inline_frames = m->has_inline_frames;
		e->mapp[i] = o;
	}
	msg->n_mapping = p->nmappings;
	msg->mapping = e->mapp;

	pb_line *ln = e->lines;
	pb_line **lnp = e->linep;
	for (uint32_t i = 0; i < p->nlocations; i++) {
		const ct_location *l = &p->locations[i];
		pb_location *o = &e->locs[i];
		perftools__profiles__location__init(o);
		o->id = l->id;
		o->mapping_id = l->mapping ? p->mappings[l->mapping - 1].id : 0;
		o->address = l->address;
		o->n_line = l->nlines;
		o->line = l->nlines ? lnp : NULL;
		for (uint32_t k = 0; k < l->nlines; k++) {
			perftools__profiles__line__init(ln);
			ln->function_id = p->functions[l->lines[k].function].id;
			ln->line = l->lines[k].line;
			*lnp++ = ln++;
		}
		o->is_folded = l->is_folded;
		e->locp[i] = o;
	}
	msg->n_location = p->nlocations;
	msg->location = e->locp;

	for (uint32_t i = 0; i < p->nfunctions; i++) {
		const ct_function *f = &p->functions[i];
		pb_function *o = &e->funcs[i];
		perftools__profiles__function__init(o);
		o->id = f->id;
		o->name = STR(f->name);
		o->system_name = STR(f->system_name);
		o->filename = STR(f->filename);
		o->start_line = f->start_line;
		e->funcp[i] = o;
	}
	msg->n_function = p->nfunctions;
	msg->function = e->funcp;

	msg->drop_frames = STR(p->drop_frames);
	msg->keep_frames = STR(p->keep_frames);
	msg->time_nanos = p->time_nanos;
	msg->duration_nanos = p->duration_nanos;
	msg->period = p->period;
	for (uint32_t i = 0; i < p->ncomments; i++)
		e->comments[i] = STR(p->comments[i]);
	msg->n_comment = p->ncomments;
	msg->comment = e->comments;
	msg->default_sample_type = STR(p->default_sample_type);
	/* period_type is a message: present only when it says something, as in Go's files. */
	const char *pt = p->period_type.type, *pu = p->period_type.unit;
	if ((pt && *pt) || (pu && *pu)) {
		perftools__profiles__value_type__init(&e->period_type);
		e->period_type.type = STR(pt);
		e->period_type.unit = STR(pu);
		msg->period_type = &e->period_type;
	}
#undef STR
	/* The string table goes last: every string above has been added to it by now. */
	msg->n_string_table = st->n;
	msg->string_table = (char **)st->strs;
	return ok ? 0 : -ENOMEM;
}

/* Wraps raw in a gzip member. *out is malloc'd. 0 or -ENOMEM. */
static int gzip_wrap(const uint8_t *raw, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	/* Fastest level, as Go's runtime writes: profiles are big and written at exit. */
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	size_t cap = deflateBound(&zs, len) + 64;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_out = buf;
	int zrc = Z_OK;
	size_t fed = 0;
	while (zrc == Z_OK) {
		/* avail_in/avail_out are 32 bits wide: feed and drain in slices. */
		if (zs.avail_in == 0 && fed < len) {
			size_t n = len - fed < (1u << 30) ? len - fed : (1u << 30);
			zs.next_in = (Bytef *)(raw + fed);
			zs.avail_in = (uInt)n;
			fed += n;
		}
		size_t room = cap - (size_t)(zs.next_out - buf);
		zs.avail_out = room < (1u << 30) ? (uInt)room : (1u << 30);
		zrc = deflate(&zs, fed == len ? Z_FINISH : Z_NO_FLUSH);
	}
	size_t n = (size_t)(zs.next_out - buf);
	deflateEnd(&zs);
	if (zrc != Z_STREAM_END) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

int ct_pprof_encode(const ct_profile *p, bool gzip, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int rc = check_model(p);
	if (rc)
		return rc;
	struct enc e;
	memset(&e, 0, sizeof(e));
	pb_profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	rc = build_message(p, &e, &msg);
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	if (!rc) {
		rawlen = perftools__profiles__profile__get_packed_size(&msg);
		raw = malloc(rawlen ? rawlen : 1);
		if (!raw)
			rc = -ENOMEM;
		else
			perftools__profiles__profile__pack(&msg, raw);
	}
	enc_free(&e);
	if (rc) {
		free(raw);
		return rc;
	}
	if (!gzip) {
		*out = raw;
		*len = rawlen;
		return 0;
	}
	rc = gzip_wrap(raw, rawlen, out, len);
	free(raw);
	return rc;
}

/* Writes all of buf to fd. 0 or -errno. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ct_pprof_write_file(const ct_profile *p, const char *path)
{
	uint8_t *buf;
	size_t len;
	int rc = ct_pprof_encode(p, true, &buf, &len);
	if (rc)
		return rc;
	/* The temporary name is unique per process and call; O_EXCL guards against a stale
	 * file left by a crashed writer with a recycled pid. */
	static unsigned counter;
	char tmp[PATH_MAX];
	int fd = -1;
	for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
		unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
		if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path, (long)getpid(), n) >=
		    (int)sizeof(tmp)) {
			free(buf);
			return -ENAMETOOLONG;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST) {
			rc = -errno;
			free(buf);
			return rc;
		}
	}
	if (fd < 0) {
		free(buf);
		return -EEXIST;
	}
	rc = write_all(fd, buf, len);
	free(buf);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

/* ---- reader: gzip --------------------------------------------------------------------- */

static bool is_gzip(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

/* Asks for huge pages under the big buffer p of n bytes: fewer page faults as it fills. */
static void advise_huge(void *p, size_t n)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	if (!p || n < 2 * huge)
		return;
	uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);
	if (e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE); /* only a hint: failure is harmless */
}

/* Inflates the gzip member(s) in buf into a malloc'd *out of at most max bytes. */
static int gunzip(const uint8_t *buf, size_t len, size_t max, uint8_t **out, size_t *outlen,
		  ct_error *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return ct_error_set(err, ENOMEM, -1, "out of memory starting gzip decoder");
	/* The last member's trailer ends with its size mod 2^32 (ISIZE): usually the whole
	 * output, which then needs no reallocation. It is only a hint, bounded by what
	 * deflate can reach (1032:1) and by max; a wrong one costs a realloc or some
	 * unused room. */
	size_t cap = len < max / 4 ? len * 4 : max;
	if (len >= 18) {
		const uint8_t *t = buf + len - 4;
		size_t isize =
			(size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
		if (isize && isize <= max && isize / 1032 <= len)
			cap = isize;
	}
	if (cap < 4096)
		cap = 4096;
	uint8_t *obuf = malloc(cap);
	advise_huge(obuf, cap);
	size_t pos = 0, have = 0; /* input consumed, output produced */
	int rc = obuf ? 0 : ct_error_set(err, ENOMEM, -1, "out of memory inflating gzip");
	while (!rc) {
		if (have == cap) {
			/* have <= max here (checked below). Room for one byte past the limit
			 * tells "exactly max" from "more". */
			size_t ncap = cap < max / 2 ? cap * 2 : max + 1;
			uint8_t *nb = realloc(obuf, ncap);
			if (!nb) {
				rc = ct_error_set(err, ENOMEM, -1, "out of memory inflating gzip");
				break;
			}
			obuf = nb;
			cap = ncap;
		}
		size_t in = len - pos < (1u << 30) ? len - pos : (1u << 30);
		size_t room = cap - have < (1u << 30) ? cap - have : (1u << 30);
		zs.next_in = (Bytef *)(buf + pos);
		zs.avail_in = (uInt)in;
		zs.next_out = obuf + have;
		zs.avail_out = (uInt)room;
		int zrc = inflate(&zs, Z_NO_FLUSH);
		pos += in - zs.avail_in;
		have += room - zs.avail_out;
		if (have > max) {
			rc = ct_error_set(err, EINVAL, (long long)pos,
					  "gzip stream inflates to more than %zu bytes (limit) at "
					  "byte %zu",
					  max, pos);
		} else if (zrc == Z_STREAM_END) {
			if (pos == len)
				break;
			/* Another member may follow (concatenated gzip files are one file). */
			if (!is_gzip(buf + pos, len - pos)) {
				rc = ct_error_set(err, EINVAL, (long long)pos,
						  "trailing data after gzip stream at byte %zu",
						  pos);
			} else if (inflateReset(&zs) != Z_OK) {
				rc = ct_error_set(err, ENOMEM, -1, "cannot restart gzip decoder");
			}
		} else if (zrc == Z_DATA_ERROR) {
			rc = ct_error_set(err, EINVAL, (long long)pos,
					  "corrupt gzip stream at byte %zu: %s", pos,
					  zs.msg ? zs.msg : "invalid data");
		} else if (zrc == Z_MEM_ERROR) {
			rc = ct_error_set(err, ENOMEM, -1, "out of memory inflating gzip");
		} else if (pos == len && have < cap && (zrc == Z_OK || zrc == Z_BUF_ERROR)) {
			/* All input consumed, output room left, stream not ended: it was cut. */
			rc = ct_error_set(err, EINVAL, (long long)len,
					  "truncated gzip stream at byte %zu", len);
		} else if (zrc != Z_OK) {
			rc = ct_error_set(err, EINVAL, (long long)pos,
					  "corrupt gzip stream at byte %zu", pos);
		}
	}
	inflateEnd(&zs);
	if (rc) {
		free(obuf);
		return rc;
	}
	*out = obuf;
	*outlen = have;
	return 0;
}

/* ---- reader: wire-format walk ------------------------------------------------------------ */

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

SCHEMA(s_value_type, "ValueType", {1, "type", K_SCALAR, NULL}, {2, "unit", K_SCALAR, NULL});
SCHEMA(s_label, "Label", {1, "key", K_SCALAR, NULL}, {2, "str", K_SCALAR, NULL},
       {3, "num", K_SCALAR, NULL}, {4, "num_unit", K_SCALAR, NULL});
SCHEMA(s_sample, "Sample", {1, "location_id", K_REPEATED, NULL}, {2, "value", K_REPEATED, NULL},
       {3, "label", K_MESSAGE, &s_label});
SCHEMA(s_mapping, "Mapping", {1, "id", K_SCALAR, NULL}, {2, "memory_start", K_SCALAR, NULL},
       {3, "memory_limit", K_SCALAR, NULL}, {4, "file_offset", K_SCALAR, NULL},
       {5, "filename", K_SCALAR, NULL}, {6, "build_id", K_SCALAR, NULL},
       {7, "has_functions", K_SCALAR, NULL}, {8, "has_filenames", K_SCALAR, NULL},
       {9, "has_line_numbers", K_SCALAR, NULL}, {10, "has_inline_frames", K_SCALAR, NULL});
SCHEMA(s_line, "Line", {1, "function_id", K_SCALAR, NULL}, {2, "line", K_SCALAR, NULL});
SCHEMA(s_location, "Location", {1, "id", K_SCALAR, NULL}, {2, "mapping_id", K_SCALAR, NULL},
       {3, "address", K_SCALAR, NULL}, {4, "line", K_MESSAGE, &s_line},
       {5, "is_folded", K_SCALAR, NULL});
SCHEMA(s_function, "Function", {1, "id", K_SCALAR, NULL}, {2, "name", K_SCALAR, NULL},
       {3, "system_name", K_SCALAR, NULL}, {4, "filename", K_SCALAR, NULL},
       {5, "start_line", K_SCALAR, NULL});
SCHEMA(s_profile, "Profile", {1, "sample_type", K_MESSAGE, &s_value_type},
       {2, "sample", K_MESSAGE, &s_sample}, {3, "mapping", K_MESSAGE, &s_mapping},
       {4, "location", K_MESSAGE, &s_location}, {5, "function", K_MESSAGE, &s_function},
       {6, "string_table", K_STRING, NULL}, {7, "drop_frames", K_SCALAR, NULL},
       {8, "keep_frames", K_SCALAR, NULL}, {9, "time_nanos", K_SCALAR, NULL},
       {10, "duration_nanos", K_SCALAR, NULL}, {11, "period_type", K_MESSAGE, &s_value_type},
       {12, "period", K_SCALAR, NULL}, {13, "comment", K_REPEATED, NULL},
       {14, "default_sample_type", K_SCALAR, NULL});

enum { NTOP = 15 }; /* Profile field numbers are 1..14 */

/* Where things start in the message, for the semantic errors of pass 4. */
struct offsets {
	size_t *elem[6]; /* byte offset of each element of repeated message fields 1..5 */
	size_t n[6], cap[6];
	size_t field[NTOP]; /* offset of the first occurrence of each Profile field */
};

static void offsets_free(struct offsets *o)
{
	for (int i = 0; i < 6; i++)
		free(o->elem[i]);
}

/* Reads a varint at *pos (< end). 0, 1 when truncated, 2 when longer than 64 bits. */
static inline int read_varint(const uint8_t *buf, size_t end, size_t *pos, uint64_t *v)
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
static int note_offset(struct offsets *off, uint64_t num, size_t at)
{
	if (num < NTOP && !off->field[num])
		off->field[num] = at;
	if (num > 5)
		return 0;
	if (off->n[num] == off->cap[num]) {
		size_t nc = off->cap[num] ? off->cap[num] * 2 : 64;
		size_t *na = realloc(off->elem[num], nc * sizeof(*na));
		if (!na)
			return -ENOMEM;
		off->elem[num] = na;
		off->cap[num] = nc;
	}
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
		const struct path *path, struct offsets *off, ct_error *err)
{
	char fb[128];
	size_t pos = start;
	while (pos < end) {
		size_t at = pos;
		uint64_t tag, v;
		int vr = read_varint(buf, end, &pos, &tag);
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
			vr = read_varint(buf, end, &pos, &v);
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
			vr = read_varint(buf, end, &pos, &v);
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
					vr = read_varint(buf, sub_end, &p, &v);
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

/* ---- reader: decoding ------------------------------------------------------------------
 * Pass 2 proved the framing, so these helpers read fields without reporting errors; they
 * still never step past the end they are given. */

/* The varint at *pos, or 0 (pos then at end) if it were cut. */
static inline uint64_t get_varint(const uint8_t *buf, size_t end, size_t *pos)
{
	uint64_t v = 0;
	if (read_varint(buf, end, pos, &v))
		*pos = end;
	return v;
}

/* One field of a message: its number and wire type, and its varint value (wire type 0)
 * or its payload [sub, sub_end) (wire type 2). */
struct field {
	uint64_t num, v;
	unsigned wt;
	size_t sub, sub_end;
};

/* Reads the field at *pos (< end) and moves past it. */
static inline void next_field(const uint8_t *buf, size_t end, size_t *pos, struct field *f)
{
	uint64_t tag = get_varint(buf, end, pos);
	f->num = tag >> 3;
	f->wt = tag & 7;
	if (f->wt == 0) {
		f->v = get_varint(buf, end, pos);
	} else if (f->wt == 2) {
		uint64_t n = get_varint(buf, end, pos);
		f->sub = *pos;
		f->sub_end = n < end - *pos ? *pos + (size_t)n : end;
		*pos = f->sub_end;
	} else {
		size_t n = f->wt == 1 ? 8 : 4;
		*pos = n < end - *pos ? *pos + n : end;
	}
}

/* The payload [*start, *end) of the length-delimited field whose tag is at byte at. */
static void elem_bounds(const uint8_t *buf, size_t len, size_t at, size_t *start, size_t *end)
{
	struct field f = {0};
	size_t pos = at;
	next_field(buf, len, &pos, &f);
	*start = f.wt == 2 ? f.sub : pos;
	*end = f.wt == 2 ? f.sub_end : pos;
}

/* Makes room for need elements of size elem in *a (capacity *cap). 0 or -ENOMEM. */
static int reserve(void **a, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	void *na = realloc(*a, nc * elem);
	if (!na)
		return -ENOMEM;
	*a = na;
	*cap = nc;
	return 0;
}

/* ---- reader: semantic checks and the model ---------------------------------------------- */

/* A string of the table: where it is in the message. */
struct str_ref {
	size_t at, len;
};

struct raw_label {
	int64_t key, str, num, num_unit;
};

struct raw_line {
	uint64_t function_id;
	int64_t line;
};

struct reader {
	const uint8_t *buf; /* the message */
	size_t len;
	const struct offsets *off;
	ct_profile *p;
	/* Profile's own fields, as protobuf-c decodes them: the last occurrence of a scalar
	 * or of period_type wins, repeated ones accumulate. */
	struct str_ref *str_refs;
	size_t nstrs, cap_strs;
	int64_t drop_frames, keep_frames, time_nanos, duration_nanos, period;
	int64_t default_sample_type, period_type_type, period_type_unit;
	bool has_period_type;
	int64_t *comments;
	size_t ncomments, cap_comments;
	const char **strs; /* string table, interned in p */
	struct id_map maps, locs, funcs;
	/* Scratch space for one element, reused. */
	uint32_t *loc_idx;
	size_t cap_loc_idx;
	int64_t *values;
	size_t cap_values;
	struct raw_label *raw_labels;
	size_t cap_raw_labels;
	ct_label *labels;
	size_t cap_labels;
	struct raw_line *raw_lines;
	size_t cap_raw_lines;
	ct_line *lines;
	size_t cap_lines;
	ct_error *err;
};

static int oom(struct reader *r)
{
	return ct_error_set(r->err, ENOMEM, -1, "out of memory");
}

/* Offset of element i of repeated top-level field f (1..5), or -1. */
static long long elem_off(const struct reader *r, int f, size_t i)
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
static inline int append_varints(const uint8_t *buf, const struct field *f, int64_t **a, size_t *n,
				 size_t *cap)
{
	if (f->wt == 0) {
		if (reserve((void **)a, cap, *n + 1, sizeof(**a)))
			return -ENOMEM;
		(*a)[(*n)++] = (int64_t)f->v;
		return 0;
	}
	for (size_t p = f->sub; p < f->sub_end;) {
		if (*n == *cap && reserve((void **)a, cap, *n + 1, sizeof(**a)))
			return -ENOMEM;
		(*a)[(*n)++] = (int64_t)get_varint(buf, f->sub_end, &p);
	}
	return 0;
}

/* Reads a ValueType's fields in [pos, end) into *type and *unit. */
static void scan_value_type(const uint8_t *buf, size_t pos, size_t end, int64_t *type,
			    int64_t *unit)
{
	struct field f = {0};
	while (pos < end) {
		next_field(buf, end, &pos, &f);
		if (f.wt == 0 && f.num == 1)
			*type = (int64_t)f.v;
		else if (f.wt == 0 && f.num == 2)
			*unit = (int64_t)f.v;
	}
}

/* Collects Profile's own fields other than the repeated messages 1..5. */
static int scan_top(struct reader *r)
{
	const uint8_t *buf = r->buf;
	struct field f = {0};
	for (size_t pos = 0; pos < r->len;) {
		next_field(buf, r->len, &pos, &f);
		if (f.wt == 2 && f.num == 6) {
			if (reserve((void **)&r->str_refs, &r->cap_strs, r->nstrs + 1,
				    sizeof(*r->str_refs)))
				return oom(r);
			r->str_refs[r->nstrs++] = (struct str_ref){f.sub, f.sub_end - f.sub};
		} else if (f.wt == 2 && f.num == 11) {
			/* As protobuf-c does, a later period_type replaces an earlier one. */
			r->has_period_type = true;
			r->period_type_type = r->period_type_unit = 0;
			scan_value_type(buf, f.sub, f.sub_end, &r->period_type_type,
					&r->period_type_unit);
		} else if (f.num == 13 && (f.wt == 0 || f.wt == 2)) {
			if (append_varints(buf, &f, &r->comments, &r->ncomments, &r->cap_comments))
				return oom(r);
		} else if (f.wt == 0) {
			int64_t v = (int64_t)f.v;
			switch (f.num) {
			case 7:
				r->drop_frames = v;
				break;
			case 8:
				r->keep_frames = v;
				break;
			case 9:
				r->time_nanos = v;
				break;
			case 10:
				r->duration_nanos = v;
				break;
			case 12:
				r->period = v;
				break;
			case 14:
				r->default_sample_type = v;
				break;
			default:
				break;
			}
		}
	}
	return 0;
}

static int read_strings(struct reader *r)
{
	if (!r->nstrs || (r->str_refs[0].len && r->buf[r->str_refs[0].at]))
		return ct_error_set(
			r->err, EINVAL, (long long)r->off->field[6],
			"string_table[0] must be the empty string (field 6 at byte %zu)",
			r->off->field[6]);
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
	for (size_t i = 0; i < r->off->n[1]; i++) {
		size_t start, end;
		elem_bounds(r->buf, r->len, r->off->elem[1][i], &start, &end);
		int64_t type = 0, unit = 0;
		scan_value_type(r->buf, start, end, &type, &unit);
		long long at = elem_off(r, 1, i);
		const char *t = str_at(r, type, at, "sample_type", (long long)i, "type");
		const char *u = t ? str_at(r, unit, at, "sample_type", (long long)i, "unit") : NULL;
		if (!t || !u)
			return -EINVAL;
		if (ct_profile_add_sample_type(r->p, t, u))
			return oom(r);
	}
	return 0;
}

static int read_mappings(struct reader *r)
{
	size_t n = r->off->n[3];
	if (id_map_init(&r->maps, n))
		return oom(r);
	for (size_t i = 0; i < n; i++) {
		size_t pos, end;
		elem_bounds(r->buf, r->len, r->off->elem[3][i], &pos, &end);
		uint64_t v[11] = {0}; /* by field number */
		struct field f = {0};
		while (pos < end) {
			next_field(r->buf, end, &pos, &f);
			if (f.wt == 0 && f.num >= 1 && f.num <= 10)
				v[f.num] = f.v;
		}
		long long at = elem_off(r, 3, i);
		if (!v[1] || !id_map_add(&r->maps, v[1], (uint32_t)i))
			return ct_error_set(
				r->err, EINVAL, at, "mapping %zu: %s id %llu at byte %lld", i,
				v[1] ? "duplicate" : "zero", (unsigned long long)v[1], at);
		ct_mapping c = {
			.id = v[1],
			.memory_start = v[2],
			.memory_limit = v[3],
			.file_offset = v[4],
			.filename =
				str_at(r, (int64_t)v[5], at, "mapping", (long long)i, "filename"),
			.build_id =
				str_at(r, (int64_t)v[6], at, "mapping", (long long)i, "build_id"),
			.has_functions = v[7] != 0,
			.has_filenames = v[8] != 0,
			.has_line_numbers = v[9] != 0,
			.has_inline_frames = v[10] != 0,
		};
		if (!c.filename || !c.build_id)
			return -EINVAL;
		if (!ct_profile_add_mapping(r->p, &c))
			return oom(r);
	}
	return 0;
}

static int read_functions(struct reader *r)
{
	size_t n = r->off->n[5];
	if (id_map_init(&r->funcs, n))
		return oom(r);
	for (size_t i = 0; i < n; i++) {
		size_t pos, end;
		elem_bounds(r->buf, r->len, r->off->elem[5][i], &pos, &end);
		uint64_t v[6] = {0}; /* by field number */
		struct field f = {0};
		while (pos < end) {
			next_field(r->buf, end, &pos, &f);
			if (f.wt == 0 && f.num >= 1 && f.num <= 5)
				v[f.num] = f.v;
		}
		long long at = elem_off(r, 5, i);
		if (!v[1] || !id_map_add(&r->funcs, v[1], (uint32_t)i))
			return ct_error_set(
				r->err, EINVAL, at, "function %zu: %s id %llu at byte %lld", i,
				v[1] ? "duplicate" : "zero", (unsigned long long)v[1], at);
		ct_function c = {
			.id = v[1],
			.name = str_at(r, (int64_t)v[2], at, "function", (long long)i, "name"),
			.system_name = str_at(r, (int64_t)v[3], at, "function", (long long)i,
					      "system_name"),
			.filename =
				str_at(r, (int64_t)v[4], at, "function", (long long)i, "filename"),
			.start_line = (int64_t)v[5],
		};
		if (!c.name || !c.system_name || !c.filename)
			return -EINVAL;
		if (ct_profile_append_function(r->p, &c) == UINT32_MAX)
			return oom(r);
	}
	return 0;
}

static int read_locations(struct reader *r)
{
	size_t n = r->off->n[4];
	if (id_map_init(&r->locs, n))
		return oom(r);
	for (size_t i = 0; i < n; i++) {
		size_t pos, end, nlines = 0;
		elem_bounds(r->buf, r->len, r->off->elem[4][i], &pos, &end);
		uint64_t id = 0, mapping_id = 0, address = 0, folded = 0;
		struct field f = {0};
		while (pos < end) {
			next_field(r->buf, end, &pos, &f);
			if (f.wt == 2 && f.num == 4) {
				if (reserve((void **)&r->raw_lines, &r->cap_raw_lines, nlines + 1,
					    sizeof(*r->raw_lines)))
					return oom(r);
				struct raw_line *ln = &r->raw_lines[nlines++];
				*ln = (struct raw_line){0, 0};
				struct field g = {0};
				for (size_t q = f.sub; q < f.sub_end;) {
					next_field(r->buf, f.sub_end, &q, &g);
					if (g.wt == 0 && g.num == 1)
						ln->function_id = g.v;
					else if (g.wt == 0 && g.num == 2)
						ln->line = (int64_t)g.v;
				}
			} else if (f.wt == 0) {
				switch (f.num) {
				case 1:
					id = f.v;
					break;
				case 2:
					mapping_id = f.v;
					break;
				case 3:
					address = f.v;
					break;
				case 5:
					folded = f.v;
					break;
				default:
					break;
				}
			}
		}
		long long at = elem_off(r, 4, i);
		if (!id || !id_map_add(&r->locs, id, (uint32_t)i))
			return ct_error_set(r->err, EINVAL, at,
					    "location %zu: %s id %llu at byte %lld", i,
					    id ? "duplicate" : "zero", (unsigned long long)id, at);
		uint32_t mapping = 0;
		if (mapping_id) {
			uint32_t mi = id_map_get(&r->maps, mapping_id);
			if (mi == UINT32_MAX)
				return ct_error_set(r->err, EINVAL, at,
						    "location %zu (id %llu): mapping id %llu not "
						    "found at byte %lld",
						    i, (unsigned long long)id,
						    (unsigned long long)mapping_id, at);
			mapping = mi + 1;
		}
		if (reserve((void **)&r->lines, &r->cap_lines, nlines, sizeof(*r->lines)))
			return oom(r);
		for (size_t k = 0; k < nlines; k++) {
			uint64_t fid = r->raw_lines[k].function_id;
			uint32_t fi = id_map_get(&r->funcs, fid);
			if (fi == UINT32_MAX)
				return ct_error_set(r->err, EINVAL, at,
						    "location %zu (id %llu): line %zu has %s "
						    "function id %llu at byte %lld",
						    i, (unsigned long long)id, k,
						    fid ? "unknown" : "zero",
						    (unsigned long long)fid, at);
			r->lines[k] = (ct_line){fi, r->raw_lines[k].line};
		}
		ct_location c = {.id = id,
				 .mapping = mapping,
				 .address = address,
				 .lines = r->lines,
				 .nlines = (uint32_t)nlines,
				 .is_folded = folded != 0};
		if (ct_profile_append_location(r->p, &c) == UINT32_MAX)
			return oom(r);
	}
	return 0;
}

/* Reads a Label's fields in [pos, end). */
static void scan_label(const uint8_t *buf, size_t pos, size_t end, struct raw_label *l)
{
	*l = (struct raw_label){0, 0, 0, 0};
	struct field f = {0};
	while (pos < end) {
		next_field(buf, end, &pos, &f);
		if (f.wt != 0)
			continue;
		switch (f.num) {
		case 1:
			l->key = (int64_t)f.v;
			break;
		case 2:
			l->str = (int64_t)f.v;
			break;
		case 3:
			l->num = (int64_t)f.v;
			break;
		case 4:
			l->num_unit = (int64_t)f.v;
			break;
		default:
			break;
		}
	}
}

/* Resolves a location id of sample's field 1 into r->loc_idx[*n]; remembers the first
 * unknown one in *bad (when *nbad is still 0). 0 or -ENOMEM. */
static inline int add_loc(struct reader *r, uint64_t id, size_t *n, uint64_t *bad, size_t *nbad)
{
	if (*n == r->cap_loc_idx &&
	    reserve((void **)&r->loc_idx, &r->cap_loc_idx, *n + 1, sizeof(*r->loc_idx)))
		return -ENOMEM;
	uint32_t li = id_map_get(&r->locs, id);
	if (li == UINT32_MAX && !*nbad) {
		*bad = id;
		*nbad = 1;
	}
	r->loc_idx[(*n)++] = li;
	return 0;
}

/* Checks and adds sample i, whose payload is [pos, end). */
static int read_sample(struct reader *r, size_t i, size_t pos, size_t end)
{
	const uint8_t *buf = r->buf;
	size_t nlocs = 0, nvalues = 0, nlabels = 0, nbad = 0;
	uint64_t bad = 0;
	struct field f = {0};
	while (pos < end) {
		next_field(buf, end, &pos, &f);
		if (f.num == 1 && f.wt == 0) {
			if (add_loc(r, f.v, &nlocs, &bad, &nbad))
				return oom(r);
		} else if (f.num == 1 && f.wt == 2) {
			/* At most one id per byte: room for all of them at once. */
			if (reserve((void **)&r->loc_idx, &r->cap_loc_idx,
				    nlocs + (f.sub_end - f.sub), sizeof(*r->loc_idx)))
				return oom(r);
			for (size_t q = f.sub; q < f.sub_end;) {
				uint64_t id = get_varint(buf, f.sub_end, &q);
				uint32_t li = id_map_get(&r->locs, id);
				if (li == UINT32_MAX && !nbad) {
					bad = id;
					nbad = 1;
				}
				r->loc_idx[nlocs++] = li;
			}
		} else if (f.num == 2 && (f.wt == 0 || f.wt == 2)) {
			if (append_varints(buf, &f, &r->values, &nvalues, &r->cap_values))
				return oom(r);
		} else if (f.num == 3 && f.wt == 2) {
			if (reserve((void **)&r->raw_labels, &r->cap_raw_labels, nlabels + 1,
				    sizeof(*r->raw_labels)))
				return oom(r);
			scan_label(buf, f.sub, f.sub_end, &r->raw_labels[nlabels++]);
		}
	}
	long long at = elem_off(r, 2, i);
	size_t ntypes = r->off->n[1];
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
	if (reserve((void **)&r->labels, &r->cap_labels, nlabels, sizeof(*r->labels)))
		return oom(r);
	for (size_t k = 0; k < nlabels; k++) {
		const struct raw_label *l = &r->raw_labels[k];
		ct_label *c = &r->labels[k];
		/* As in pprof: a string label when str is set, else a numeric one. */
		c->key = str_at(r, l->key, at, "sample", (long long)i, "label key");
		c->str = c->key && l->str
				 ? str_at(r, l->str, at, "sample", (long long)i, "label str")
				 : NULL;
		c->num = l->num;
		c->num_unit = c->key && l->num_unit ? str_at(r, l->num_unit, at, "sample",
							     (long long)i, "label num_unit")
						    : NULL;
		if (!c->key || (l->str && !c->str) || (l->num_unit && !c->num_unit))
			return -EINVAL;
	}
	if (ct_profile_add_sample(r->p, r->loc_idx, (uint32_t)nlocs, r->values, r->labels,
				  (uint32_t)nlabels))
		return oom(r);
	return 0;
}

static int read_samples(struct reader *r)
{
	for (size_t i = 0; i < r->off->n[2]; i++) {
		size_t start, end;
		elem_bounds(r->buf, r->len, r->off->elem[2][i], &start, &end);
		int rc = read_sample(r, i, start, end);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_scalars(struct reader *r)
{
	ct_profile *p = r->p;
	const struct offsets *o = r->off;
	p->drop_frames = str_at(r, r->drop_frames, (long long)o->field[7], "", -1, "drop_frames");
	if (!p->drop_frames)
		return -EINVAL;
	p->keep_frames = str_at(r, r->keep_frames, (long long)o->field[8], "", -1, "keep_frames");
	if (!p->keep_frames)
		return -EINVAL;
	p->default_sample_type = str_at(r, r->default_sample_type, (long long)o->field[14], "", -1,
					"default_sample_type");
	if (!p->default_sample_type)
		return -EINVAL;
	p->time_nanos = r->time_nanos;
	p->duration_nanos = r->duration_nanos;
	p->period = r->period;
	if (r->has_period_type) {
		long long at = (long long)o->field[11];
		p->period_type.type =
			str_at(r, r->period_type_type, at, "", -1, "period_type.type");
		if (!p->period_type.type)
			return -EINVAL;
		p->period_type.unit =
			str_at(r, r->period_type_unit, at, "", -1, "period_type.unit");
		if (!p->period_type.unit)
			return -EINVAL;
	}
	for (size_t i = 0; i < r->ncomments; i++) {
		const char *c = str_at(r, r->comments[i], (long long)o->field[13], "comment",
				       (long long)i, "");
		if (!c)
			return -EINVAL;
		if (ct_profile_add_comment(p, c))
			return oom(r);
	}
	return 0;
}

/* Checks the message buf[0, len), whose framing pass 2 proved and whose offsets it
 * noted, and builds the profile. */
static int build_profile(const uint8_t *buf, size_t len, const struct offsets *off,
			 ct_profile **out, ct_error *err)
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
		rc = read_mappings(&r);
	if (!rc)
		rc = read_functions(&r);
	if (!rc)
		rc = read_locations(&r);
	if (!rc)
		rc = read_samples(&r);
	if (!rc)
		rc = read_scalars(&r);
	free(r.str_refs);
	free(r.comments);
	free(r.strs);
	free(r.loc_idx);
	free(r.values);
	free(r.raw_labels);
	free(r.labels);
	free(r.raw_lines);
	free(r.lines);
	id_map_free(&r.maps);
	id_map_free(&r.funcs);
	id_map_free(&r.locs);
	if (rc) {
		ct_profile_free(r.p);
		return rc;
	}
	*out = r.p;
	return 0;
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
	if (is_gzip(buf, len)) {
		int rc = gunzip(buf, len, max_raw, &raw, &msglen, err);
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

	struct offsets off;
	memset(&off, 0, sizeof(off));
	int rc = walk(msg, 0, msglen, &s_profile, NULL, &off, err);
	if (!rc)
		rc = build_profile(msg, msglen, &off, out, err);
	free(raw);
	offsets_free(&off);
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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return ct_error_set(err, e, -1, "%s", strerror(e));
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
