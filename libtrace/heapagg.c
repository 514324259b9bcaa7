/*
 * heapagg.c — per-stack heap totals, in-use peak and the reorder window (see heapagg.h).
 */
#include "libtrace/heapagg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/heapsample.h"

typedef struct {
	ct_heap_site pub;		  /* inuse_* here count the unknown blocks too */
	int64_t snap_objects, snap_bytes; /* in use at the latest peak, when touched == epoch */
	uint64_t touched;		  /* peak epoch current at this site's last change */
	uint64_t gap_seen;		  /* gap epoch its unknown_* were settled at */
} site;

typedef struct {
	uint64_t seq;
	uint64_t size;
	uint64_t time;
	uintptr_t addr;
	uint32_t stack;
	uint8_t kind;
	bool used;
} pending;

/* The address map for CT_HEAP_EV_*_AT: open addressing, linear probing, deletion by
 * backward shift (single-threaded, so no tombstones), at most half full. Blocks allocated
 * one after the other sit next to each other, and so do their entries: the hash keeps
 * the address's position inside each 1 KiB of address space and scatters only the 1 KiB
 * chunks, so a program walking its heap walks the map too (one cache miss per chunk
 * rather than per block). */
typedef struct {
	uintptr_t addr; /* 0 = empty */
	uint64_t val;	/* ct_heap_pack(index of its site, size) */
} block;

#define CHUNK_BITS 6 /* 16-byte granules per chunk, as a power of two: 1 KiB */

struct ct_heap_agg {
	uint64_t rate;
	site *sites;
	size_t nsites, capsites;
	uint32_t *index; /* open addressing: site index + 1, 0 = empty */
	size_t index_mask;
	pending *win;
	size_t win_mask;
	size_t npending;
	uint64_t next;	    /* next sequence number to apply */
	uint64_t epoch;	    /* bumped at every new peak */
	size_t last_site;   /* the site find_site found last (valid when nsites > 0) */
	uint64_t gap_epoch; /* bumped at every gap (lost events) */
	ct_heap_site *out;
	block *blocks;
	unsigned blocks_bits; /* log2 of the map's slots; 0 until the first ALLOC_AT */
	ct_heap_agg_stats st;
};

ct_heap_agg *ct_heap_agg_new(uint64_t rate, unsigned window_bits)
{
	if (window_bits < 1 || window_bits > 24)
		return NULL;
	ct_heap_agg *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->rate = rate;
	a->win_mask = ((size_t)1 << window_bits) - 1;
	a->win = calloc(a->win_mask + 1, sizeof *a->win);
	a->index_mask = 255;
	a->index = calloc(a->index_mask + 1, sizeof *a->index);
	if (!a->win || !a->index) {
		ct_heap_agg_free(a);
		return NULL;
	}
	return a;
}

void ct_heap_agg_free(ct_heap_agg *a)
{
	if (!a)
		return;
	free(a->sites);
	free(a->index);
	free(a->win);
	free(a->out);
	free(a->blocks);
	free(a);
}

static size_t block_home(uintptr_t addr, unsigned bits)
{
	uint64_t g = (uint64_t)addr >> 4;
	uint64_t chunk = ((g >> CHUNK_BITS) * 0x9E3779B97F4A7C15ULL) >> (64 - bits);
	return (size_t)((chunk << CHUNK_BITS) + (g & ((1u << CHUNK_BITS) - 1))) &
	       (((size_t)1 << bits) - 1);
}

/* The slot holding addr, or the empty slot where it would go. */
static size_t block_find(const ct_heap_agg *a, uintptr_t addr)
{
	size_t mask = ((size_t)1 << a->blocks_bits) - 1;
	size_t i = block_home(addr, a->blocks_bits);
	while (a->blocks[i].addr && a->blocks[i].addr != addr)
		i = (i + 1) & mask;
	return i;
}

static int blocks_grow(ct_heap_agg *a)
{
	unsigned bits = a->blocks_bits ? a->blocks_bits + 1 : 12;
	block *old = a->blocks;
	size_t oldn = a->blocks_bits ? (size_t)1 << a->blocks_bits : 0;
	block *nb = calloc((size_t)1 << bits, sizeof *nb);
	if (!nb)
		return -ENOMEM;
	a->blocks = nb;
	a->blocks_bits = bits;
	for (size_t i = 0; i < oldn; i++)
		if (old[i].addr)
			a->blocks[block_find(a, old[i].addr)] = old[i];
	free(old);
	return 0;
}

