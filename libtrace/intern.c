/*
 * intern.c — the string interner (see intern.h).
 */
#include "libtrace/intern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "libtrace/vec.h"

enum {
	CHUNK = 64 << 10,    /* bytes per ordinary chunk of copies */
	CHUNK_BIG = 8 << 10, /* longer strings get a chunk of their own */
};

struct ct_intern_chunk {
	struct ct_intern_chunk *next;
	size_t size;
	char data[];
};

uint64_t ct_hash_seed = 0x9e3779b97f4a7c15ULL;

__attribute__((constructor)) static void hash_seed_init(void)
{
	uint64_t r;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		ct_hash_seed ^= r;
	else
		ct_hash_seed ^= ct_hash_u64((uint64_t)getpid() << 32 ^ (uint64_t)time(NULL));
}

uint64_t ct_hash_str(const char *s, size_t *len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ct_hash_seed; /* keyed: see ct_hash_seed */
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
	ct_hindex_free(&t->index);
	free(t->strs);
	ct_intern_init(t, t->copy);
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
	if (ct_hindex_reserve(&t->index))
		return -ENOMEM;
	size_t i = ct_hindex_home(&t->index, h);
	for (; t->index.slots[i].idx1; i = ct_hindex_next(&t->index, i)) {
		const ct_hindex_slot *sl = &t->index.slots[i];
		if (sl->hash == h && strcmp(t->strs[sl->idx1 - 1], s) == 0)
			return sl->idx1 - 1;
	}
	if (t->n >= UINT32_MAX - 1 || CT_VEC_RESERVE(t->strs, t->strs_cap, t->n + 1))
		return -ENOMEM;
	const char *stored = t->copy ? copy_str(t, s, len) : s;
	if (!stored)
		return -ENOMEM;
	t->strs[t->n] = stored;
	ct_hindex_fill(&t->index, i, h, (uint32_t)t->n);
	return (int64_t)t->n++;
}

const char *ct_intern_str(ct_intern *t, const char *s)
{
	int64_t i = ct_intern_index(t, s);
	return i < 0 ? NULL : t->strs[i];
}
