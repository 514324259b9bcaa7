/* tracebuf.c — growable arrays, byte buffers and the uint64 → uint32 map (see tracebuf.h). */
#include "tracebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/intern.h"
#include "libtrace/tracefmt.h"

int ct_grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	void *q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

int ct_bytes_need(ct_bytes *b, size_t more)
{
	return ct_grow((void **)&b->p, &b->cap, b->len + more, 1);
}

void ct_bytes_uvarint(ct_bytes *b, uint64_t v)
{
	b->len += ct_uvarint_put(b->p + b->len, v);
}

void ct_bytes_le(ct_bytes *b, uint64_t v, int nbytes)
{
	for (int i = 0; i < nbytes; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

void ct_bytes_str(ct_bytes *b, const char *s)
{
	size_t n = strlen(s);
	ct_bytes_uvarint(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void ct_bytes_free(ct_bytes *b)
{
	free(b->p);
	*b = (ct_bytes){0};
}

static uint64_t mix(uint64_t k)
{
	k ^= ct_hash_seed; /* keys come from files: intern.h */
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

/* The slot of key: where it is, or the empty slot where it would go (cap is a power of
 * two and at most half full, so the probe ends). */
static size_t slot(const ct_u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = mix(key) & mask;
	while (m->keys[i] && m->keys[i] != key + 1)
		i = (i + 1) & mask;
	return i;
}

uint32_t ct_u64map_get(const ct_u64map *m, uint64_t key)
{
	if (!m->cap)
		return UINT32_MAX;
	size_t i = slot(m, key);
	return m->keys[i] ? m->vals[i] : UINT32_MAX;
}

static int rehash(ct_u64map *m)
{
	ct_u64map n = {.cap = m->cap ? m->cap * 2 : 64};
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = malloc(n.cap * sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		ct_u64map_free(&n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i]) {
			size_t j = slot(&n, m->keys[i] - 1);
			n.keys[j] = m->keys[i];
			n.vals[j] = m->vals[i];
			n.n++;
		}
	ct_u64map_free(m);
	*m = n;
	return 0;
}

int ct_u64map_put(ct_u64map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap && rehash(m))
		return -ENOMEM;
	size_t i = slot(m, key);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key + 1;
	m->vals[i] = val;
	return 0;
}

void ct_u64map_clear(ct_u64map *m)
{
	if (m->cap)
		memset(m->keys, 0, m->cap * sizeof(*m->keys));
	m->n = 0;
}

void ct_u64map_free(ct_u64map *m)
{
	free(m->keys);
	free(m->vals);
	*m = (ct_u64map){0};
}

uint64_t ct_hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *s = p;
	uint64_t h = 1469598103934665603ull ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h >> 1;
}