/* Remembers a block; an address already there (its free was lost) is overwritten. */
static int block_put(ct_heap_agg *a, uintptr_t addr, uint32_t site_index, uint64_t size)
{
	if (!a->blocks_bits || (a->st.live_addrs + 1) * 2 > ((uint64_t)1 << a->blocks_bits)) {
		if (blocks_grow(a) < 0)
			return -ENOMEM;
	}
	size_t i = block_find(a, addr);
	if (!a->blocks[i].addr)
		a->st.live_addrs++;
	a->blocks[i] = (block){.addr = addr, .val = ct_heap_pack(site_index, size)};
	return 0;
}

/* Takes addr out of the map into *b; false when it is not there. */
static bool block_take(ct_heap_agg *a, uintptr_t addr, block *b)
{
	if (!a->blocks_bits || !addr)
		return false;
	size_t mask = ((size_t)1 << a->blocks_bits) - 1;
	size_t i = block_find(a, addr);
	if (!a->blocks[i].addr)
		return false;
	*b = a->blocks[i];
	/* Backward shift: pull later entries of the run into the hole unless their home
	 * lies cyclically in (hole, their slot]. */
	for (size_t j = (i + 1) & mask; a->blocks[j].addr; j = (j + 1) & mask) {
		size_t k = block_home(a->blocks[j].addr, a->blocks_bits);
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		a->blocks[i] = a->blocks[j];
		i = j;
	}
	a->blocks[i].addr = 0;
	a->st.live_addrs--;
	return true;
}

static size_t hash_key(uint32_t stack, uint64_t size, size_t mask)
{
	uint64_t h = ((uint64_t)stack * 0x9E3779B97F4A7C15ULL) ^ (size * 0xC2B2AE3D27D4EB4FULL);
	return (size_t)((h ^ (h >> 29)) * 0x165667B19E3779F9ULL >> 32) & mask;
}

static int grow_index(ct_heap_agg *a)
{
	size_t mask = a->index_mask * 2 + 1;
	uint32_t *index = calloc(mask + 1, sizeof *index);
	if (!index)
		return -ENOMEM;
	for (size_t i = 0; i < a->nsites; i++) {
		size_t h = hash_key(a->sites[i].pub.stack, a->sites[i].pub.size, mask);
		while (index[h])
			h = (h + 1) & mask;
		index[h] = (uint32_t)(i + 1);
	}
	free(a->index);
	a->index = index;
	a->index_mask = mask;
	return 0;
}

static site *find_site(ct_heap_agg *a, uint32_t stack, uint64_t size)
{
	/* Events come in runs from one call site: try the last one first. */
	if (a->nsites && a->sites[a->last_site].pub.stack == stack &&
	    a->sites[a->last_site].pub.size == size)
		return &a->sites[a->last_site];
	size_t h = hash_key(stack, size, a->index_mask);
	for (;; h = (h + 1) & a->index_mask) {
		uint32_t i = a->index[h];
		if (!i)
			break;
		if (a->sites[i - 1].pub.stack == stack && a->sites[i - 1].pub.size == size) {
			a->last_site = i - 1;
			return &a->sites[i - 1];
		}
	}
	/* A new site: keep the index at most half full. */
	if ((a->nsites + 1) * 2 > a->index_mask + 1) {
		if (grow_index(a) < 0)
			return NULL;
		return find_site(a, stack, size);
	}
	if (a->nsites == a->capsites) {
		size_t cap = a->capsites ? a->capsites * 2 : 64;
		site *s = realloc(a->sites, cap * sizeof *s);
		if (!s)
			return NULL;
		a->sites = s;
		a->capsites = cap;
	}
	site *s = &a->sites[a->nsites++];
	memset(s, 0, sizeof *s);
	s->pub.stack = stack;
	s->pub.size = size;
	s->touched = a->epoch; /* created after the latest peak: in use there was 0 */
	s->gap_seen = a->gap_epoch;
	a->index[h] = (uint32_t)a->nsites;
	a->last_site = a->nsites - 1;
	return s;
}

