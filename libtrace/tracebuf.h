/*
 * tracebuf.h — the small containers the trace writer, reader and model share: growing an
 * array, a growable byte buffer with little-endian and varint appends, and an
 * open-addressing map from uint64 keys to uint32 values.
 *
 * Thread-safety: none; each container belongs to one thread. Allocates (not for hooks).
 */
#ifndef CT_TRACEBUF_H
#define CT_TRACEBUF_H

#include <stddef.h>
#include <stdint.h>

/* Makes room for need elements of size bytes in *p (capacity *cap, doubled as needed).
 * 0 or -ENOMEM (then *p and *cap are unchanged). */
int ct_grow(void **p, size_t *cap, size_t need, size_t size);

typedef struct {
	uint8_t *p;
	size_t len, cap;
} ct_bytes;

/* Makes room for more bytes past len. 0 or -ENOMEM. The appends below assume room. */
int ct_bytes_need(ct_bytes *b, size_t more);
void ct_bytes_uvarint(ct_bytes *b, uint64_t v);	       /* at most 10 bytes */
void ct_bytes_le(ct_bytes *b, uint64_t v, int nbytes); /* little-endian, low nbytes */
void ct_bytes_str(ct_bytes *b, const char *s);	       /* uvarint length + bytes */
void ct_bytes_free(ct_bytes *b);

/* uint64 keys below UINT64_MAX → uint32 values. */
typedef struct {
	uint64_t *keys; /* key + 1; 0 = empty slot */
	uint32_t *vals;
	size_t cap, n;
} ct_u64map;

/* The value of key, or UINT32_MAX when absent. */
uint32_t ct_u64map_get(const ct_u64map *m, uint64_t key);
/* Sets key to val. 0 or -ENOMEM. */
int ct_u64map_put(ct_u64map *m, uint64_t key, uint32_t val);
/* Removes every key, keeping the memory. */
void ct_u64map_clear(ct_u64map *m);
void ct_u64map_free(ct_u64map *m);

/* FNV-1a over n bytes, folded below UINT64_MAX (usable as a ct_u64map key). */
uint64_t ct_hash_bytes(const void *p, size_t n, uint64_t seed);

#endif
