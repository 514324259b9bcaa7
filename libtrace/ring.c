/*
 * ring.c — lock-free MPSC per-CPU rings (protocol in ring.h).
 *
 * Positions (head, tail) are byte counts that only grow; offset = pos & mask. Producers
 * claim [head, head + n) with a CAS that also checks n fits before tail + capacity, so
 * claimed space never overlaps unread data. A claim that would cross the buffer's end also
 * claims the gap up to it and fills that gap with a committed padding record.
 *
 * Memory orders:
 * - producer CAS on head: acq_rel. Acquire pairs with the consumer's release of tail (so
 *   the zeroed length words of freed space are visible before we write there); release
 *   makes nothing visible by itself — publication is the commit store.
 * - commit: release store of len|COMMITTED; the consumer's acquire load of len then sees
 *   the payload.
 * - consumer: after handing records out it zeroes the space they took (plain stores) and
 *   publishes tail with release.
 */
#include "libtrace/ring.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct ct_ring {
	_Alignas(64) _Atomic uint64_t head; /* next byte producers may claim */
	_Atomic uint64_t written;
	_Atomic uint64_t dropped;
	_Alignas(64) _Atomic uint64_t tail; /* first unconsumed byte (consumer-owned) */
	_Atomic uint64_t consumed;	    /* written by the consumer only; read by stats */
	size_t cap;
	size_t mask;
	uint8_t *buf;
	int wiped; /* buf is MADV_WIPEONFORK: a forked child finds it zeroed */
};

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

ct_ring *ct_ring_create(size_t capacity)
{
	if (capacity < 4096 || (capacity & (capacity - 1))) {
		errno = EINVAL;
		return NULL;
	}
	size_t hdr = ALIGN8(sizeof(struct ct_ring));
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t total = (hdr + page - 1) / page * page + capacity;
	void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	struct ct_ring *r = m;
	r->cap = capacity;
	r->mask = capacity - 1;
	r->buf = (uint8_t *)m + (total - capacity);
	/* A fork copies none of the buffer (its page table entries, 1024 per 4 MiB ring once
	 * written) and the child can start on it afresh (ct_ringset_fork_reset). */
	r->wiped = madvise(r->buf, capacity, MADV_WIPEONFORK) == 0;
	return r;
}

static size_t ring_map_size(const ct_ring *r)
{
	return (size_t)(r->buf - (const uint8_t *)r) + r->cap;
}

void ct_ring_destroy(ct_ring *r)
{
	if (r)
		munmap(r, ring_map_size(r));
}