/* Events were lost: every block in use now may have been freed. */
static void gap(ct_heap_agg *a, uint64_t n)
{
	a->st.gaps += n;
	a->gap_epoch++;
}

/* After a gap, what a site has in use becomes unknown (lazily, at its next touch). */
static void settle_gap(const ct_heap_agg *a, site *s)
{
	if (s->gap_seen == a->gap_epoch)
		return;
	s->pub.unknown_objects = s->pub.inuse_objects > 0 ? s->pub.inuse_objects : 0;
	s->pub.unknown_bytes = s->pub.inuse_bytes > 0 ? s->pub.inuse_bytes : 0;
	s->gap_seen = a->gap_epoch;
}

static int apply(ct_heap_agg *a, int kind, uintptr_t addr, uint32_t stack, uint64_t size,
		 uint64_t time)
{
	if (kind == CT_HEAP_EV_NONE)
		return 0;
	site *s;
	if (kind == CT_HEAP_EV_FREE_AT) {
		/* The map holds the block's site: no second look-up. */
		block b;
		if (!block_take(a, addr, &b)) {
			a->st.unknown_frees++;
			return 0;
		}
		kind = CT_HEAP_EV_FREE;
		s = &a->sites[ct_heap_unpack_stack(b.val)];
		size = ct_heap_unpack_size(b.val);
	} else {
		s = find_site(a, stack, a->rate <= 1 ? 0 : size);
		if (!s)
			return -ENOMEM;
		if (kind == CT_HEAP_EV_ALLOC_AT) {
			if (block_put(a, addr, (uint32_t)(s - a->sites), size) < 0)
				return -ENOMEM;
			kind = CT_HEAP_EV_ALLOC;
		}
	}
	if (s->touched != a->epoch) {
		/* First change since the latest peak: its values now are its values then. */
		s->snap_objects = s->pub.inuse_objects;
		s->snap_bytes = s->pub.inuse_bytes;
		s->touched = a->epoch;
	}
	settle_gap(a, s);
	int64_t bytes = (int64_t)size;
	int64_t w = a->rate <= 1 ? bytes : (int64_t)(ct_heap_weight(size, a->rate) + 0.5);
	a->st.events++;
	switch (kind) {
	case CT_HEAP_EV_ALLOC:
		s->pub.inuse_objects++;
		s->pub.inuse_bytes += bytes;
		a->st.inuse_est += w;
		/* fall through */
	case CT_HEAP_EV_UNTRACKED:
		s->pub.alloc_objects++;
		s->pub.alloc_bytes += bytes;
		break;
	case CT_HEAP_EV_FREE:
		/* From the known blocks first: an unknown one is never counted as known. */
		if (s->pub.inuse_objects <= s->pub.unknown_objects) {
			s->pub.unknown_objects--;
			s->pub.unknown_bytes -= bytes;
		}
		s->pub.inuse_objects--;
		s->pub.inuse_bytes -= bytes;
		a->st.inuse_est -= w;
		break;
	}
	if (a->st.inuse_est > a->st.peak_est) {
		a->st.peak_est = a->st.inuse_est;
		a->st.peak_time = time;
		a->epoch++;
	}
	return 0;
}

/* Applies the head of the window if it is there; in every case moves past it. */
static int step(ct_heap_agg *a)
{
	pending *p = &a->win[a->next & a->win_mask];
	int rc = 0;
	if (p->used && p->seq == a->next) {
		rc = apply(a, p->kind, p->addr, p->stack, p->size, p->time);
		p->used = false;
		a->npending--;
	} else {
		gap(a, 1);
	}
	a->next++;
	return rc;
}

static int drain_ready(ct_heap_agg *a)
{
	for (;;) {
		pending *p = &a->win[a->next & a->win_mask];
		if (!p->used || p->seq != a->next)
			return 0;
		int rc = step(a);
		if (rc < 0)
			return rc;
	}
}

int ct_heap_agg_add(ct_heap_agg *a, uint64_t seq, int kind, uint32_t stack, uint64_t size,
		    uint64_t time)
{
	return ct_heap_agg_add_at(a, seq, kind, 0, stack, size, time);
}

