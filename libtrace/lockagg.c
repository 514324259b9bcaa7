/*
 * lockagg.c — lock and block totals in an open-addressing table keyed by (kind, stack,
 * object, reason), and their pprof labels (see lockagg.h).
 */
#include "libtrace/lockagg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define FREE_SLOT 0xffff /* kind of an empty slot */

struct ct_lock_agg {
	ct_lock_entry *tab;
	size_t cap, len; /* cap a power of two, len < cap / 2 */
	uint64_t dropped;
};

static size_t slot_hash(uint64_t obj, uint32_t stack, unsigned kind, unsigned reason)
{
	uint64_t h = obj * 0x9e3779b97f4a7c15u;
	h ^= ((uint64_t)stack << 20 | kind << 8 | reason) * 0xc2b2ae3d27d4eb4fu;
	return (size_t)(h ^ h >> 29);
}

static ct_lock_entry *slot(ct_lock_entry *tab, size_t cap, uint64_t obj, uint32_t stack,
			   unsigned kind, unsigned reason)
{
	size_t i = slot_hash(obj, stack, kind, reason) & (cap - 1);
	for (;; i = (i + 1) & (cap - 1)) {
		ct_lock_entry *e = &tab[i];
		if (e->kind == FREE_SLOT ||
		    (e->obj == obj && e->stack == stack && e->kind == kind && e->reason == reason))
			return e;
	}
}

/* Doubles the table (or creates it). 0 or -ENOMEM. */
static int grow(ct_lock_agg *a)
{
	size_t cap = a->cap ? a->cap * 2 : 64; /* a forked child makes one: small */
	ct_lock_entry *tab = malloc(cap * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		tab[i].kind = FREE_SLOT;
	for (size_t i = 0; i < a->cap; i++) {
		const ct_lock_entry *e = &a->tab[i];
		if (e->kind != FREE_SLOT)
			*slot(tab, cap, e->obj, e->stack, e->kind, e->reason) = *e;
	}
	free(a->tab);
	a->tab = tab;
	a->cap = cap;
	return 0;
}

ct_lock_agg *ct_lock_agg_new(void)
{
	ct_lock_agg *a = calloc(1, sizeof(*a));
	if (a && grow(a) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

void ct_lock_agg_free(ct_lock_agg *a)
{
	if (!a)
		return;
	free(a->tab);
	free(a);
}

int ct_lock_agg_add(ct_lock_agg *a, ct_lock_agg_kind kind, ct_wait_reason reason, uint64_t obj,
		    uint32_t stack, int64_t count, int64_t delay)
{
	return ct_lock_agg_add_sampled(a, kind, reason, obj, stack, count, delay, delay);
}

int ct_lock_agg_add_sampled(ct_lock_agg *a, ct_lock_agg_kind kind, ct_wait_reason reason,
			    uint64_t obj, uint32_t stack, int64_t count, int64_t delay,
			    int64_t seen)
{
	if ((unsigned)kind > CT_LOCK_AGG_MUTEX || (unsigned)reason >= CT_WAIT_NREASONS) {
		a->dropped++;
		return -EINVAL;
	}
	if ((a->len + 1) * 2 > a->cap && grow(a) < 0) {
		a->dropped++;
		return -ENOMEM;
	}
	ct_lock_entry *e = slot(a->tab, a->cap, obj, stack, kind, reason);
	if (e->kind == FREE_SLOT) {
		*e = (ct_lock_entry){.obj = obj,
				     .stack = stack,
				     .kind = (uint16_t)kind,
				     .reason = (uint16_t)reason};
		a->len++;
	}
	e->count += count;
	e->delay += delay;
	if (seen > e->max)
		e->max = seen;
	return 0;
}

void ct_lock_agg_drop(ct_lock_agg *a)
{
	a->dropped++;
}

uint64_t ct_lock_agg_dropped(const ct_lock_agg *a)
{
	return a->dropped;
}

size_t ct_lock_agg_len(const ct_lock_agg *a)
{
	return a->len;
}

int ct_lock_agg_next(const ct_lock_agg *a, ct_lock_agg_kind kind, size_t *cursor, ct_lock_entry *e)
{
	for (; *cursor < a->cap; (*cursor)++)
		if (a->tab[*cursor].kind == kind) {
			*e = a->tab[(*cursor)++];
			return 1;
		}
	return 0;
}

uint32_t ct_lock_agg_labels(const ct_lock_entry *e, ct_label labels[3], char hex[24])
{
	uint32_t n = 0;
	if (e->kind == CT_LOCK_AGG_BLOCK)
		labels[n++] = (ct_label){.key = "reason", .str = ct_wait_reason_name(e->reason)};
	if (e->kind == CT_LOCK_AGG_MUTEX || ct_wait_reason_is_sync(e->reason)) {
		snprintf(hex, 24, "0x%llx", (unsigned long long)e->obj);
		labels[n++] = (ct_label){.key = "lock", .str = hex};
	} else if (e->reason == CT_WAIT_NET && e->obj) {
		labels[n++] = (ct_label){.key = "fd", .num = (int64_t)e->obj};
	}
	labels[n++] = (ct_label){.key = "max_wait", .num = e->max, .num_unit = "nanoseconds"};
	return n;
}
