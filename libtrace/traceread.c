/*
 * traceread.c — the trace.ctr reader (see traceread.h; layout in docs/trace-format.md).
 *
 * A cursor walks the bytes; every read checks that it stays inside the current section
 * (header body, chunk payload, batch) and every failure names the field and the byte
 * offset. Chunks are found by walking from the header: in a complete file up to the index
 * (and the walk must agree with it), in a file without footer until the bytes run out,
 * where a chunk or index cut short is dropped and the trace is marked truncated.
 */
#include "traceread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "libtrace/safefile.h"
#include "libtrace/traceann.h"
#include "libtrace/tracebuf.h"
#include "libtrace/tracefmt.h"
#include "libtrace/tracewrite.h"
#include "libtrace/waitreason.h"

typedef struct {
	const uint8_t *base, *p, *end; /* whole input; cursor; end of the current section */
	ct_error *err;
	ct_trace *t;
	bool skip_crc;
	size_t events_cap, stacks_cap, annots_cap;
	const char **strs; /* the chunk's strings */
	size_t nstrs, strs_cap;
	uint32_t *mods; /* chunk module → mapping index + 1 */
	size_t nmods, mods_cap;
	uint32_t *stk; /* chunk stack → global stack index + 1 */
	size_t nstk, stk_cap;
	uint32_t *locs; /* scratch: one stack's locations */
	size_t locs_cap;
	ct_u64map stackmap, mapmap; /* content hash → global stack / mapping index */
} rd;

static long long off(const rd *r)
{
	return (long long)(r->p - r->base);
}

/* Fails with "MSG at byte N" (N: the cursor's offset). */
__attribute__((format(printf, 2, 3))) static int bad(rd *r, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ct_error_set(r->err, EINVAL, off(r), "%s at byte %lld", what, off(r));
}

static int uv(rd *r, const char *field, uint64_t *v)
{
	size_t n = ct_uvarint_get(r->p, r->end, v);
	if (!n)
		return bad(r, "truncated or overlong varint in %s", field);
	r->p += n;
	return 0;
}

/* A uvarint that must be <= max. */
static int uv_max(rd *r, const char *field, uint64_t max, uint64_t *v)
{
	const uint8_t *at = r->p;
	int rc = uv(r, field, v);
	if (!rc && *v > max) {
		r->p = at;
		return bad(r, "bad %s %llu", field, (unsigned long long)*v);
	}
	return rc;
}