/* add_at, and offer when may_skip is false: then a missing oldest number that the event
 * would push out of the window is not skipped; -EAGAIN, the event not taken. */
static int add(ct_heap_agg *a, uint64_t seq, int kind, uintptr_t addr, uint32_t stack,
	       uint64_t size, uint64_t time, bool may_skip)
{
	if (seq < a->next) {
		a->st.late++;
		return apply(a, kind, addr, stack, size, time);
	}
	if (seq == a->next) { /* its turn (the common case): no trip through the window */
		a->next++;
		int rc = apply(a, kind, addr, stack, size, time);
		return rc < 0 || !a->npending ? rc : drain_ready(a);
	}
	while (seq - a->next > a->win_mask) {
		const pending *head = &a->win[a->next & a->win_mask];
		if (!may_skip && !(head->used && head->seq == a->next))
			return -EAGAIN;
		if (a->npending == 0) { /* nothing waits: jump straight to seq */
			gap(a, seq - a->next);
			a->next = seq;
			break;
		}
		int rc = step(a);
		if (rc < 0)
			return rc;
	}
	pending *p = &a->win[seq & a->win_mask];
	if (p->used) { /* the same number twice: apply the earlier one now */
		a->st.late++;
		p->used = false;
		a->npending--;
		int rc = apply(a, p->kind, p->addr, p->stack, p->size, p->time);
		if (rc < 0)
			return rc;
	}
	*p = (pending){.seq = seq,
		       .size = size,
		       .time = time,
		       .addr = addr,
		       .stack = stack,
		       .kind = (uint8_t)kind,
		       .used = true};
	a->npending++;
	return drain_ready(a);
}

int ct_heap_agg_add_at(ct_heap_agg *a, uint64_t seq, int kind, uintptr_t addr, uint32_t stack,
		       uint64_t size, uint64_t time)
{
	return add(a, seq, kind, addr, stack, size, time, true);
}

int ct_heap_agg_offer(ct_heap_agg *a, uint64_t seq, int kind, uintptr_t addr, uint32_t stack,
		      uint64_t size, uint64_t time)
{
	return add(a, seq, kind, addr, stack, size, time, false);
}

int ct_heap_agg_flush(ct_heap_agg *a)
{
	while (a->npending) {
		int rc = step(a);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ct_heap_agg_end(ct_heap_agg *a, uint64_t end_seq)
{
	int rc = ct_heap_agg_flush(a);
	if (rc == 0 && end_seq > a->next) {
		gap(a, end_seq - a->next);
		a->next = end_seq;
	}
	return rc;
}

static int64_t clamp0(int64_t v)
{
	return v < 0 ? 0 : v;
}

const ct_heap_site *ct_heap_agg_sites(ct_heap_agg *a, size_t *n)
{
	free(a->out);
	a->out = malloc((a->nsites ? a->nsites : 1) * sizeof *a->out);
	if (!a->out) {
		*n = 0;
		return NULL;
	}
	for (size_t i = 0; i < a->nsites; i++) {
		site *s = &a->sites[i];
		settle_gap(a, s);
		a->out[i] = s->pub;
		/* In use: the known blocks only; unknown: at most what the events say is in use. */
		int64_t unk = clamp0(s->pub.unknown_objects), unk_b = clamp0(s->pub.unknown_bytes);
		a->out[i].inuse_objects = s->pub.inuse_objects - unk;
		a->out[i].inuse_bytes =
			a->out[i].inuse_objects > 0 ? s->pub.inuse_bytes - unk_b : 0;
		a->out[i].unknown_objects =
			clamp0(unk < s->pub.inuse_objects ? unk : s->pub.inuse_objects);
		a->out[i].unknown_bytes =
			clamp0(unk_b < s->pub.inuse_bytes ? unk_b : s->pub.inuse_bytes);
		bool changed_since_peak = s->touched == a->epoch;
		a->out[i].peak_objects =
			changed_since_peak ? s->snap_objects : s->pub.inuse_objects;
		a->out[i].peak_bytes = changed_since_peak ? s->snap_bytes : s->pub.inuse_bytes;
	}
	*n = a->nsites;
	return a->out;
}

void ct_heap_agg_get_stats(const ct_heap_agg *a, ct_heap_agg_stats *st)
{
	*st = a->st;
}
