/*
 * ckpt.c — the checkpoint journal's writer helpers and its reader (format: ckpt.h).
 *
 * The writer appends records to a growable buffer that the agent then write()s in one go.
 * The reader loads the whole file, finds the end of the last COMMIT (anything after it is a
 * torn append and is ignored), applies the records before it — later module, stack and
 * thread records add to the tables, ENTRY deltas are summed per (kind, stack, a, b) — and
 * builds each profile the way the agent's sources would have at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libtrace/ckpt.h"
#include "libtrace/heapsample.h"
#include "libtrace/hindex.h"
#include "libtrace/intern.h"
#include "libtrace/lockagg.h"
#include "libtrace/vec.h"

/* ---- writing ---- */

static uint8_t *room(ct_ckpt_buf *b, size_t n)
{
	if (b->oom || CT_VEC_RESERVE(b->data, b->cap, b->len + n) < 0) {
		b->oom = 1;
		return NULL;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

static void put_le(ct_ckpt_buf *b, uint64_t v, int bytes)
{
	uint8_t *p = room(b, (size_t)bytes);
	for (int i = 0; p && i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_str(ct_ckpt_buf *b, const char *s)
{
	size_t n = s ? strnlen(s, 4096) : 0;
	put_le(b, n, 2);
	uint8_t *p = room(b, n);
	if (p)
		memcpy(p, s, n);
}

/* Starts a record; returns where its length goes (patched by end_rec). */
static size_t begin_rec(ct_ckpt_buf *b, int type)
{
	size_t at = b->len;
	put_le(b, 0, 4);
	put_le(b, (uint64_t)type, 1);
	return at;
}

static void end_rec(ct_ckpt_buf *b, size_t at)
{
	if (b->oom)
		return;
	uint64_t n = b->len - at - 5;
	for (int i = 0; i < 4; i++)
		b->data[at + (size_t)i] = (uint8_t)(n >> (8 * i));
}

void ct_ckpt_put_magic(ct_ckpt_buf *b)
{
	uint8_t *p = room(b, 8);
	if (p)
		memcpy(p, CT_CKPT_MAGIC, 8);
}

void ct_ckpt_put_start(ct_ckpt_buf *b, const ct_ckpt_start *s)
{
	size_t at = begin_rec(b, CT_CK_START);
	put_le(b, s->pid, 4);
	put_le(b, s->hz, 4);
	put_le(b, s->heap_rate, 8);
	put_le(b, s->modes, 4);
	put_le(b, s->flags, 4);
	put_le(b, s->wall_ns, 8);
	put_le(b, s->mono_ns, 8);
	put_str(b, s->engine);
	put_str(b, s->reason);
	put_str(b, s->cmd);
	end_rec(b, at);
}

void ct_ckpt_put_module(ct_ckpt_buf *b, uint64_t start, uint64_t end, uint64_t file_offset,
			const char *path, const char *build_id)
{
	size_t at = begin_rec(b, CT_CK_MODULE);
	put_le(b, start, 8);
	put_le(b, end, 8);
	put_le(b, file_offset, 8);
	put_str(b, path);
	put_str(b, build_id);
	end_rec(b, at);
}

void ct_ckpt_put_stack(ct_ckpt_buf *b, uint32_t id, const uintptr_t *pcs, int n, int truncated)
{
	if (n > CT_CKPT_MAX_PCS)
		n = CT_CKPT_MAX_PCS;
	size_t at = begin_rec(b, CT_CK_STACK);
	put_le(b, id, 4);
	put_le(b, truncated ? 1 : 0, 1);
	put_le(b, (uint64_t)n, 2);
	for (int i = 0; i < n; i++)
		put_le(b, pcs[i], 8);
	end_rec(b, at);
}

void ct_ckpt_put_thread(ct_ckpt_buf *b, uint32_t tid, const char *name)
{
	size_t at = begin_rec(b, CT_CK_THREAD);
	put_le(b, tid, 4);
	put_str(b, name);
	end_rec(b, at);
}

void ct_ckpt_put_entry(ct_ckpt_buf *b, ct_ckpt_kind kind, uint32_t stack, uint64_t a, uint64_t k2,
		       const int64_t *values, int n)
{
	size_t at = begin_rec(b, CT_CK_ENTRY);
	put_le(b, (uint64_t)kind, 1);
	put_le(b, stack, 4);
	put_le(b, a, 8);
	put_le(b, k2, 8);
	put_le(b, (uint64_t)n, 1);
	for (int i = 0; i < n; i++)
		put_le(b, (uint64_t)values[i], 8);
	end_rec(b, at);
}

void ct_ckpt_put_commit(ct_ckpt_buf *b, const ct_ckpt_commit *c)
{
	size_t at = begin_rec(b, CT_CK_COMMIT);
	put_le(b, c->mono_ns, 8);
	put_le(b, c->samples, 8);
	put_le(b, c->lost, 8);
	put_le(b, c->threads, 8);
	put_le(b, c->events_lost, 8);
	end_rec(b, at);
}

void ct_ckpt_buf_free(ct_ckpt_buf *b)
{
	free(b->data);
	*b = (ct_ckpt_buf){0};
}

/* ---- reading ---- */

enum { NVALS = 4 };

typedef struct {
	uint64_t start, end, offset;
	char path[512], build_id[80];
} ck_module;

typedef struct {
	uint32_t id, n;
	int truncated;
	const uint8_t *pcs; /* n little-endian u64 in the file's bytes */
} ck_stack;

typedef struct {
	uint32_t tid;
	char name[32];
} ck_thread;

typedef struct {
	uint32_t kind, stack;
	uint64_t a, b;
	int64_t v[NVALS];
} ck_entry;

struct ct_ckpt {
	uint8_t *data;
	size_t len;
	ct_ckpt_info info;
	char engine[32], reason[256], cmd[256];
	ck_module *mods;
	size_t nmods, cmods;
	ck_stack *stacks;
	size_t nstacks, cstacks;
	ct_hindex stack_ix;
	ck_thread *threads;
	size_t nthreads, cthreads;
	ct_hindex thread_ix;
	ck_entry *entries;
	size_t nentries, centries;
	ct_hindex entry_ix;
};

/* A cursor over one record's payload. */
typedef struct {
	const uint8_t *p, *end;
	int bad;
} rd;

static uint64_t get_le(rd *r, int bytes)
{
	if (r->bad || r->end - r->p < bytes) {
		r->bad = 1;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += bytes;
	return v;
}

static void get_str(rd *r, char *out, size_t cap)
{
	size_t n = (size_t)get_le(r, 2);
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		*out = 0;
		return;
	}
	size_t k = n < cap - 1 ? n : cap - 1;
	memcpy(out, r->p, k);
	out[k] = 0;
	r->p += n;
}

static uint32_t hash2(uint64_t x, uint64_t y)
{
	return (uint32_t)ct_hash_u64(x ^ ct_hash_u64(y));
}

static ck_stack *find_stack(const ct_ckpt *c, uint32_t id)
{
	if (!c->stack_ix.cap)
		return NULL;
	uint32_t h = hash2(id, 0);
	for (size_t i = ct_hindex_home(&c->stack_ix, h); c->stack_ix.slots[i].idx1;
	     i = ct_hindex_next(&c->stack_ix, i))
		if (c->stack_ix.slots[i].hash == h &&
		    c->stacks[c->stack_ix.slots[i].idx1 - 1].id == id)
			return &c->stacks[c->stack_ix.slots[i].idx1 - 1];
	return NULL;
}

static const char *thread_name(const ct_ckpt *c, uint32_t tid)
{
	if (!c->thread_ix.cap)
		return NULL;
	uint32_t h = hash2(tid, 1);
	for (size_t i = ct_hindex_home(&c->thread_ix, h); c->thread_ix.slots[i].idx1;
	     i = ct_hindex_next(&c->thread_ix, i))
		if (c->thread_ix.slots[i].hash == h &&
		    c->threads[c->thread_ix.slots[i].idx1 - 1].tid == tid)
			return c->threads[c->thread_ix.slots[i].idx1 - 1].name;
	return NULL;
}

static int apply_stack(ct_ckpt *c, rd *r)
{
	ck_stack s = {.id = (uint32_t)get_le(r, 4)};
	s.truncated = (int)get_le(r, 1) & 1;
	s.n = (uint32_t)get_le(r, 2);
	s.pcs = r->p;
	if (r->bad || s.n > CT_CKPT_MAX_PCS || (size_t)(r->end - r->p) < (size_t)s.n * 8)
		return -EINVAL;
	r->p += (size_t)s.n * 8;
	ck_stack *old = find_stack(c, s.id);
	if (old) {
		*old = s;
		return 0;
	}
	if (CT_VEC_RESERVE(c->stacks, c->cstacks, c->nstacks + 1) < 0 ||
	    ct_hindex_insert(&c->stack_ix, hash2(s.id, 0), (uint32_t)c->nstacks) < 0)
		return -ENOMEM;
	c->stacks[c->nstacks++] = s;
	return 0;
}

static int apply_thread(ct_ckpt *c, rd *r)
{
	ck_thread t = {.tid = (uint32_t)get_le(r, 4)};
	get_str(r, t.name, sizeof(t.name));
	if (r->bad)
		return -EINVAL;
	char *old = (char *)thread_name(c, t.tid);
	if (old) {
		memcpy(old, t.name, sizeof(t.name));
		return 0;
	}
	if (CT_VEC_RESERVE(c->threads, c->cthreads, c->nthreads + 1) < 0 ||
	    ct_hindex_insert(&c->thread_ix, hash2(t.tid, 1), (uint32_t)c->nthreads) < 0)
		return -ENOMEM;
	c->threads[c->nthreads++] = t;
	return 0;
}

static int apply_entry(ct_ckpt *c, rd *r)
{
	ck_entry e = {.kind = (uint32_t)get_le(r, 1), .stack = (uint32_t)get_le(r, 4)};
	e.a = get_le(r, 8);
	e.b = get_le(r, 8);
	int n = (int)get_le(r, 1);
	if (r->bad || e.kind >= CT_CKPT_NKINDS || n > NVALS)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		e.v[i] = (int64_t)get_le(r, 8);
	if (r->bad)
		return -EINVAL;
	uint32_t h = hash2(((uint64_t)e.kind << 32) | e.stack, e.a * 31 + e.b);
	if (ct_hindex_reserve(&c->entry_ix) < 0)
		return -ENOMEM;
	size_t i = ct_hindex_home(&c->entry_ix, h);
	for (; c->entry_ix.slots[i].idx1; i = ct_hindex_next(&c->entry_ix, i)) {
		ck_entry *o = &c->entries[c->entry_ix.slots[i].idx1 - 1];
		if (c->entry_ix.slots[i].hash != h || o->kind != e.kind || o->stack != e.stack ||
		    o->a != e.a || o->b != e.b)
			continue;
		bool lock = e.kind == CT_CKPT_MUTEX || e.kind == CT_CKPT_BLOCK;
		for (int k = 0; k < NVALS; k++)
			o->v[k] = lock && k == 2 ? (e.v[k] > o->v[k] ? e.v[k] : o->v[k])
						 : o->v[k] + e.v[k];
		return 0;
	}
	if (CT_VEC_RESERVE(c->entries, c->centries, c->nentries + 1) < 0)
		return -ENOMEM;
	ct_hindex_fill(&c->entry_ix, i, h, (uint32_t)c->nentries);
	c->entries[c->nentries++] = e;
	return 0;
}

static int apply_start(ct_ckpt *c, rd *r)
{
	ct_ckpt_start *s = &c->info.start;
	s->pid = (uint32_t)get_le(r, 4);
	s->hz = (uint32_t)get_le(r, 4);
	s->heap_rate = get_le(r, 8);
	s->modes = (uint32_t)get_le(r, 4);
	s->flags = (uint32_t)get_le(r, 4);
	s->wall_ns = get_le(r, 8);
	s->mono_ns = get_le(r, 8);
	get_str(r, c->engine, sizeof(c->engine));
	get_str(r, c->reason, sizeof(c->reason));
	get_str(r, c->cmd, sizeof(c->cmd));
	s->engine = c->engine;
	s->reason = c->reason;
	s->cmd = c->cmd;
	return r->bad ? -EINVAL : 0;
}

static int apply_module(ct_ckpt *c, rd *r)
{
	ck_module m = {.start = get_le(r, 8), .end = get_le(r, 8), .offset = get_le(r, 8)};
	get_str(r, m.path, sizeof(m.path));
	get_str(r, m.build_id, sizeof(m.build_id));
	if (r->bad)
		return -EINVAL;
	if (CT_VEC_RESERVE(c->mods, c->cmods, c->nmods + 1) < 0)
		return -ENOMEM;
	c->mods[c->nmods++] = m;
	return 0;
}

static int apply(ct_ckpt *c, int type, rd *r)
{
	switch (type) {
	case CT_CK_START:
		return apply_start(c, r);
	case CT_CK_MODULE:
		return apply_module(c, r);
	case CT_CK_STACK:
		return apply_stack(c, r);
	case CT_CK_THREAD:
		return apply_thread(c, r);
	case CT_CK_ENTRY:
		return apply_entry(c, r);
	case CT_CK_COMMIT: {
		ct_ckpt_commit *k = &c->info.last;
		k->mono_ns = get_le(r, 8);
		k->samples = get_le(r, 8);
		k->lost = get_le(r, 8);
		k->threads = get_le(r, 8);
		k->events_lost = get_le(r, 8);
		c->info.commits++;
		/* Counts past 2^48 are no process's: a corrupt or hostile journal. */
		uint64_t most = k->samples | k->lost | k->threads | k->events_lost;
		return r->bad || most >> 48 ? -EINVAL : 0;
	}
	default:
		return 0; /* a newer writer's record: skipped */
	}
}

/* The end of the last COMMIT record, 8 when there is none. A record longer than what is
 * left ends the scan: it is the append a kill cut short. */
static size_t last_commit_end(const ct_ckpt *c)
{
	size_t off = 8, end = 8;
	while (c->len - off >= 5) {
		uint32_t n = (uint32_t)c->data[off] | (uint32_t)c->data[off + 1] << 8 |
			     (uint32_t)c->data[off + 2] << 16 | (uint32_t)c->data[off + 3] << 24;
		if (n > c->len - off - 5)
			break; /* torn: the append the kill cut short */
		if (c->data[off + 4] == CT_CK_COMMIT)
			end = off + 5 + n;
		off += 5 + (size_t)n;
	}
	return end;
}

static int parse(ct_ckpt *c, ct_error *err)
{
	if (c->len < 8 || memcmp(c->data, CT_CKPT_MAGIC, 8) != 0)
		return ct_error_set(err, EINVAL, 0,
				    "not a ctrace checkpoint (bad magic at byte 0)");
	size_t end = last_commit_end(c);
	if (end == 8)
		return ct_error_set(err, EINVAL, 8, "no complete checkpoint (no COMMIT record)");
	c->info.torn = c->len - end;
	for (size_t off = 8; off < end;) {
		uint32_t n = (uint32_t)c->data[off] | (uint32_t)c->data[off + 1] << 8 |
			     (uint32_t)c->data[off + 2] << 16 | (uint32_t)c->data[off + 3] << 24;
		int type = c->data[off + 4];
		rd r = {.p = c->data + off + 5, .end = c->data + off + 5 + n};
		if (off == 8 && type != CT_CK_START)
			return ct_error_set(err, EINVAL, (long long)off,
					    "first record is type %d, not START, at byte %zu", type,
					    off);
		int rc = apply(c, type, &r);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return ct_error_set(err, EINVAL, (long long)off,
					    "malformed record of type %d at byte %zu", type, off);
		off += 5 + (size_t)n;
	}
	return 0;
}

/* The file's bytes into c->data (a regular file, at most 1 GiB). 0 or -errno. */
static int read_all(ct_ckpt *c, const char *path)
{
	int fd = open(path,
		      O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK); /* not blocked by a FIFO */
	if (fd < 0)
		return -errno;
	struct stat sb;
	int rc = fstat(fd, &sb) < 0			       ? -errno
		 : !S_ISREG(sb.st_mode)			       ? -EINVAL
		 : sb.st_size > (1ll << 30)		       ? -EFBIG
		 : !(c->data = malloc((size_t)sb.st_size + 1)) ? -ENOMEM
							       : 0;
	while (rc == 0 && c->len < (size_t)sb.st_size) {
		ssize_t n = read(fd, c->data + c->len, (size_t)sb.st_size - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* shorter than fstat said: what was read is the file */
		c->len += (size_t)n;
	}
	close(fd);
	return rc;
}

int ct_ckpt_read_file(const char *path, ct_ckpt **out, ct_error *err)
{
	*out = NULL;
	ct_ckpt *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int rc = read_all(c, path);
	if (rc < 0) {
		ct_error_set(err, -rc, -1, "%s", strerror(-rc));
		ct_ckpt_free(c);
		return rc;
	}
	rc = parse(c, err);
	if (rc < 0) {
		ct_ckpt_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void ct_ckpt_free(ct_ckpt *c)
{
	if (!c)
		return;
	free(c->data);
	free(c->mods);
	free(c->stacks);
	free(c->threads);
	free(c->entries);
	ct_hindex_free(&c->stack_ix);
	ct_hindex_free(&c->thread_ix);
	ct_hindex_free(&c->entry_ix);
	free(c);
}

const ct_ckpt_info *ct_ckpt_get_info(const ct_ckpt *c)
{
	return &c->info;
}

/* ---- building profiles ---- */

static uint32_t mapping_for(ct_profile *p, const void *ctx, uint64_t pc)
{
	(void)p;
	const ct_ckpt *c = ctx;
	for (size_t i = 0; i < c->nmods; i++)
		if (pc >= c->mods[i].start && pc < c->mods[i].end)
			return (uint32_t)i + 1;
	return 0;
}

/* One sample on the entry's stack, made the way the agent's out.c makes it: a CPU sample's
 * stack (0 sentinel last) keeps its leaf pc exact, return addresses become address - 1. */
static int add_sample(const ct_ckpt *c, ct_profile *p, uint32_t stack, const int64_t *v,
		      const ct_label *labels, uint32_t nlabels)
{
	const ck_stack *s = find_stack(c, stack);
	_Static_assert(CT_CKPT_MAX_PCS <= CT_PROFILE_MAX_PCS, "a journal's stack fits a sample");
	uint64_t pcs[CT_CKPT_MAX_PCS];
	uint32_t n = s ? s->n : 0;
	rd r = {.p = s ? s->pcs : NULL, .end = s ? s->pcs + (size_t)n * 8 : NULL};
	for (uint32_t i = 0; i < n; i++)
		pcs[i] = get_le(&r, 8);
	bool exact = n > 0 && pcs[n - 1] == 0;
	return ct_profile_add_pc_sample(p, pcs, n, exact, s && s->truncated, mapping_for, c, v,
					labels, nlabels);
}

/* A new profile with the journal's mappings, times and comments. */
static ct_profile *new_profile(const ct_ckpt *c)
{
	ct_profile *p = ct_profile_new();
	if (!p)
		return NULL;
	for (size_t i = 0; i < c->nmods; i++) {
		ct_mapping mp = {.memory_start = c->mods[i].start,
				 .memory_limit = c->mods[i].end,
				 .file_offset = c->mods[i].offset,
				 .filename = c->mods[i].path,
				 .build_id = c->mods[i].build_id};
		ct_profile_add_mapping(p, &mp);
	}
	const ct_ckpt_info *in = &c->info;
	char m[400];
	snprintf(m, sizeof(m), "ctrace: engine %s: %s", in->start.engine, in->start.reason);
	ct_profile_add_comment(p, m);
	double at = in->last.mono_ns > in->start.mono_ns
			    ? (double)(in->last.mono_ns - in->start.mono_ns) / 1e9
			    : 0;
	snprintf(m, sizeof(m),
		 "ctrace: from the last checkpoint (%.3f s after start, %llu checkpoints): the "
		 "process ended without the agent's final write",
		 at, (unsigned long long)in->commits);
	ct_profile_add_comment(p, m);
	p->time_nanos = (int64_t)(in->start.wall_ns & INT64_MAX);
	uint64_t d =
		in->last.mono_ns > in->start.mono_ns ? in->last.mono_ns - in->start.mono_ns : 0;
	p->duration_nanos = (int64_t)(d & INT64_MAX);
	return p;
}

static int set_types(ct_profile *p, const char *const *types, int n, const char *ptype,
		     const char *punit, int64_t period)
{
	for (int i = 0; i < n; i++)
		if (ct_profile_add_sample_type(p, types[2 * i], types[2 * i + 1]) < 0)
			return -ENOMEM;
	p->period_type.type = ct_profile_str(p, ptype);
	p->period_type.unit = ct_profile_str(p, punit);
	p->period = period;
	return p->period_type.type && p->period_type.unit ? 0 : -ENOMEM;
}

/* The lost CPU samples on one synthetic frame, as the agent's cpu.c writes them. */
static int add_lost(ct_profile *p, uint64_t lost)
{
	uint32_t fn = ct_profile_add_function(p, "[ctrace: lost samples]", "", "", 0);
	ct_line line = {.function = fn, .line = 0};
	uint32_t loc = fn == UINT32_MAX ? UINT32_MAX : ct_profile_add_location(p, 0, 0, &line, 1);
	int64_t v[2] = {(int64_t)lost, 0}; /* lost < 2^48 (read_record) */
	/* The builtin stores the wrapped product on overflow: saturate instead. */
	if (__builtin_mul_overflow(v[0], p->period, &v[1]) || v[1] < 0)
		v[1] = INT64_MAX;
	return loc == UINT32_MAX ? -ENOMEM : ct_profile_add_sample(p, &loc, 1, v, NULL, 0);
}

static int64_t nonneg(int64_t v)
{
	return v < 0 ? 0 : v;
}

static int add_entry(const ct_ckpt *c, ct_profile *p, const ck_entry *e)
{
	const ct_ckpt_start *s = &c->info.start;
	if (e->kind == CT_CKPT_CPU) {
		const char *name = thread_name(c, (uint32_t)e->a);
		ct_label l[2] = {{.key = "thread", .str = name ? name : "?"},
				 {.key = "tid", .num = (int64_t)e->a}};
		return add_sample(c, p, e->stack, e->v, l, 2);
	}
	if (e->kind == CT_CKPT_HEAP) {
		int64_t v[4];
		ct_heap_unsample(e->v[0], e->v[1], s->heap_rate, &v[0], &v[1]);
		ct_heap_unsample(nonneg(e->v[2]), nonneg(e->v[3]), s->heap_rate, &v[2], &v[3]);
		if (!v[0] && !v[1] && !v[2] && !v[3])
			return 0;
		ct_label l = {.key = "bytes", .num = (int64_t)e->a};
		return add_sample(c, p, e->stack, v, &l, 1);
	}
	ct_lock_entry le = {.obj = e->a,
			    .stack = e->stack,
			    .kind = e->kind == CT_CKPT_MUTEX ? CT_LOCK_AGG_MUTEX
							     : CT_LOCK_AGG_BLOCK,
			    .reason = (uint16_t)e->b,
			    .count = e->v[0],
			    .delay = e->v[1],
			    .max = e->v[2]};
	char hex[24];
	ct_label l[3];
	uint32_t nl = ct_lock_agg_labels(&le, l, hex);
	return add_sample(c, p, e->stack, e->v, l, nl);
}

ct_profile *ct_ckpt_profile(const ct_ckpt *c, ct_ckpt_kind kind)
{
	static const unsigned mode_of[CT_CKPT_NKINDS] = {1, 2, 4, 8}; /* outdir.h CT_MODE_* */
	static const char *const cpu_t[] = {"samples", "count", "cpu", "nanoseconds"};
	static const char *const heap_t[] = {"alloc_objects", "count", "alloc_space", "bytes",
					     "inuse_objects", "count", "inuse_space", "bytes"};
	static const char *const lock_t[] = {"contentions", "count", "delay", "nanoseconds"};
	const ct_ckpt_start *s = &c->info.start;
	if ((unsigned)kind >= CT_CKPT_NKINDS || !(s->modes & mode_of[kind]) ||
	    (kind == CT_CKPT_CPU && strcmp(s->engine, "off") == 0))
		return NULL;
	ct_profile *p = new_profile(c);
	if (!p)
		return NULL;
	int rc;
	if (kind == CT_CKPT_CPU)
		rc = set_types(p, cpu_t, 2, "cpu", "nanoseconds",
			       1000000000ll / (s->hz ? s->hz : 99));
	else if (kind == CT_CKPT_HEAP)
		rc = set_types(p, heap_t, 4, "space", "bytes", (int64_t)s->heap_rate);
	else
		rc = set_types(p, lock_t, 2, "contentions", "count", 1);
	if (kind == CT_CKPT_HEAP && (s->flags & CT_CKPT_HEAP_DIRECT) && rc == 0)
		rc = ct_profile_add_comment(p, "ctrace heap: rate 1: in-use not known from a "
					       "checkpoint (allocations only)");
	for (size_t i = 0; rc == 0 && i < c->nentries; i++)
		if (c->entries[i].kind == (uint32_t)kind)
			rc = add_entry(c, p, &c->entries[i]);
	if (rc == 0 && kind == CT_CKPT_CPU && c->info.last.lost)
		rc = add_lost(p, c->info.last.lost);
	if (rc < 0) {
		ct_profile_free(p);
		return NULL;
	}
	return p;
}
