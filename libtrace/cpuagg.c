/*
 * cpuagg.c — samples summed per (stack, thread) in an open-addressing table, thread names
 * in a second one keyed by tid (see cpuagg.h).
 */
#include "libtrace/cpuagg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
	uint32_t tid;
	char name[32];
} thread_name;

struct ct_cpu_agg {
	ct_cpu_entry *tab; /* stack 0 = empty slot */
	size_t cap, len;   /* cap a power of two, len <= cap / 2 */
	thread_name *names;
	size_t ncap, nlen; /* tid 0 = empty slot (the kernel never runs a thread 0 of ours) */
	uint64_t samples, lost, first_time, last_time;
};

static size_t entry_hash(uint32_t stack, uint32_t tid, size_t cap)
{
	return (stack * 2654435761u ^ tid * 40503u) & (cap - 1);
}

static size_t name_hash(uint32_t tid, size_t cap)
{
	return (tid * 2654435761u) & (cap - 1);
}

ct_cpu_agg *ct_cpu_agg_new(void)
{
	return calloc(1, sizeof(ct_cpu_agg));
}

void ct_cpu_agg_free(ct_cpu_agg *a)
{
	if (!a)
		return;
	free(a->tab);
	free(a->names);
	free(a);
}

/* Doubles the entry table (or creates it). 0 or -ENOMEM. */
static int grow_entries(ct_cpu_agg *a)
{
	size_t cap = a->cap ? a->cap * 2 : 4096;
	ct_cpu_entry *n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < a->cap; i++) {
		if (!a->tab[i].stack)
			continue;
		size_t h = entry_hash(a->tab[i].stack, a->tab[i].tid, cap);
		while (n[h].stack)
			h = (h + 1) & (cap - 1);
		n[h] = a->tab[i];
	}
	free(a->tab);
	a->tab = n;
	a->cap = cap;
	return 0;
}

int ct_cpu_agg_add(ct_cpu_agg *a, uint32_t stack, uint32_t tid, uint64_t time, uint64_t ns)
{
	if (!stack) {
		a->lost++;
		return -EINVAL;
	}
	if ((a->len + 1) * 2 > a->cap && grow_entries(a) < 0) {
		a->lost++;
		return -ENOMEM;
	}
	size_t h = entry_hash(stack, tid, a->cap);
	while (a->tab[h].stack && !(a->tab[h].stack == stack && a->tab[h].tid == tid))
		h = (h + 1) & (a->cap - 1);
	if (!a->tab[h].stack) {
		a->tab[h] = (ct_cpu_entry){.stack = stack, .tid = tid};
		a->len++;
	}
	a->tab[h].count++;
	a->tab[h].ns += ns;
	a->samples++;
	if (!a->first_time || time < a->first_time)
		a->first_time = time;
	if (time > a->last_time)
		a->last_time = time;
	return 0;
}

void ct_cpu_agg_lost(ct_cpu_agg *a, uint64_t n)
{
	a->lost += n;
}

static thread_name *find_name(const ct_cpu_agg *a, uint32_t tid)
{
	if (!a->ncap || !tid)
		return NULL;
	for (size_t h = name_hash(tid, a->ncap);; h = (h + 1) & (a->ncap - 1)) {
		if (a->names[h].tid == tid)
			return &a->names[h];
		if (!a->names[h].tid)
			return NULL;
	}
}

static int grow_names(ct_cpu_agg *a)
{
	size_t cap = a->ncap ? a->ncap * 2 : 64;
	thread_name *n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < a->ncap; i++) {
		if (!a->names[i].tid)
			continue;
		size_t h = name_hash(a->names[i].tid, cap);
		while (n[h].tid)
			h = (h + 1) & (cap - 1);
		n[h] = a->names[i];
	}
	free(a->names);
	a->names = n;
	a->ncap = cap;
	return 0;
}

int ct_cpu_agg_set_name(ct_cpu_agg *a, uint32_t tid, const char *name)
{
	if (!tid)
		return -EINVAL;
	thread_name *t = find_name(a, tid);
	if (!t) {
		if ((a->nlen + 1) * 2 > a->ncap && grow_names(a) < 0)
			return -ENOMEM;
		size_t h = name_hash(tid, a->ncap);
		while (a->names[h].tid)
			h = (h + 1) & (a->ncap - 1);
		t = &a->names[h];
		t->tid = tid;
		a->nlen++;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	return 0;
}

const char *ct_cpu_agg_name(const ct_cpu_agg *a, uint32_t tid)
{
	const thread_name *t = find_name(a, tid);
	return t ? t->name : NULL;
}

int ct_cpu_agg_next(const ct_cpu_agg *a, size_t *cursor, ct_cpu_entry *e)
{
	for (; *cursor < a->cap; (*cursor)++)
		if (a->tab[*cursor].stack) {
			*e = a->tab[(*cursor)++];
			return 1;
		}
	return 0;
}

uint32_t ct_cpu_agg_labels(const ct_cpu_agg *a, const ct_cpu_entry *e, ct_label labels[2])
{
	const char *name = ct_cpu_agg_name(a, e->tid);
	labels[0] = (ct_label){.key = "thread", .str = name ? name : "?"};
	labels[1] = (ct_label){.key = "tid", .str = NULL, .num = e->tid};
	return 2;
}

void ct_cpu_agg_get_stats(const ct_cpu_agg *a, ct_cpu_agg_stats *st)
{
	*st = (ct_cpu_agg_stats){.samples = a->samples,
				 .lost = a->lost,
				 .entries = a->len,
				 .threads = a->nlen,
				 .first_time = a->first_time,
				 .last_time = a->last_time};
}
