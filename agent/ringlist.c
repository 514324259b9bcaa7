/* ringlist.c — the per-thread rings' shared life cycle (ringlist.h). */
#include <sys/mman.h>

#include "agent/ringlist.h"

void *ct_ring_list_take(ct_ring_list *l, size_t size)
{
	ct_ring_link *r = atomic_load_explicit(&l->head, memory_order_acquire);
	for (; r; r = r->next) {
		int want = CT_RING_FREE;
		/* Acquire: the consumer's drain of the ring happened before it was freed. */
		if (atomic_compare_exchange_strong_explicit(&r->state, &want, CT_RING_OWNED,
							    memory_order_acquire,
							    memory_order_relaxed))
			return r;
	}
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	r = m; /* zeroed: CT_RING_OWNED, and the ring's head = tail = 0 */
	r->next = atomic_load_explicit(&l->head, memory_order_relaxed);
	/* Release: the consumer that finds the ring on the list sees it initialised. */
	while (!atomic_compare_exchange_weak_explicit(&l->head, &r->next, r, memory_order_release,
						      memory_order_relaxed))
		;
	return r;
}
