/*
 * intern.c — the string interner (see intern.h).
 */
#include "libtrace/intern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/vec.h"

enum {
	TABLE_MIN = 64,	     /* first number of slots */
	CHUNK = 64 << 10,    /* bytes per ordinary chunk of copies */
	CHUNK_BIG = 8 << 10, /* longer strings get a chunk of their own */
};

struct ct_intern_slot {
	uint32_t hash; /* low bits of the string's hash */
	uint32_t idx1; /* index + 1; 0 = empty slot */
};

struct ct_intern_chunk {
	struct ct_intern_chunk *next;
	size_t size;
	char data[];
};

uint64_t ct_hash_str(const char *s, size_t *len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *c = (const unsigned char *)s;
	while (*c) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	if (len)
		*len = (size_t)(c - (const unsigned char *)s);
	return ct_hash_u64(h);
}

void ct_intern_init(ct_intern *t, bool copy)
{
	memset(t, 0, sizeof(*t));
	t->copy = copy;
}

void ct_intern_free(ct_intern *t)
{
	for (struct ct_intern_chunk *c = t->chunks, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t->slots);
	free(t->strs);
	ct_intern_init(t, t->copy);
}

static int grow_table(ct_intern *t)
{
	size_t ncap = t->cap ? t->cap * 2 : TABLE_MIN;
	struct ct_intern_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].idx1)
			continue;
		size_t j = t->slots[i].hash & (ncap - 1);
		while (ns[j].idx1)
			j = (j + 1) & (ncap - 1);
		ns[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

/* A copy of s (len bytes and its NUL) in the interner's chunks; NULL on ENOMEM. */
static char *copy_str(ct_intern *t, const char *s, size_t len)
{
	size_t need = len + 1;
	struct ct_intern_chunk *c = t->chunks;
	if (need > CHUNK_BIG) {
		/* Its own chunk, linked behind the head so the head's free tail stays usable. */
		c = malloc(sizeof(*c) + need);
		if (!c)
			return NULL;
		c->size = need;
		if (t->chunks) {
			c->next = t->chunks->next;
			t->chunks->next = c;
		} else {
			c->next = NULL;
			t->chunks = c;
			t->used = need;
		}
		return memcpy(c->data, s, need);
	}
	if (!c || t->used + need > c->size) {
		c = malloc(sizeof(*c) + CHUNK);
		if (!c)
			return NULL;
		c->size = CHUNK;
		c->next = t->chunks;
		t->chunks = c;
		t->used = 0;
	}
	char *d = c->data + t->used;
	t->used += need;
	return memcpy(d, s, need);
}

int64_t ct_intern_index(ct_intern *t, const char *s)
{
	if (!s)
		s = "";
	size_t len;
	uint32_t h = (uint32_t)ct_hash_str(s, &len);
	if ((t->n + 1) * 2 > t->cap && grow_table(t))
		return -ENOMEM;
	size_t mask = t->cap - 1, i = h & mask;
	for (; t->slots[i].idx1; i = (i + 1) & mask) {
		const struct ct_intern_slot *sl = &t->slots[i];
		if (sl->hash == h && strcmp(t->strs[sl->idx1 - 1], s) == 0)
			return sl->idx1 - 1;
	}
	if (t->n >= UINT32_MAX - 1 || CT_VEC_RESERVE(t->strs, t->strs_cap, t->n + 1))
		return -ENOMEM;
	const char *stored = t->copy ? copy_str(t, s, len) : s;
	if (!stored)
		return -ENOMEM;
	t->strs[t->n] = stored;
	t->slots[i] = (struct ct_intern_slot){h, (uint32_t)t->n + 1};
	return (int64_t)t->n++;
}

const char *ct_intern_str(ct_intern *t, const char *s)
{
	int64_t i = ct_intern_index(t, s);
	return i < 0 ? NULL : t->strs[i];
}
