/*
 * tracewrite.c — the trace.ctr writer (see tracewrite.h; layout in docs/trace-format.md).
 *
 * Events are buffered per thread as fixed-size records until a flush. A flush sorts each
 * thread's batch by time (stable: ties keep arrival order), resolves the stacks the events
 * reference into a chunk-local stack table (which interns the modules and strings they
 * need), encodes the chunk's tables, then the batches, and writes the chunk with its
 * checksum in one go. Then the buffers are emptied (threads idle for a whole chunk give
 * theirs back), so memory is bounded by what arrives between two flushes; only the list of
 * chunk offsets (8 bytes a chunk) grows with time. The writer's state is declared in
 * tracewrite_impl.h, which traceann.c (the annotation events) shares.
 */
#include "tracewrite.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "libtrace/tracefmt.h"
#include "libtrace/tracewrite_impl.h"

/* ---- chunk string table ------------------------------------------------------------------ */

static uint64_t str_hash(const char *s)
{
	return ct_hash_bytes(s, strlen(s), 0);
}

/* The chunk-local index of s, interning a copy. Strings with equal hashes take the keys
 * hash + 1, hash + 2, ... (rare). Returns UINT32_MAX on ENOMEM. */
uint32_t ct_tw__str(ct_tw *w, const char *s)
{
	uint64_t h = str_hash(s);
	for (uint32_t i; (i = ct_u64map_get(&w->strmap, h)) != UINT32_MAX; h++)
		if (!strcmp(w->strs[i], s))
			return i;
	size_t cap = w->strs_cap;
	if (ct_grow((void **)&w->strs, &cap, w->nstrs + 1, sizeof(*w->strs)))
		return UINT32_MAX;
	w->strs_cap = (uint32_t)cap;
	char *copy = strdup(s);
	if (!copy || ct_u64map_put(&w->strmap, h, w->nstrs)) {
		free(copy);
		return UINT32_MAX;
	}
	w->strs[w->nstrs] = copy;
	w->pending += strlen(s) + 16;
	return w->nstrs++;
}

/* ---- open, modules ------------------------------------------------------------------------ */

static int write_all(ct_tw *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		n -= (size_t)k;
		w->offset += (uint64_t)k;
		w->st.bytes += (uint64_t)k;
	}
	return 0;
}

void ct_tw_set_fd(ct_tw *w, int fd)
{
	w->fd = fd;
}

uint64_t ct_tw_offset(const ct_tw *w)
{
	return w->offset;
}