/* A byte length: at most what is left after the length itself. */
static int uv_len(rd *r, const char *field, uint64_t *v)
{
	const uint8_t *at = r->p;
	int rc = uv(r, field, v);
	if (!rc && *v > (uint64_t)(r->end - r->p)) {
		r->p = at;
		return bad(r, "bad %s %llu", field, (unsigned long long)*v);
	}
	return rc;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A length-prefixed string, interned in the trace's profile. */
static int str(rd *r, const char *field, const char **s)
{
	uint64_t n;
	int rc = uv_len(r, field, &n);
	if (rc)
		return rc;
	if (memchr(r->p, 0, n))
		return bad(r, "NUL byte in %s", field);
	char *copy = strndup((const char *)r->p, n);
	*s = copy ? ct_profile_str(r->t->prof, copy) : NULL;
	free(copy);
	if (!*s)
		return ct_error_set(r->err, ENOMEM, off(r), "out of memory");
	r->p += n;
	return 0;
}

static int nomem(rd *r)
{
	return ct_error_set(r->err, ENOMEM, off(r), "out of memory at byte %lld", off(r));
}

/* ---- header ------------------------------------------------------------------------------ */

static int header(rd *r, size_t len)
{
	ct_trace *t = r->t;
	if (len < CT_TRACE_HEADER_FIXED || memcmp(r->p, CT_TRACE_MAGIC, 8))
		return bad(r, "not a trace.ctr file (bad magic or only %zu bytes)", len);
	t->version = (uint32_t)le(r->p + 8, 2);
	uint32_t flags = (uint32_t)le(r->p + 10, 2);
	uint64_t body = le(r->p + 12, 4);
	r->p += 8;
	if (t->version != CT_TRACE_VERSION)
		return bad(r, "unsupported trace version %u", t->version);
	if (flags & ~CT_TRACE_F_SWITCHES) {
		r->p += 2; /* the error names the flags' own offset */
		return bad(r, "unknown header flags 0x%x", flags);
	}
	r->p += 4;
	if (body < 32 || body > len - CT_TRACE_HEADER_FIXED)
		return bad(r, "bad header length %llu", (unsigned long long)body);
	r->p += 4;
	r->end = r->p + body;
	t->has_switches = flags & CT_TRACE_F_SWITCHES;
	if (le(r->p, 4) != CLOCK_MONOTONIC)
		return bad(r, "unsupported clock id %llu", (unsigned long long)le(r->p, 4));
	t->pid = (int32_t)le(r->p + 4, 4);
	t->anchor_mono_ns = le(r->p + 8, 8);
	t->anchor_wall_ns = le(r->p + 16, 8);
	t->sample_period_ns = le(r->p + 24, 8);
	r->p += 32;
	int rc = str(r, "engine", &t->engine);
	uint64_t argc;
	if (rc || (rc = uv_max(r, "argument count", (uint64_t)(r->end - r->p), &argc)))
		return rc;
	t->argv = calloc(argc ? argc : 1, sizeof(*t->argv));
	if (!t->argv)
		return nomem(r);
	for (t->argc = 0; t->argc < argc; t->argc++)
		if ((rc = str(r, "argument", &t->argv[t->argc])))
			return rc;
	r->p = r->end; /* later versions may append fields */
	return 0;
}

/* ---- chunk tables ------------------------------------------------------------------------ */

static int strings(rd *r)
{
	uint64_t n;
	int rc = uv_max(r, "string count", (uint64_t)(r->end - r->p), &n);
	if (rc || ct_grow((void **)&r->strs, &r->strs_cap, n, sizeof(*r->strs)))
		return rc ? rc : nomem(r);
	for (r->nstrs = 0; r->nstrs < n; r->nstrs++)
		if ((rc = str(r, "string", &r->strs[r->nstrs])))
			return rc;
	return 0;
}

/* The mapping index + 1 of m, adding it to the profile when new. 0 on ENOMEM. */
static uint32_t mapping(rd *r, const ct_mapping *m)
{
	ct_profile *p = r->t->prof;
	uint64_t key[5] = {(uintptr_t)m->filename, (uintptr_t)m->build_id, m->memory_start,
			   m->memory_limit, m->file_offset};
	uint64_t h = ct_hash_bytes(key, sizeof(key), 0);
	for (uint32_t i; (i = ct_u64map_get(&r->mapmap, h)) != UINT32_MAX; h++) {
		const ct_mapping *x = &p->mappings[i];
		if (x->filename == m->filename && x->build_id == m->build_id &&
		    x->memory_start == m->memory_start && x->memory_limit == m->memory_limit &&
		    x->file_offset == m->file_offset)
			return i + 1;
	}
	uint32_t id = ct_profile_add_mapping(p, m);
	if (id && ct_u64map_put(&r->mapmap, h, id - 1))
		return 0;
	return id;
}

static int modules(rd *r)
{
	uint64_t n, v[5];
	static const char *const field[5] = {"module path", "module build id", "module start",
					     "module size", "module file offset"};
	int rc = uv_max(r, "module count", (uint64_t)(r->end - r->p), &n);
	if (rc || ct_grow((void **)&r->mods, &r->mods_cap, n, sizeof(*r->mods)))
		return rc ? rc : nomem(r);
	for (r->nmods = 0; r->nmods < n; r->nmods++) {
		for (int i = 0; i < 5; i++) {
			uint64_t max = i < 2 ? r->nstrs - (r->nstrs > 0) : UINT64_MAX;
			if (i < 2 && !r->nstrs)
				return bad(r, "%s with no strings in the chunk", field[i]);
			if ((rc = uv_max(r, field[i], max, &v[i])))
				return rc;
		}
		if (!v[3] || v[2] > UINT64_MAX - v[3])
			return bad(r, "bad module size %llu", (unsigned long long)v[3]);
		ct_mapping m = {.memory_start = v[2],
				.memory_limit = v[2] + v[3],
				.file_offset = v[4],
				.filename = r->strs[v[0]],
				.build_id = r->strs[v[1]]};
		if (!(r->mods[r->nmods] = mapping(r, &m)))
			return nomem(r);
	}
	return 0;
}

/* The global index + 1 of the stack locs[0..n), adding it when new. 0 on ENOMEM. */
static uint32_t global_stack(rd *r, const uint32_t *locs, uint32_t n)
{
	ct_trace *t = r->t;
	uint64_t h = ct_hash_bytes(locs, n * sizeof(*locs), n);
	for (uint32_t i; (i = ct_u64map_get(&r->stackmap, h)) != UINT32_MAX; h++)
		if (t->stacks[i].nlocs == n && !memcmp(t->stacks[i].locs, locs, n * sizeof(*locs)))
			return i + 1;
	uint32_t *copy = malloc(n ? n * sizeof(*locs) : 1);
	if (!copy ||
	    ct_grow((void **)&t->stacks, &r->stacks_cap, t->nstacks + 1, sizeof(*t->stacks)) ||
	    ct_u64map_put(&r->stackmap, h, t->nstacks)) {
		free(copy);
		return 0;
	}
	memcpy(copy, locs, n * sizeof(*locs));
	t->stacks[t->nstacks] = (ct_trace_stack){.locs = copy, .nlocs = n};
	return ++t->nstacks;
}

static int stacks(rd *r)
{
	uint64_t n, nf, mod, addr;
	int rc = uv_max(r, "stack count", (uint64_t)(r->end - r->p), &n);
	if (rc || ct_grow((void **)&r->stk, &r->stk_cap, n, sizeof(*r->stk)) ||
	    ct_grow((void **)&r->locs, &r->locs_cap, CT_TRACE_MAX_FRAMES, sizeof(*r->locs)))
		return rc ? rc : nomem(r);
	for (r->nstk = 0; r->nstk < n; r->nstk++) {
		if ((rc = uv_max(r, "frame count", CT_TRACE_MAX_FRAMES, &nf)))
			return rc;
		for (uint64_t i = 0; i < nf; i++) {
			if ((rc = uv_max(r, "frame module", r->nmods, &mod)) ||
			    (rc = uv(r, "frame address", &addr)))
				return rc;
			uint32_t map = mod ? r->mods[mod - 1] : 0;
			if (mod) {
				const ct_mapping *m = &r->t->prof->mappings[map - 1];
				if (addr >= m->memory_limit - m->memory_start)
					return bad(r, "frame address 0x%llx outside its module",
						   (unsigned long long)addr);
				addr += m->memory_start;
			}
			r->locs[i] = ct_profile_add_location(r->t->prof, map, addr, NULL, 0);
			if (r->locs[i] == UINT32_MAX)
				return nomem(r);
		}
		if (!(r->stk[r->nstk] = global_stack(r, r->locs, (uint32_t)nf)))
			return nomem(r);
	}
	return 0;
}

/* ---- batches of events ------------------------------------------------------------------- */

static const char *const kind_field[] = {
	[CT_EV_SWITCH_OUT] = "switch-out",
	[CT_EV_SWITCH_OUT_PREEMPT] = "switch-out",
	[CT_EV_SWITCH_IN] = "switch-in",
	[CT_EV_WAIT] = "wait",
	[CT_EV_WAIT_OPEN] = "wait",
	[CT_EV_UNBLOCK] = "unblock",
	[CT_EV_CREATE] = "create",
	[CT_EV_START] = "start",
	[CT_EV_EXIT] = "exit",
	[CT_EV_NAME] = "name",
	[CT_EV_SAMPLE] = "sample",
	[CT_EV_LOST] = "lost",
};

static int stack_ref(rd *r, uint32_t *stack)
{
	uint64_t v;
	int rc = uv_max(r, "stack index", r->nstk, &v);
	*stack = !rc && v ? r->stk[v - 1] : 0;
	return rc;
}

static int wait_fields(rd *r, ct_trace_event *e)
{
	if (r->p >= r->end)
		return bad(r, "truncated wait event");
	if (*r->p >= CT_WAIT_NREASONS)
		return bad(r, "bad wait reason %u", *r->p);
	e->reason = *r->p++;
	int rc = uv(r, "wait object", &e->arg);
	return rc ? rc : stack_ref(r, &e->stack);
}

/* The fields after kind and time (docs/trace-format.md, "Events"). */
static int fields(rd *r, ct_trace_event *e)
{
	uint64_t v;
	int rc = 0;
	switch (e->kind) {
	case CT_EV_SWITCH_OUT:
	case CT_EV_SWITCH_OUT_PREEMPT:
	case CT_EV_SWITCH_IN:
		rc = uv_max(r, "cpu", UINT16_MAX, &v);
		e->other = (uint32_t)v;
		return rc;
	case CT_EV_WAIT:
		if ((rc = uv_max(r, "wait duration", UINT64_MAX - e->time, &v)))
			return rc;
		e->end = e->time + v;
		return wait_fields(r, e);
	case CT_EV_WAIT_OPEN:
		e->end = UINT64_MAX;
		return wait_fields(r, e);
	case CT_EV_UNBLOCK:
		if ((rc = uv_max(r, "woken tid", UINT32_MAX, &v)) ||
		    (rc = uv(r, "unblock object", &e->arg)))
			return rc;
		e->other = (uint32_t)v;
		return stack_ref(r, &e->stack);
	case CT_EV_CREATE:
		if ((rc = uv_max(r, "new tid", UINT32_MAX, &v)))
			return rc;
		e->other = (uint32_t)v;
		return stack_ref(r, &e->stack);
	case CT_EV_NAME:
		if (!r->nstrs)
			return bad(r, "name event with no strings in the chunk");
		rc = uv_max(r, "name string index", r->nstrs - 1, &v);
		e->str = rc ? NULL : r->strs[v];
		return rc;
	case CT_EV_SAMPLE:
		rc = stack_ref(r, &e->stack);
		return rc ? rc : uv(r, "sample weight", &e->arg);
	case CT_EV_LOST:
		if ((rc = uv(r, "lost count", &e->arg)))
			return rc;
		if (!r->nstrs)
			return bad(r, "lost event with no strings in the chunk");
		rc = uv_max(r, "lost string index", r->nstrs - 1, &v);
		e->str = rc ? NULL : r->strs[v];
		r->t->lost = e->arg > UINT64_MAX - r->t->lost ? UINT64_MAX : r->t->lost + e->arg;
		if (e->str && strcmp(e->str, CT_TRACE_CAP_REASON) == 0)
			r->t->capped = true;
		return rc;
	default: /* START, EXIT */
		return 0;
	}
}

/* The annotation event of kind whose len payload bytes end at r->p. */
static int annot(rd *r, uint32_t tid, uint64_t time, uint8_t kind, uint64_t len)
{
	ct_trace *t = r->t;
	const uint8_t *payload = r->p - len;
	if (!tid) {
		r->p = payload;
		return bad(r, "%s event in the batch of thread 0", ct_trace_ann_kind_name(kind));
	}
	if (ct_grow((void **)&t->annots, &r->annots_cap, t->nannots + 1, sizeof(*t->annots)))
		return nomem(r);
	ct_trace_annot *a = &t->annots[t->nannots];
	*a = (ct_trace_annot){.time = time, .tid = tid};
	ct_trace_ann_tables tb = {r->strs, r->nstrs, r->stk, r->nstk};
	char what[160];
	size_t at;
	if (ct_trace_ann_decode(kind, payload, (size_t)len, &tb, a, &at, what, sizeof(what))) {
		r->p = payload + at;
		return bad(r, "%s", what);
	}
	t->nannots++;
	return 0;
}

/* One event at r->p; *time is the batch's previous time. Kinds >= 32 are skipped. */
static int event(rd *r, uint32_t tid, uint64_t *time, uint64_t chunk_end)
{
	const uint8_t *at = r->p;
	uint8_t kind = *r->p++;
	uint64_t dt, skip;
	int rc = uv(r, "event time delta", &dt);
	if (rc)
		return rc;
	if (dt > chunk_end - *time) {
		r->p = at;
		return bad(r, "event time %llu ns past its chunk's end",
			   (unsigned long long)(dt - (chunk_end - *time)));
	}
	*time += dt;
	if (kind > CT_EV_FIXED_LAST) {
		if ((rc = uv_len(r, "event length", &skip)))
			return rc;
		r->p += skip;
		return ct_trace_ann_kind_name(kind) ? annot(r, tid, *time, kind, skip) : 0;
	}
	if (kind == 0 || kind > CT_EV_LOST) {
		r->p = at;
		return bad(r, "unknown event kind %u", kind);
	}
	if ((tid == 0) != (kind == CT_EV_LOST)) {
		r->p = at;
		return bad(r, "%s event in the batch of thread %u", kind_field[kind], tid);
	}
	ct_trace *t = r->t;
	if (ct_grow((void **)&t->events, &r->events_cap, t->nevents + 1, sizeof(*t->events)))
		return nomem(r);
	ct_trace_event *e = &t->events[t->nevents];
	*e = (ct_trace_event){.time = *time, .tid = tid, .kind = kind};
	if ((rc = fields(r, e)))
		return rc;
	t->nevents++;
	return 0;
}

static int batches(rd *r, uint64_t t0, uint64_t t1)
{
	uint64_t n, tid, nev, len;
	int rc = uv_max(r, "batch count", (uint64_t)(r->end - r->p), &n);
	for (uint64_t b = 0; !rc && b < n; b++) {
		if ((rc = uv_max(r, "batch tid", UINT32_MAX, &tid)) ||
		    (rc = uv_max(r, "batch event count", (uint64_t)(r->end - r->p), &nev)) ||
		    (rc = uv_len(r, "batch length", &len)))
			return rc;
		const uint8_t *chunk_end = r->end;
		r->end = r->p + len;
		uint64_t time = t0, i = 0;
		for (; !rc && i < nev && r->p < r->end; i++)
			rc = event(r, (uint32_t)tid, &time, t1);
		if (!rc && (i < nev || r->p != r->end))
			rc = bad(r, "batch of thread %llu holds %s events than it says",
				 (unsigned long long)tid, i < nev ? "fewer" : "more bytes of");
		r->end = chunk_end;
	}
	return rc;
}

/* ---- chunks, index ------------------------------------------------------------------------- */

/* The chunk whose header is at r->p, complete within the input (caller checked). */
static int chunk(rd *r, uint32_t seq)
{
	ct_trace *t = r->t;
	uint64_t len = le(r->p + 4, 4), crc = le(r->p + 8, 4), got_seq, t0, span;
	const uint8_t *payload = r->p + CT_TRACE_CHUNK_HEAD;
	if (!r->skip_crc && crc32(0, payload, (uInt)len) != crc)
		return bad(r, "bad checksum of chunk %u", seq);
	r->p = payload;
	r->end = payload + len;
	int rc = uv(r, "chunk sequence number", &got_seq);
	if (!rc && got_seq != seq)
		return bad(r, "chunk sequence number %llu, expected %u",
			   (unsigned long long)got_seq, seq);
	if (rc || (rc = uv(r, "chunk start time", &t0)) ||
	    (rc = uv_max(r, "chunk time span", UINT64_MAX - t0, &span)))
		return rc;
	if (!t->nchunks || t0 < t->start)
		t->start = t0;
	if (t0 + span > t->end)
		t->end = t0 + span;
	if ((rc = strings(r)) || (rc = modules(r)) || (rc = stacks(r)) ||
	    (rc = batches(r, t0, t0 + span)))
		return rc;
	if (r->p != r->end)
		return bad(r, "%llu unread bytes at the end of chunk %u",
			   (unsigned long long)(r->end - r->p), seq);
	t->nchunks++;
	return 0;
}

/* Whether the n bytes at p can be the start of a cut chunk or index. */
static bool cut_start(const uint8_t *p, size_t n)
{
	uint8_t chnk[4], indx[4];
	for (int i = 0; i < 4; i++) {
		chnk[i] = (uint8_t)(CT_TRACE_CHUNK_MAGIC >> (8 * i));
		indx[i] = (uint8_t)(CT_TRACE_INDEX_MAGIC >> (8 * i));
	}
	n = n < 4 ? n : 4;
	return !memcmp(p, chnk, n) || !memcmp(p, indx, n);
}

/* Walks the chunks from r->p to limit. Without footer (complete == false), a cut chunk or
 * index at the end marks the trace truncated; with one, chunk offsets go to found[]. */
static int walk(rd *r, const uint8_t *limit, bool complete, uint64_t *found, size_t cap)
{
	while (r->p < limit) {
		size_t rem = (size_t)(limit - r->p);
		if (rem < CT_TRACE_CHUNK_HEAD || le(r->p, 4) != CT_TRACE_CHUNK_MAGIC) {
			if (complete || !cut_start(r->p, rem))
				return bad(r, "bad chunk magic 0x%08llx",
					   (unsigned long long)le(r->p, rem < 4 ? rem : 4));
			break;
		}
		uint64_t len = le(r->p + 4, 4);
		if (len > CT_TRACE_MAX_CHUNK)
			return bad(r, "bad chunk length %llu", (unsigned long long)len);
		if (len > rem - CT_TRACE_CHUNK_HEAD) {
			if (complete)
				return bad(r, "chunk of %llu bytes runs past the index",
					   (unsigned long long)len);
			break;
		}
		if (found && r->t->nchunks >= cap)
			return bad(r, "chunk not in the index");
		if (found)
			found[r->t->nchunks] = (uint64_t)off(r);
		const uint8_t *next = r->p + CT_TRACE_CHUNK_HEAD + len;
		int rc = chunk(r, r->t->nchunks);
		if (rc)
			return rc;
		r->p = next;
	}
	if (!complete) {
		r->t->truncated = true;
		r->t->dropped_bytes = (uint64_t)(limit - r->p);
	}
	return 0;
}

/* A complete file: checks the index, then walks the chunks it names. */
static int indexed(rd *r, size_t len)
{
	const uint8_t *trailer = r->base + len - CT_TRACE_TRAILER;
	uint64_t at = le(trailer, 8), end = le(trailer + 8, 8);
	const uint8_t *chunks = r->p;
	r->p = trailer;
	if (at < (uint64_t)(chunks - r->base) || at > len - CT_TRACE_TRAILER - 8)
		return bad(r, "bad index offset %llu", (unsigned long long)at);
	r->p = r->base + at;
	uint64_t n = le(r->p + 4, 4);
	if (le(r->p, 4) != CT_TRACE_INDEX_MAGIC)
		return bad(r, "bad index magic");
	if (n != (len - CT_TRACE_TRAILER - at - 8) / 8 || (len - CT_TRACE_TRAILER - at) % 8)
		return bad(r, "bad index chunk count %llu", (unsigned long long)n);
	uint64_t *found = malloc((n + 1) * sizeof(*found));
	if (!found)
		return nomem(r);
	r->p = chunks;
	int rc = walk(r, r->base + at, true, found, n);
	for (uint64_t i = 0; !rc && i <= n; i++) {
		r->p = r->base + at + 8 + 8 * i;
		if (i == n ? r->t->nchunks != n : le(r->p, 8) != found[i])
			rc = bad(r, "index does not match the %u chunks found", r->t->nchunks);
	}
	free(found);
	r->p = trailer + 8;
	if (!rc && end < r->t->end)
		rc = bad(r, "end time before the last chunk's end");
	/* 2^62 ns is 146 years: no recording's; past it, durations go negative as int64. */
	if (!rc && r->t->nchunks && end - r->t->start > (UINT64_C(1) << 62))
		rc = bad(r, "end time %llu ns after the start",
			 (unsigned long long)(end - r->t->start));
	r->t->end = end;
	if (!r->t->nchunks)
		r->t->start = end;
	return rc;
}

/* ---- entry points ------------------------------------------------------------------------ */

int ct_trace_decode_opts(const uint8_t *buf, size_t len, const ct_trace_read_opts *o,
			 ct_trace **out, ct_error *err)
{
	*out = NULL;
	rd r = {.base = buf, .p = buf, .end = buf + len, .err = err, .skip_crc = o && o->skip_crc};
	r.t = calloc(1, sizeof(*r.t));
	if (!r.t || !(r.t->prof = ct_profile_new())) {
		free(r.t);
		return ct_error_set(err, ENOMEM, -1, "out of memory");
	}
	int rc = header(&r, len);
	if (!rc) {
		const uint8_t *chunks = r.p;
		bool complete = (size_t)(chunks - buf) + 8 + CT_TRACE_TRAILER <= len &&
				!memcmp(buf + len - 8, CT_TRACE_END_MAGIC, 8);
		rc = complete ? indexed(&r, len) : walk(&r, buf + len, false, NULL, 0);
	}
	free(r.strs);
	free(r.mods);
	free(r.stk);
	free(r.locs);
	ct_u64map_free(&r.stackmap);
	ct_u64map_free(&r.mapmap);
	if (rc)
		ct_trace_free(r.t);
	else
		*out = r.t;
	return rc;
}

int ct_trace_decode(const uint8_t *buf, size_t len, ct_trace **out, ct_error *err)
{
	return ct_trace_decode_opts(buf, len, NULL, out, err);
}

int ct_trace_read_file(const char *path, ct_trace **out, ct_error *err)
{
	*out = NULL;
	int fd = ct_open_regular(path);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return ct_error_set(err, e, -1, "%s",
				    e == EINVAL ? "not a regular file" : strerror(e));
	}
	size_t len = (size_t)st.st_size, got = 0;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		close(fd);
		return ct_error_set(err, ENOMEM, -1, "out of memory (%zu bytes)", len);
	}
	while (got < len) {
		ssize_t k = read(fd, buf + got, len - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	int e = got < len ? (errno ? errno : EIO) : 0;
	close(fd);
	int rc = e ? ct_error_set(err, e, -1, "%s", strerror(e))
		   : ct_trace_decode(buf, len, out, err);
	free(buf);
	return rc;
}

void ct_trace_free(ct_trace *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->nstacks; i++)
		free((void *)t->stacks[i].locs);
	free(t->stacks);
	free(t->events);
	free(t->annots);
	free(t->argv);
	ct_profile_free(t->prof);
	free(t);
}

const char *ct_trace_loc_name(const ct_trace *t, uint32_t loc, char *buf, size_t len)
{
	const ct_profile *p = t->prof;
	const ct_location *l = &p->locations[loc];
	if (l->nlines)
		return p->functions[l->lines[0].function].name;
	const ct_mapping *m = l->mapping ? &p->mappings[l->mapping - 1] : NULL;
	const char *base = m ? strrchr(m->filename, '/') : NULL;
	base = base ? base + 1 : m ? m->filename : "";
	if (!*base)
		snprintf(buf, len, "0x%llx", (unsigned long long)l->address);
	else
		snprintf(buf, len, "%s+0x%llx", base,
			 (unsigned long long)(l->address - m->memory_start + m->file_offset));
	return buf;
}
