/*
 * ringlist.h — the life cycle the per-thread single-producer rings share (heapring.c,
 * annring.c, hookring.c): a lock-free list of rings that only grows; a thread takes a free
 * ring (or maps a new one) for its records, gives it back at its exit, and the collector,
 * once it drained the ring, frees it for the next new thread. Rings are never unmapped.
 *
 * A ring's state: CT_RING_OWNED while a thread has it; its exit stores CT_RING_EXITED
 * (release, after its last head store); the consumer, once it drained an exited ring,
 * stores CT_RING_FREE (release); a new thread takes a free ring by CAS (acquire).
 */
#ifndef CT_AGENT_RINGLIST_H
#define CT_AGENT_RINGLIST_H

#include <stdatomic.h>
#include <stddef.h>

enum { CT_RING_OWNED, CT_RING_EXITED, CT_RING_FREE };

/* The first member of every ring on a list. */
typedef struct ct_ring_link {
	_Atomic int state;
	struct ct_ring_link *next; /* written before the ring is pushed on the list; immutable */
} ct_ring_link;

typedef struct {
	ct_ring_link *_Atomic head;
} ct_ring_list;

/* A ring for the calling thread, in state CT_RING_OWNED: a free one of the list (claimed by
 * CAS), else a new zeroed mapping of size bytes pushed on the list. NULL when mmap fails.
 * Async-signal-safe; no allocation but the mapping. */
void *ct_ring_list_take(ct_ring_list *l, size_t size);

#endif
