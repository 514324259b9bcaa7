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
	ct_heap_site pub;
	int64_t snap_objects, snap_bytes; /* in use at the latest peak, when touched == epoch */
	uint64_t touched;		  /* peak epoch current at this site's last change */
} site;

typedef struct {
	uint64_t seq;
	uint64_t size;
	uint64_t time;
	uint32_t stack;
	uint8_t kind;
	bool used;
} pending;

struct ct_heap_agg {
	uint64_t rate;
	site *sites;
	size_t nsites, capsites;
	uint32_t *index; /* open addressing: site index + 1, 0 = empty */
	size_t index_mask;
	pending *win;
	size_t win_mask;
	size_t npending;
	uint64_t next;	/* next sequence number to apply */
	uint64_t epoch; /* bumped at every new peak */
	ct_heap_site *out;
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
	free(a);
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
	size_t h = hash_key(stack, size, a->index_mask);
	for (;; h = (h + 1) & a->index_mask) {
		uint32_t i = a->index[h];
		if (!i)
			break;
		if (a->sites[i - 1].pub.stack == stack && a->sites[i - 1].pub.size == size)
			return &a->sites[i - 1];
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
	a->index[h] = (uint32_t)a->nsites;
	return s;
}

static int apply(ct_heap_agg *a, int kind, uint32_t stack, uint64_t size, uint64_t time)
{
	site *s = find_site(a, stack, a->rate <= 1 ? 0 : size);
	if (!s)
		return -ENOMEM;
	if (s->touched != a->epoch) {
		/* First change since the latest peak: its values now are its values then. */
		s->snap_objects = s->pub.inuse_objects;
		s->snap_bytes = s->pub.inuse_bytes;
		s->touched = a->epoch;
	}
	int64_t bytes = (int64_t)size;
	int64_t w = (int64_t)(ct_heap_weight(size, a->rate) + 0.5);
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
		rc = apply(a, p->kind, p->stack, p->size, p->time);
		p->used = false;
		a->npending--;
	} else {
		a->st.gaps++;
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
	if (seq < a->next) {
		a->st.late++;
		return apply(a, kind, stack, size, time);
	}
	while (seq - a->next > a->win_mask) {
		if (a->npending == 0) { /* nothing waits: jump straight to seq */
			a->st.gaps += seq - a->next;
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
		int rc = apply(a, p->kind, p->stack, p->size, p->time);
		if (rc < 0)
			return rc;
	}
	*p = (pending){.seq = seq,
		       .size = size,
		       .time = time,
		       .stack = stack,
		       .kind = (uint8_t)kind,
		       .used = true};
	a->npending++;
	return drain_ready(a);
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

const ct_heap_site *ct_heap_agg_sites(ct_heap_agg *a, size_t *n)
{
	free(a->out);
	a->out = malloc((a->nsites ? a->nsites : 1) * sizeof *a->out);
	if (!a->out) {
		*n = 0;
		return NULL;
	}
	for (size_t i = 0; i < a->nsites; i++) {
		const site *s = &a->sites[i];
		a->out[i] = s->pub;
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