ct_rec *ct_ring_reserve(ct_ring *r, uint16_t type, uint32_t payload_len)
{
	if (payload_len > CT_RING_MAX_RECORD || sizeof(ct_rec) + payload_len > r->cap / 2) {
		atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
		return NULL;
	}
	size_t need = ALIGN8(sizeof(ct_rec) + payload_len);
	uint64_t head;
	size_t off, pad;
	for (;;) {
		/* Tail first, then head: head never falls behind tail, so head - tail cannot
		 * underflow. A head read before the tail (say, before a signal handler
		 * produced and the consumer freed past it) would look like a full ring. */
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		head = atomic_load_explicit(&r->head, memory_order_relaxed);
		off = head & r->mask;
		pad = off + need > r->cap ? r->cap - off : 0;
		if (head + pad + need - tail > r->cap) {
			atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
			return NULL;
		}
		if (atomic_compare_exchange_weak_explicit(&r->head, &head, head + pad + need,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			break;
	}
	if (pad) {
		ct_rec *p = (ct_rec *)(r->buf + off);
		p->type = CT_REC_PAD;
		atomic_store_explicit(&p->len, (uint32_t)pad | CT_RING_COMMITTED,
				      memory_order_release);
		off = 0;
	}
	ct_rec *rec = (ct_rec *)(r->buf + off);
	rec->type = type;
	rec->flags = 0;
	rec->tid = 0;
	rec->cpu = 0;
	rec->time = 0;
	/* len stays uncommitted (the consumer zeroed it); record the size for commit. */
	atomic_store_explicit(&rec->len, (uint32_t)(sizeof(ct_rec) + payload_len),
			      memory_order_relaxed);
	atomic_fetch_add_explicit(&r->written, 1, memory_order_relaxed);
	return rec;
}

void ct_ring_commit(ct_ring *r, ct_rec *rec)
{
	(void)r;
	uint32_t len = atomic_load_explicit(&rec->len, memory_order_relaxed);
	atomic_store_explicit(&rec->len, len | CT_RING_COMMITTED, memory_order_release);
}

size_t ct_ring_consume(ct_ring *r, ct_ring_fn fn, void *arg, size_t max)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t start = tail;
	size_t n = 0;
	while (n < max) {
		uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
		if (tail == head)
			break;
		ct_rec *rec = (ct_rec *)(r->buf + (tail & r->mask));
		uint32_t len = atomic_load_explicit(&rec->len, memory_order_acquire);
		if (!(len & CT_RING_COMMITTED))
			break; /* reserved but not yet published: stop to keep order */
		len &= ~CT_RING_COMMITTED;
		size_t step = rec->type == CT_REC_PAD ? len : ALIGN8(len);
		if (rec->type != CT_REC_PAD) {
			fn(rec, arg);
			n++;
		}
		tail += step;
	}
	/* Zero everything consumed, not only its length words: a later record may start
	 * anywhere in this space, and a producer that has claimed it but not yet written
	 * its length word must leave a word that reads as uncommitted (stale payload bytes
	 * could carry the commit bit). Then hand the space back to producers. */
	if (tail != start) {
		size_t from = (size_t)(start & r->mask), len = (size_t)(tail - start);
		size_t first = len < r->cap - from ? len : r->cap - from;
		memset(r->buf + from, 0, first);
		memset(r->buf, 0, len - first);
	}
	atomic_fetch_add_explicit(&r->consumed, n, memory_order_relaxed);
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	return n;
}

void ct_ring_get_stats(const ct_ring *r, ct_ring_stats *st)
{
	struct ct_ring *rr = (struct ct_ring *)r;
	st->written = atomic_load_explicit(&rr->written, memory_order_relaxed);
	st->dropped = atomic_load_explicit(&rr->dropped, memory_order_relaxed);
	st->consumed = atomic_load_explicit(&rr->consumed, memory_order_relaxed);
	st->capacity = r->cap;
}

/* ---- ring sets ---- */

struct ct_ringset {
	int n;
	ct_ring *rings[];
};

ct_ringset *ct_ringset_create(size_t capacity_per_ring)
{
	static long known; /* sysconf reads /sys each time: ~0.1 ms in each forked child */
	long ncpu = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (ncpu < 1)
		ncpu = sysconf(_SC_NPROCESSORS_CONF);
	if (ncpu < 1)
		ncpu = 1;
	__atomic_store_n(&known, ncpu, __ATOMIC_RELAXED);
	size_t sz = sizeof(ct_ringset) + (size_t)ncpu * sizeof(ct_ring *);
	void *m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	ct_ringset *s = m;
	s->n = (int)ncpu;
	for (int i = 0; i < s->n; i++) {
		s->rings[i] = ct_ring_create(capacity_per_ring);
		if (!s->rings[i]) {
			int e = errno;
			ct_ringset_destroy(s);
			errno = e;
			return NULL;
		}
	}
	return s;
}

void ct_ringset_destroy(ct_ringset *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		ct_ring_destroy(s->rings[i]);
	munmap(s, sizeof(ct_ringset) + (size_t)s->n * sizeof(ct_ring *));
}

int ct_ringset_fork_reset(ct_ringset *s)
{
	for (int i = 0; i < s->n; i++)
		if (!s->rings[i]->wiped)
			return -1;
	for (int i = 0; i < s->n; i++) {
		struct ct_ring *r = s->rings[i];
		atomic_store_explicit(&r->head, 0, memory_order_relaxed);
		atomic_store_explicit(&r->written, 0, memory_order_relaxed);
		atomic_store_explicit(&r->dropped, 0, memory_order_relaxed);
		atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
		atomic_store_explicit(&r->consumed, 0, memory_order_relaxed);
	}
	return 0;
}

int ct_ringset_count(const ct_ringset *s)
{
	return s->n;
}
ct_ring *ct_ringset_ring(ct_ringset *s, int i)
{
	return s->rings[i];
}

ct_rec *ct_ringset_reserve(ct_ringset *s, uint16_t type, uint32_t payload_len)
{
	/* sched_getcpu is rseq/vDSO-backed in current glibc; a migration right after it is
	 * harmless: rings are multi-producer, the CPU only spreads contention. */
	int cpu = sched_getcpu();
	if (cpu < 0 || cpu >= s->n)
		cpu = 0;
	ct_rec *rec = ct_ring_reserve(s->rings[cpu], type, payload_len);
	if (rec)
		rec->cpu = (uint32_t)cpu;
	return rec;
}

int ct_ringset_has_room(ct_ringset *s, uint32_t payload_len)
{
	int cpu = sched_getcpu();
	ct_ring *r = s->rings[cpu < 0 || cpu >= s->n ? 0 : cpu];
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* Room for the record and for the padding a wrap may need before it. */
	return head - tail + 2 * ALIGN8(sizeof(ct_rec) + payload_len) <= r->cap;
}

void ct_ringset_commit(ct_ringset *s, ct_rec *rec)
{
	ct_ring_commit(s->rings[rec->cpu], rec);
}

size_t ct_ringset_consume(ct_ringset *s, ct_ring_fn fn, void *arg, size_t max)
{
	size_t n = 0;
	for (int i = 0; i < s->n; i++)
		n += ct_ring_consume(s->rings[i], fn, arg, max);
	return n;
}

void ct_ringset_get_stats(const ct_ringset *s, ct_ring_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < s->n; i++) {
		ct_ring_stats one;
		ct_ring_get_stats(s->rings[i], &one);
		st->written += one.written;
		st->dropped += one.dropped;
		st->consumed += one.consumed;
		st->capacity += one.capacity;
	}
}