int ct_tw_open(ct_tw **out, int fd, const ct_tw_info *info)
{
	*out = NULL;
	ct_tw *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->stacks = info->stacks;
	w->floor = info->floor_ns;
	const char *engine = info->engine ? info->engine : "";
	size_t need = 64 + strlen(engine);
	for (uint32_t i = 0; i < info->argc; i++)
		need += 10 + strlen(info->argv[i]);
	ct_bytes *b = &w->out;
	int rc = ct_bytes_need(b, need);
	if (rc) {
		ct_tw_free(w);
		return rc;
	}
	memcpy(b->p, CT_TRACE_MAGIC, 8);
	b->len = 8;
	ct_bytes_le(b, CT_TRACE_VERSION, 2);
	ct_bytes_le(b, info->has_switches ? CT_TRACE_F_SWITCHES : 0, 2);
	ct_bytes_le(b, 0, 4); /* body length, patched below */
	ct_bytes_le(b, CLOCK_MONOTONIC, 4);
	ct_bytes_le(b, (uint32_t)info->pid, 4);
	ct_bytes_le(b, info->anchor.mono_ns, 8);
	ct_bytes_le(b, info->anchor.wall_ns, 8);
	ct_bytes_le(b, info->sample_period_ns, 8);
	ct_bytes_str(b, engine);
	ct_bytes_uvarint(b, info->argc);
	for (uint32_t i = 0; i < info->argc; i++)
		ct_bytes_str(b, info->argv[i]);
	uint32_t body = (uint32_t)(b->len - CT_TRACE_HEADER_FIXED);
	for (int i = 0; i < 4; i++)
		b->p[12 + i] = (uint8_t)(body >> (8 * i));
	rc = write_all(w, b->p, b->len);
	b->len = 0;
	if (rc) {
		ct_tw_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

static void free_mods(ct_tw *w)
{
	for (uint32_t i = 0; i < w->nmods; i++) {
		free((char *)w->mods[i].path);
		free((char *)w->mods[i].build_id);
	}
	free(w->mods);
	free(w->mod_local);
	free(w->chunk_mods);
	w->mods = NULL;
	w->mod_local = w->chunk_mods = NULL;
	w->nmods = 0;
}

static int mod_cmp(const void *a, const void *b)
{
	const ct_tw_module *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Stacks buffered so far refer to PCs, not modules, so replacing the table between
 * flushes is safe: they are placed with the table current at the flush. */
int ct_tw_set_modules(ct_tw *w, const ct_tw_module *mods, uint32_t n)
{
	free_mods(w);
	w->mods = calloc(n ? n : 1, sizeof(*w->mods));
	w->mod_local = calloc(n ? n : 1, sizeof(*w->mod_local));
	w->chunk_mods = calloc(n ? n : 1, sizeof(*w->chunk_mods));
	if (!w->mods || !w->mod_local || !w->chunk_mods) {
		free_mods(w);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		w->mods[i] = mods[i];
		w->mods[i].path = strdup(mods[i].path ? mods[i].path : "");
		w->mods[i].build_id = strdup(mods[i].build_id ? mods[i].build_id : "");
		w->nmods = i + 1;
		if (!w->mods[i].path || !w->mods[i].build_id) {
			free_mods(w);
			return -ENOMEM;
		}
	}
	qsort(w->mods, n, sizeof(*w->mods), mod_cmp);
	return 0;
}

/* ---- events ------------------------------------------------------------------------------ */

tw_ev *ct_tw__event(ct_tw *w, uint32_t tid, uint64_t t, uint8_t kind)
{
	/* The threads of the last events first: context switches alternate between a few. */
	uint32_t *recent = &w->recent[tid % CT_TW_RECENT];
	uint32_t bi = *recent;
	if (bi >= w->nbatches || w->batches[bi].tid != tid)
		bi = *recent = ct_u64map_get(&w->threads, tid);
	if (bi == UINT32_MAX) {
		if (ct_grow((void **)&w->batches, &w->batches_cap, w->nbatches + 1,
			    sizeof(*w->batches)))
			return NULL;
		bi = (uint32_t)w->nbatches;
		if (ct_u64map_put(&w->threads, tid, bi))
			return NULL;
		w->batches[w->nbatches++] = (tw_batch){.tid = tid};
		*recent = bi;
		w->pending += sizeof(tw_batch) + 16;
	}
	tw_batch *b = &w->batches[bi];
	if (ct_grow((void **)&b->ev, &b->cap, b->n + 1, sizeof(*b->ev)))
		return NULL;
	tw_ev *e = &b->ev[b->n++];
	*e = (tw_ev){.t = t < w->floor ? w->floor : t, .kind = kind, .seq = w->seq++};
	w->pending += sizeof(*e);
	w->nev++;
	return e;
}

int ct_tw__check_stack(const ct_tw *w, uint32_t stack)
{
	const uintptr_t *pcs;
	if (stack && (!w->stacks || ct_stacks_get(w->stacks, stack, &pcs) < 0))
		return -EINVAL;
	return 0;
}

/* Buffers an event of tid with its kind-specific a and c, and its stack (0: none).
 * 0 or -errno. */
static int buffer_event(ct_tw *w, uint32_t tid, uint64_t t, uint8_t kind, uint64_t a, uint32_t c,
			uint32_t stack)
{
	if (ct_tw__check_stack(w, stack))
		return -EINVAL;
	tw_ev *e = ct_tw__event(w, tid, t, kind);
	if (!e)
		return -ENOMEM;
	e->a = a;
	e->c = c;
	e->stack = stack;
	return 0;
}

int ct_tw_switch_out(ct_tw *w, uint32_t tid, uint64_t t, uint32_t cpu, bool preempted)
{
	return buffer_event(w, tid, t, preempted ? CT_EV_SWITCH_OUT_PREEMPT : CT_EV_SWITCH_OUT, 0,
			    cpu, 0);
}

int ct_tw_switch_in(ct_tw *w, uint32_t tid, uint64_t t, uint32_t cpu)
{
	return buffer_event(w, tid, t, CT_EV_SWITCH_IN, 0, cpu, 0);
}

int ct_tw_wait(ct_tw *w, uint32_t tid, uint64_t begin, uint64_t end, ct_wait_reason reason,
	       uint64_t object, uint32_t stack)
{
	if ((unsigned)reason >= CT_WAIT_NREASONS || end < begin || ct_tw__check_stack(w, stack))
		return -EINVAL;
	if (begin < w->floor) { /* a window's: the part inside it */
		if (end <= w->floor)
			return 0;
		begin = w->floor;
	}
	tw_ev *e = ct_tw__event(w, tid, begin, end == CT_TW_OPEN ? CT_EV_WAIT_OPEN : CT_EV_WAIT);
	if (!e)
		return -ENOMEM;
	*e = (tw_ev){.t = begin,
		     .a = object,
		     .b = end,
		     .stack = stack,
		     .seq = e->seq,
		     .kind = e->kind,
		     .reason = (uint8_t)reason};
	return 0;
}

int ct_tw_unblock(ct_tw *w, uint32_t waker, uint64_t t, uint32_t woken, uint64_t object,
		  uint32_t stack)
{
	return buffer_event(w, waker, t, CT_EV_UNBLOCK, object, woken, stack);
}

int ct_tw_create(ct_tw *w, uint32_t creator, uint64_t t, uint32_t new_tid, uint32_t stack)
{
	return buffer_event(w, creator, t, CT_EV_CREATE, 0, new_tid, stack);
}

int ct_tw_start(ct_tw *w, uint32_t tid, uint64_t t)
{
	return ct_tw__event(w, tid, t, CT_EV_START) ? 0 : -ENOMEM;
}

int ct_tw_exit(ct_tw *w, uint32_t tid, uint64_t t)
{
	return ct_tw__event(w, tid, t, CT_EV_EXIT) ? 0 : -ENOMEM;
}

int ct_tw_name(ct_tw *w, uint32_t tid, uint64_t t, const char *name)
{
	uint32_t s = ct_tw__str(w, name ? name : "");
	tw_ev *e = s == UINT32_MAX ? NULL : ct_tw__event(w, tid, t, CT_EV_NAME);
	if (!e)
		return -ENOMEM;
	e->c = s;
	return 0;
}

int ct_tw_sample(ct_tw *w, uint32_t tid, uint64_t t, uint32_t stack, uint64_t weight_ns)
{
	return buffer_event(w, tid, t, CT_EV_SAMPLE, weight_ns, 0, stack);
}

int ct_tw_lost(ct_tw *w, uint64_t t, uint64_t count, const char *what)
{
	uint32_t s = ct_tw__str(w, what ? what : "");
	tw_ev *e = s == UINT32_MAX ? NULL : ct_tw__event(w, 0, t, CT_EV_LOST);
	if (!e)
		return -ENOMEM;
	e->a = count;
	e->c = s;
	return 0;
}

size_t ct_tw_pending(const ct_tw *w)
{
	return w->pending;
}

void ct_tw_get_stats(const ct_tw *w, ct_tw_stats *st)
{
	*st = w->st;
	st->threads = w->nbatches;
}

/* ---- flush: one chunk --------------------------------------------------------------------- */

/* The chunk stack index + 1 of (ct_stacks id, whether its leaf PC is exact); 0 for no
 * stack; UINT32_MAX on ENOMEM. */
static uint32_t chunk_stack(ct_tw *w, uint32_t id, bool exact)
{
	if (!id)
		return 0;
	uint64_t key = (uint64_t)id << 1 | exact;
	uint32_t i = ct_u64map_get(&w->stackmap, key);
	if (i != UINT32_MAX)
		return i + 1;
	size_t cap = w->chunk_stacks_cap;
	if (ct_grow((void **)&w->chunk_stacks, &cap, w->nchunk_stacks + 1, sizeof(uint64_t)) ||
	    ct_u64map_put(&w->stackmap, key, w->nchunk_stacks))
		return UINT32_MAX;
	w->chunk_stacks_cap = (uint32_t)cap;
	w->chunk_stacks[w->nchunk_stacks] = key;
	return ++w->nchunk_stacks;
}

/* Whether stack id ends in the agent's 0 sentinel: its leaf PC is exact, not a return
 * address (a sample's; an ending thread's start routine, named by its join's unblock). */
static bool sentinel_ended(const ct_tw *w, uint32_t id)
{
	const uintptr_t *pcs;
	int depth = id && w->stacks ? ct_stacks_get(w->stacks, id, &pcs) : 0;
	if (depth > 0 && (pcs[depth - 1] & CT_STACK_MARK_MASK) == CT_STACK_MARK)
		depth--; /* labels follow the sentinel */
	return depth > 1 && pcs[depth - 1] == 0;
}

/* The module holding addr, or -1. */
static int find_mod(const ct_tw *w, uint64_t addr)
{
	uint32_t lo = 0, hi = w->nmods;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (w->mods[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < w->mods[lo - 1].end ? (int)lo - 1 : -1;
}

/* The frames of chunk stack k: *n PCs at *pcs; whether the leaf is exact. */
static bool stack_pcs(const ct_tw *w, uint32_t k, const uintptr_t **pcs, uint32_t *n)
{
	uint64_t key = w->chunk_stacks[k];
	int depth = ct_stacks_get(w->stacks, (uint32_t)(key >> 1), pcs);
	*n = depth < 0 ? 0 : depth > CT_TRACE_MAX_FRAMES ? CT_TRACE_MAX_FRAMES : (uint32_t)depth;
	if (*n && ((*pcs)[*n - 1] & CT_STACK_MARK_MASK) == CT_STACK_MARK)
		(*n)--; /* a label set's mark: not a frame */
	while (*n && (*pcs)[*n - 1] == 0)
		(*n)--; /* the agent ends a sample's stack with a 0 sentinel: not a frame */
	return key & 1;
}

/* The address a frame is symbolized at: callers' return addresses minus one. */
static uint64_t frame_addr(const uintptr_t *pcs, uint32_t i, bool exact)
{
	return (i == 0 && exact) || pcs[i] == 0 ? pcs[i] : pcs[i] - 1;
}

/* Gives every module a stack of the chunk touches a chunk index, and interns its strings. */
static int intern_modules(ct_tw *w)
{
	for (uint32_t k = 0; k < w->nchunk_stacks; k++) {
		const uintptr_t *pcs;
		uint32_t n;
		bool exact = stack_pcs(w, k, &pcs, &n);
		for (uint32_t i = 0; i < n; i++) {
			int m = find_mod(w, frame_addr(pcs, i, exact));
			if (m < 0 || w->mod_local[m])
				continue;
			if (ct_tw__str(w, w->mods[m].path) == UINT32_MAX ||
			    ct_tw__str(w, w->mods[m].build_id) == UINT32_MAX)
				return -ENOMEM;
			w->chunk_mods[w->nchunk_mods++] = (uint32_t)m;
			w->mod_local[m] = w->nchunk_mods;
		}
	}
	return 0;
}

/* Strings, modules and stacks, in that order (docs/trace-format.md, "Chunk"). */
static int put_tables(ct_tw *w, ct_bytes *b)
{
	size_t need = 10;
	for (uint32_t i = 0; i < w->nstrs; i++)
		need += 10 + strlen(w->strs[i]);
	if (ct_bytes_need(b, need + 50 * (size_t)w->nchunk_mods + 10))
		return -ENOMEM;
	ct_bytes_uvarint(b, w->nstrs);
	for (uint32_t i = 0; i < w->nstrs; i++)
		ct_bytes_str(b, w->strs[i]);
	ct_bytes_uvarint(b, w->nchunk_mods);
	for (uint32_t i = 0; i < w->nchunk_mods; i++) {
		const ct_tw_module *m = &w->mods[w->chunk_mods[i]];
		ct_bytes_uvarint(b, ct_tw__str(w, m->path));
		ct_bytes_uvarint(b, ct_tw__str(w, m->build_id));
		ct_bytes_uvarint(b, m->start);
		ct_bytes_uvarint(b, m->end - m->start);
		ct_bytes_uvarint(b, m->file_offset);
	}
	if (ct_bytes_need(b, 10))
		return -ENOMEM;
	ct_bytes_uvarint(b, w->nchunk_stacks);
	for (uint32_t k = 0; k < w->nchunk_stacks; k++) {
		const uintptr_t *pcs;
		uint32_t n;
		bool exact = stack_pcs(w, k, &pcs, &n);
		if (ct_bytes_need(b, 10 + 20 * (size_t)n))
			return -ENOMEM;
		ct_bytes_uvarint(b, n);
		for (uint32_t i = 0; i < n; i++) {
			uint64_t addr = frame_addr(pcs, i, exact);
			int m = find_mod(w, addr);
			ct_bytes_uvarint(b, m < 0 ? 0 : w->mod_local[m]);
			ct_bytes_uvarint(b, m < 0 ? addr : addr - w->mods[m].start);
		}
	}
	return 0;
}

/* One event; prev is the time of the batch's previous event (the chunk's base at first). */
static void put_event(ct_bytes *b, const tw_ev *e, uint64_t prev)
{
	b->p[b->len++] = e->kind;
	ct_bytes_uvarint(b, e->t - prev);
	switch (e->kind) {
	case CT_EV_SWITCH_OUT:
	case CT_EV_SWITCH_OUT_PREEMPT:
	case CT_EV_SWITCH_IN:
	case CT_EV_NAME:
		ct_bytes_uvarint(b, e->c);
		break;
	case CT_EV_WAIT:
		ct_bytes_uvarint(b, e->b - e->t);
		/* fall through */
	case CT_EV_WAIT_OPEN:
		b->p[b->len++] = e->reason;
		ct_bytes_uvarint(b, e->a);
		ct_bytes_uvarint(b, e->stack);
		break;
	case CT_EV_UNBLOCK:
		ct_bytes_uvarint(b, e->c);
		ct_bytes_uvarint(b, e->a);
		ct_bytes_uvarint(b, e->stack);
		break;
	case CT_EV_CREATE:
		ct_bytes_uvarint(b, e->c);
		ct_bytes_uvarint(b, e->stack);
		break;
	case CT_EV_SAMPLE:
		ct_bytes_uvarint(b, e->stack);
		ct_bytes_uvarint(b, e->a);
		break;
	case CT_EV_LOST:
		ct_bytes_uvarint(b, e->a);
		ct_bytes_uvarint(b, e->c);
		break;
	default: /* START, EXIT: the kind and time say it all; annotations: traceann.c */
		if (e->kind > CT_EV_FIXED_LAST)
			ct_tw__put_ann(b, e);
		break;
	}
}

/* Sorts the batches, maps their stacks into the chunk; the chunk's time range. */
static int prepare(ct_tw *w, uint64_t now, uint64_t *t0, uint64_t *t1)
{
	*t0 = UINT64_MAX;
	*t1 = now;
	size_t most = 0;
	for (size_t i = 0; i < w->nbatches; i++)
		most = w->batches[i].n > most ? w->batches[i].n : most;
	if (most > w->sort_cap) {
		free(w->sort_tmp);
		w->sort_cap = 0;
		if (!(w->sort_tmp = malloc(most * sizeof(*w->sort_tmp))))
			return -ENOMEM;
		w->sort_cap = most;
	}
	for (size_t i = 0; i < w->nbatches; i++) {
		tw_batch *bt = &w->batches[i];
		ct_tw__sort_batch(bt->ev, bt->n, w->sort_tmp);
		for (size_t j = 0; j < bt->n; j++) {
			tw_ev *e = &bt->ev[j];
			e->stack =
				chunk_stack(w, e->stack,
					    e->kind == CT_EV_SAMPLE || sentinel_ended(w, e->stack));
			if (e->stack == UINT32_MAX)
				return -ENOMEM;
		}
		if (bt->n && bt->ev[0].t < *t0)
			*t0 = bt->ev[0].t;
		if (bt->n && bt->ev[bt->n - 1].t > *t1)
			*t1 = bt->ev[bt->n - 1].t;
	}
	return intern_modules(w);
}

static int encode_chunk(ct_tw *w, uint64_t now)
{
	uint64_t t0, t1;
	int rc = prepare(w, now, &t0, &t1);
	ct_bytes *b = &w->out;
	b->len = 0;
	if (rc || ct_bytes_need(b, CT_TRACE_CHUNK_HEAD + 40))
		return rc ? rc : -ENOMEM;
	b->len = CT_TRACE_CHUNK_HEAD;
	ct_bytes_uvarint(b, w->noffsets);
	ct_bytes_uvarint(b, t0);
	ct_bytes_uvarint(b, t1 - t0);
	if (t1 > w->last_end) /* a chunk flushed at an earlier `now` may end before the last */
		w->last_end = t1;
	if ((rc = put_tables(w, b)) || ct_bytes_need(b, 10))
		return rc ? rc : -ENOMEM;
	size_t nonempty = 0;
	for (size_t i = 0; i < w->nbatches; i++)
		nonempty += w->batches[i].n > 0;
	ct_bytes_uvarint(b, nonempty);
	for (size_t i = 0; i < w->nbatches; i++) {
		const tw_batch *bt = &w->batches[i];
		if (!bt->n)
			continue;
		ct_bytes *e = &w->body;
		e->len = 0;
		uint64_t prev = t0;
		for (size_t j = 0; j < bt->n; j++) {
			if (ct_bytes_need(e, 64))
				return -ENOMEM;
			put_event(e, &bt->ev[j], prev);
			prev = bt->ev[j].t;
		}
		if (ct_bytes_need(b, 30 + e->len))
			return -ENOMEM;
		ct_bytes_uvarint(b, bt->tid);
		ct_bytes_uvarint(b, bt->n);
		ct_bytes_uvarint(b, e->len);
		memcpy(b->p + b->len, e->p, e->len);
		b->len += e->len;
		w->st.events += bt->n;
	}
	size_t payload = b->len - CT_TRACE_CHUNK_HEAD;
	if (payload > CT_TRACE_MAX_CHUNK)
		return -EFBIG;
	uint32_t crc = (uint32_t)crc32(0, b->p + CT_TRACE_CHUNK_HEAD, (uInt)payload);
	size_t end = b->len;
	b->len = 0;
	ct_bytes_le(b, CT_TRACE_CHUNK_MAGIC, 4);
	ct_bytes_le(b, payload, 4);
	ct_bytes_le(b, crc, 4);
	b->len = end;
	return 0;
}

/* Empties the buffers for the next chunk. Threads with events in the chunk just written
 * keep their batch's capacity (they are likely to have more); the others release theirs,
 * so memory follows the threads active in the last chunk, not every thread ever seen. */
static void reset_chunk(ct_tw *w)
{
	size_t kept = 0;
	ct_u64map_clear(&w->threads);
	for (size_t i = 0; i < w->nbatches; i++) {
		tw_batch bt = w->batches[i];
		if (!bt.n || ct_u64map_put(&w->threads, bt.tid, (uint32_t)kept)) {
			free(bt.ev);
			continue;
		}
		bt.n = 0;
		w->batches[kept++] = bt;
	}
	w->nbatches = kept;
	for (uint32_t i = 0; i < w->nstrs; i++)
		free(w->strs[i]);
	w->nstrs = 0;
	ct_u64map_clear(&w->strmap);
	ct_u64map_clear(&w->stackmap);
	w->nchunk_stacks = 0;
	for (uint32_t i = 0; i < w->nchunk_mods; i++)
		w->mod_local[w->chunk_mods[i]] = 0;
	w->nchunk_mods = 0;
	w->out.len = w->body.len = 0;
	w->pending = 0;
	w->nev = 0;
	w->seq = 0;
}

/* Releases every buffer. */
static void release(ct_tw *w)
{
	reset_chunk(w);
	for (size_t i = 0; i < w->nbatches; i++)
		free(w->batches[i].ev);
	free(w->batches);
	free(w->strs);
	free(w->chunk_stacks);
	free(w->sort_tmp);
	w->sort_tmp = NULL;
	w->sort_cap = 0;
	ct_u64map_free(&w->threads);
	ct_u64map_free(&w->strmap);
	ct_u64map_free(&w->stackmap);
	ct_bytes_free(&w->out);
	ct_bytes_free(&w->body);
}

int ct_tw_flush(ct_tw *w, uint64_t now)
{
	if (!w->nev)
		return 0;
	uint64_t at = w->offset;
	int rc = encode_chunk(w, now);
	if (!rc)
		rc = ct_grow((void **)&w->offsets, &w->offsets_cap, w->noffsets + 1,
			     sizeof(*w->offsets));
	if (!rc)
		rc = write_all(w, w->out.p, w->out.len);
	if (!rc) {
		w->offsets[w->noffsets++] = at;
		w->st.chunks++;
	}
	reset_chunk(w);
	return rc;
}

int ct_tw_close(ct_tw *w, uint64_t end_time)
{
	int rc = ct_tw_flush(w, end_time);
	ct_bytes *b = &w->out;
	if (!rc && ct_bytes_need(b, 8 + 8 * w->noffsets + CT_TRACE_TRAILER))
		rc = -ENOMEM;
	if (!rc) {
		uint64_t at = w->offset;
		ct_bytes_le(b, CT_TRACE_INDEX_MAGIC, 4);
		ct_bytes_le(b, w->noffsets, 4);
		for (size_t i = 0; i < w->noffsets; i++)
			ct_bytes_le(b, w->offsets[i], 8);
		ct_bytes_le(b, at, 8);
		ct_bytes_le(b, end_time > w->last_end ? end_time : w->last_end, 8);
		memcpy(b->p + b->len, CT_TRACE_END_MAGIC, 8);
		b->len += 8;
		rc = write_all(w, b->p, b->len);
	}
	ct_tw_free(w);
	return rc;
}

void ct_tw_free(ct_tw *w)
{
	if (!w)
		return;
	release(w);
	free_mods(w);
	free(w->offsets);
	free(w);
}
