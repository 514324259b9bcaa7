/*
 * pprof_write.c — the pprof writer: a ct_profile to a Profile message (see pprof.h).
 *
 * The model maps onto protobuf-c's generated structs for proto/profile.proto: a string
 * table built by content with "" at index 0, ids exactly as stored, references (array
 * indexes in the model) turned back into ids; protobuf-c emits the fields in schema order
 * and gzip.h wraps the result.
 */
#include "libtrace/pprof.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libtrace/gzip.h"
#include "libtrace/idmap.h"
#include "libtrace/intern.h"
#include "proto/profile.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

/* Every allocation made to encode one profile, freed together. */
struct enc {
	const ct_profile *p;
	ct_intern st; /* the string table: strings by content -> index (borrowed from p) */
	bool ok;      /* false once memory ran out (checked once, at the end) */
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
	ct_intern_free(&e->st);
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
static void *alloc_n(struct enc *e, size_t n, size_t elem)
{
	if (!n)
		return NULL;
	void *a = calloc(n, elem);
	if (!a)
		e->ok = false;
	return a;
}

/* The string table index of s; on ENOMEM 0, with e->ok false. */
static int64_t str(struct enc *e, const char *s)
{
	int64_t idx = e->ok ? ct_intern_index(&e->st, s) : -1;
	if (idx < 0)
		e->ok = false;
	return idx < 0 ? 0 : idx;
}

_Static_assert(offsetof(ct_mapping, id) == 0 && offsetof(ct_location, id) == 0 &&
		       offsetof(ct_function, id) == 0,
	       "check_ids reads the id at the start of each element");

/* Checks that the n ids of an array of elements (each starting with its uint64_t id, as
 * ct_mapping, ct_location and ct_function do) are nonzero and unique. 0 or -errno. */
static int check_ids(const void *base, size_t n, size_t stride)
{
	ct_idmap m;
	int rc = ct_idmap_init(&m, n);
	for (size_t i = 0; !rc && i < n; i++) {
		uint64_t id;
		memcpy(&id, (const char *)base + i * stride, sizeof(id));
		if (!ct_idmap_add(&m, id, (uint32_t)i))
			rc = -EINVAL;
	}
	ct_idmap_free(&m);
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

/* Allocates every array the message will point into. False on ENOMEM. */
static bool alloc_message(struct enc *e)
{
	const ct_profile *p = e->p;
	size_t nlocids = 0, nlabels = 0, nlines = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		nlocids += p->samples[i].nlocs;
		nlabels += p->samples[i].nlabels;
	}
	for (uint32_t i = 0; i < p->nlocations; i++)
		nlines += p->locations[i].nlines;
	e->vts = alloc_n(e, p->nsample_types, sizeof(*e->vts));
	e->vtp = alloc_n(e, p->nsample_types, sizeof(*e->vtp));
	e->samples = alloc_n(e, p->nsamples, sizeof(*e->samples));
	e->samplep = alloc_n(e, p->nsamples, sizeof(*e->samplep));
	e->loc_ids = alloc_n(e, nlocids, sizeof(*e->loc_ids));
	e->labels = alloc_n(e, nlabels, sizeof(*e->labels));
	e->labelp = alloc_n(e, nlabels, sizeof(*e->labelp));
	e->maps = alloc_n(e, p->nmappings, sizeof(*e->maps));
	e->mapp = alloc_n(e, p->nmappings, sizeof(*e->mapp));
	e->locs = alloc_n(e, p->nlocations, sizeof(*e->locs));
	e->locp = alloc_n(e, p->nlocations, sizeof(*e->locp));
	e->lines = alloc_n(e, nlines, sizeof(*e->lines));
	e->linep = alloc_n(e, nlines, sizeof(*e->linep));
	e->funcs = alloc_n(e, p->nfunctions, sizeof(*e->funcs));
	e->funcp = alloc_n(e, p->nfunctions, sizeof(*e->funcp));
	e->comments = alloc_n(e, p->ncomments, sizeof(*e->comments));
	return e->ok;
}

static void build_sample_types(struct enc *e)
{
	const ct_profile *p = e->p;
	for (uint32_t i = 0; i < p->nsample_types; i++) {
		pb_value_type *v = &e->vts[i];
		perftools__profiles__value_type__init(v);
		v->type = str(e, p->sample_types[i].type);
		v->unit = str(e, p->sample_types[i].unit);
		e->vtp[i] = v;
	}
}

/* A label: a string one when it has a string value, else a numeric one. */
static void build_label(struct enc *e, pb_label *lab, const ct_label *l)
{
	perftools__profiles__label__init(lab);
	lab->key = str(e, l->key);
	if (l->str) {
		lab->str = str(e, l->str);
	} else {
		lab->num = l->num;
		lab->num_unit = l->num_unit ? str(e, l->num_unit) : 0;
	}
}

static void build_samples(struct enc *e)
{
	const ct_profile *p = e->p;
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
			build_label(e, lab, &s->labels[k]);
			*labp++ = lab++;
		}
		e->samplep[i] = o;
	}
}

/* Mappings keep their ids; file name and build id go to the string table. */
static void build_mappings(struct enc *e)
{
	const ct_profile *p = e->p;
	for (uint32_t i = 0; i < p->nmappings; i++) {
		const ct_mapping *m = &p->mappings[i];
		pb_mapping *o = &e->maps[i];
		perftools__profiles__mapping__init(o);
		o->id = m->id;
		o->memory_start = m->memory_start;
		o->memory_limit = m->memory_limit;
		o->file_offset = m->file_offset;
		o->filename = str(e, m->filename);
		o->build_id = str(e, m->build_id);
		o->has_functions = m->has_functions;
		o->has_filenames = m->has_filenames;
		o->has_line_numbers = m->has_line_numbers;
		o->has_inline_frames = m->has_inline_frames;
		e->mapp[i] = o;
	}
}

/* Locations: the mapping and every line's function referenced by id. */
static void build_locations(struct enc *e)
{
	const ct_profile *p = e->p;
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
}

/* Functions keep their ids; their three names go to the string table. */
static void build_functions(struct enc *e)
{
	const ct_profile *p = e->p;
	for (uint32_t i = 0; i < p->nfunctions; i++) {
		const ct_function *f = &p->functions[i];
		pb_function *o = &e->funcs[i];
		perftools__profiles__function__init(o);
		o->id = f->id;
		o->name = str(e, f->name);
		o->system_name = str(e, f->system_name);
		o->filename = str(e, f->filename);
		o->start_line = f->start_line;
		e->funcp[i] = o;
	}
}

/* Profile's own fields after the repeated messages, in schema order. */
static void build_scalars(struct enc *e, pb_profile *msg)
{
	const ct_profile *p = e->p;
	msg->drop_frames = str(e, p->drop_frames);
	msg->keep_frames = str(e, p->keep_frames);
	msg->time_nanos = p->time_nanos;
	msg->duration_nanos = p->duration_nanos;
	msg->period = p->period;
	for (uint32_t i = 0; i < p->ncomments; i++)
		e->comments[i] = str(e, p->comments[i]);
	msg->n_comment = p->ncomments;
	msg->comment = e->comments;
	msg->default_sample_type = str(e, p->default_sample_type);
	/* period_type is a message: present only when it says something, as in Go's files. */
	const char *pt = p->period_type.type, *pu = p->period_type.unit;
	if ((pt && *pt) || (pu && *pu)) {
		perftools__profiles__value_type__init(&e->period_type);
		e->period_type.type = str(e, pt);
		e->period_type.unit = str(e, pu);
		msg->period_type = &e->period_type;
	}
}

/* Fills msg from e->p, in schema order; every pointer it sets belongs to e or to p. */
static int build_message(struct enc *e, pb_profile *msg)
{
	if (str(e, "") != 0 || !alloc_message(e))
		return -ENOMEM;
	build_sample_types(e);
	build_samples(e);
	build_mappings(e);
	build_locations(e);
	build_functions(e);
	build_scalars(e, msg);
	const ct_profile *p = e->p;
	msg->n_sample_type = p->nsample_types;
	msg->sample_type = e->vtp;
	msg->n_sample = p->nsamples;
	msg->sample = e->samplep;
	msg->n_mapping = p->nmappings;
	msg->mapping = e->mapp;
	msg->n_location = p->nlocations;
	msg->location = e->locp;
	msg->n_function = p->nfunctions;
	msg->function = e->funcp;
	/* The string table goes last: every string above has been added to it by now. */
	msg->n_string_table = e->st.n;
	msg->string_table = (char **)e->st.strs;
	return e->ok ? 0 : -ENOMEM;
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
	e.p = p;
	e.ok = true;
	ct_intern_init(&e.st, false);
	pb_profile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	rc = build_message(&e, &msg);
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
	rc = ct_gzip(raw, rawlen, out, len);
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
	/* No fsync: the rename alone keeps a reader from seeing half a file, and an fsync
	 * per file (several ms on a journaled disk) was paid by every process a traced
	 * shell script ran; what a power cut loses is the profile of a run it ended. */
	rc = write_all(fd, buf, len);
	free(buf);
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}
