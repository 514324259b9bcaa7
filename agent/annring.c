/*
 * annring.c — per-thread rings for annotation records: what a recorded region begin or
 * end and a label change (under the CPU mode) cost the program's thread.
 *
 * The shared per-CPU rings (ct_emit) charge every record an atomic reserve on a write
 * head that other threads and the collector touch, a CPU number, a thread id and a
 * clock_gettime, in 64 bytes or more with the name copied in: ~140 ns a begin+end pair
 * on this VM. Here each thread that annotates gets a single-producer, single-consumer
 * ring of 8-byte records (type, nesting depth, an interned id — a label set or a region
 * name, ann.h — and a ct_fast_now stamp, fastclock.h; annring.h has the format) that it
 * appends to with a plain store and one release store of its head. The collector drains the rings
 * (ct_ann_ring_drain), converts the stamps to CLOCK_MONOTONIC ns, and dispatches the
 * same CT_EV_ANN_* events the shared rings carried (the trace source, the label
 * timeline), so the consumers did not change. A region of a task takes two records: one
 * that carries the task id, then the region record.
 *
 * Producers. A thread gets a ring at its first record (a free one from the list, else a
 * new mmap'ed one: lock-free and allocation-free, so async-signal-safe as annotate.c's
 * calls are) and gives it back at exit (a pthread key destructor; the key is among the
 * first 32, whose slots glibc keeps in the thread descriptor, so pthread_setspecific
 * allocates nothing). A push is refused (-EAGAIN) for a thread without a ring (its exit
 * gave it back, or no memory) and when its ring is full (-ENOSPC); annotate.c then sends
 * the record through the shared rings, which count what they cannot take. Annotate.c
 * calls push only between its enter() and leave(): a signal handler's annotation call
 * never interleaves with its thread's push.
 *
 * Consumer. ct_ann_ring_drain runs on one thread at a time (the collector's ticks, or
 * the exit path once the collector stopped). Rings are never unmapped: a ring whose
 * thread exited is drained, then marked free for the next new thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/annring.h"
#include "agent/fastclock.h"
#include "agent/internal.h"
#include "agent/ringlist.h"

static ct_ring_list ring_list;
static pthread_key_t ring_key;
static int ring_key_ok;

__thread ann_ring *ct_ann_tls_ring CT_ANN_IE; /* annring.h */
static __thread int tls_ring_gone
	CT_ANN_IE; /* 1 once the thread gave its ring back (or had none) */

static void ring_gone(void *p)
{
	ann_ring *r = p;
	ct_ann_tls_ring = NULL;
	tls_ring_gone = 1;
	atomic_store_explicit(&r->link.state, CT_RING_EXITED, memory_order_release);
}

int ct_ann_ring_init(void)
{
	int r = pthread_key_create(&ring_key, ring_gone);
	/* Keys past the first 32 make pthread_setspecific allocate: not in a signal handler. */
	ring_key_ok = r == 0 && ring_key < 32;
	if (r == 0 && !ring_key_ok)
		ct_log("annotate: no early thread key; annotations use the shared rings");
	return -r;
}

/* A ring for this thread: a free one from the list, else a new one pushed on it. NULL
 * when none can be had. */
static ann_ring *ring_take(void)
{
	ann_ring *r = ct_ring_list_take(&ring_list, sizeof(ann_ring));
	if (!r)
		return NULL;
	atomic_store_explicit(&r->tid, ct_gettid(), memory_order_relaxed);
	if (pthread_setspecific(ring_key, r) != 0) {
		atomic_store_explicit(&r->link.state, CT_RING_EXITED, memory_order_release);
		return NULL;
	}
	r->tail_seen = atomic_load_explicit(&r->tail, memory_order_relaxed);
	return r;
}

static ann_ring *my_ring(void)
{
	ann_ring *r = ct_ann_tls_ring;
	if (__builtin_expect(r != NULL, 1))
		return r;
	if (tls_ring_gone || !ring_key_ok)
		return NULL;
	/* The guard, so that what mmap or pthread_setspecific might allocate is not
	 * recorded; errno is the program's. */
	int saved_guard = ct_tls_guard, saved_errno = errno;
	ct_tls_guard = 1;
	r = ct_ann_tls_ring = ring_take();
	tls_ring_gone = r == NULL;
	ct_tls_guard = saved_guard;
	errno = saved_errno;
	return r;
}

int ct_ann_ring_push(uint16_t type, uint32_t id, uint16_t depth, uint64_t task)
{
	ann_ring *r = my_ring();
	if (!r)
		return -EAGAIN;
	if (id >= CT_ANN_ID_LIMIT || task >> (64 - 3))
		return -ERANGE; /* does not fit a record (never, with today's tables) */
	uint64_t stamp = ct_fast_now(), epoch = stamp >> (64 - ANN_STAMP_SHIFT);
	uint32_t need = 1 + (task != 0) + (epoch != r->epoch);
	/* Relaxed: only this thread writes head. */
	uint64_t h0 = atomic_load_explicit(&r->head, memory_order_relaxed), h = h0;
	if (__builtin_expect(h + need - r->tail_seen > CT_ANN_RING_RECS, 0)) {
		/* Acquire: the consumer has read the records it passed before we overwrite. */
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h + need - r->tail_seen > CT_ANN_RING_RECS)
			return -ENOSPC;
	}
	if (epoch != r->epoch) {
		r->rec[h++ & (CT_ANN_RING_RECS - 1)] = epoch << 3 | ANN_EXT_EPOCH | ANN_K_EXT;
		r->epoch = epoch;
	}
	if (task)
		r->rec[h++ & (CT_ANN_RING_RECS - 1)] = task << 3 | ANN_K_EXT;
	ct_ann_ring_store(r, h, stamp, type, id, depth);
	/* Wake the collector when this push crossed a half of the ring. */
	uint64_t half = CT_ANN_RING_RECS / 2;
	if ((h0 - r->tail_seen) / half != (h + 1 - r->tail_seen) / half)
		ct_collector_wake();
	return 0;
}

/* One record as the CT_EV_ANN_* event the shared rings would have carried. */
static void dispatch(const ann_ring *r, ann_rec e, uint32_t tid, uint64_t task)
{
	static const uint16_t types[] = {CT_EV_ANN_LABEL, CT_EV_ANN_REGION_BEGIN,
					 CT_EV_ANN_REGION_END};
	uint64_t stamp = r->epoch_seen << (64 - ANN_STAMP_SHIFT) | e >> ANN_STAMP_SHIFT;
	uint32_t depth = (uint32_t)(e >> 2) & ((1u << ANN_DEPTH_BITS) - 1);
	uint32_t id = (uint32_t)(e >> 9) & (CT_ANN_ID_LIMIT - 1);
	ct_event ev = {.type = types[e & 3], .tid = tid, .time = ct_fast_to_ns(stamp)};
	if (ev.type == CT_EV_ANN_LABEL) {
		uint32_t set[2] = {id, depth}; /* depth: CT_ANN_OBSERVED or 0 */
		ev.data = set;
		ev.len = sizeof(set);
		ct_dispatch(&ev);
		return;
	}
	struct {
		ct_ev_annot h;
		char name[CT_ANN_NAME_MAX];
	} p = {.h = {.task = task, .depth = (uint16_t)depth}};
	const char *name = ev.type == CT_EV_ANN_REGION_BEGIN ? ct_ann_name(id) : NULL;
	size_t nl = name ? strnlen(name, CT_ANN_NAME_MAX) : 0;
	memcpy(p.name, name ? name : "", nl);
	p.h.name_len = (uint16_t)nl;
	ev.data = &p;
	ev.len = (uint32_t)(sizeof(p.h) + nl);
	ct_dispatch(&ev);
}

size_t ct_ann_ring_drain(void)
{
	size_t n = 0;
	for (ann_ring *r = (ann_ring *)atomic_load_explicit(&ring_list.head, memory_order_acquire);
	     r; r = (ann_ring *)r->link.next) {
		/* Acquire on state before head: an exited ring's head is then final. */
		int st = atomic_load_explicit(&r->link.state, memory_order_acquire);
		if (st == CT_RING_FREE)
			continue;
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
		uint32_t tid = atomic_load_explicit(&r->tid, memory_order_relaxed);
		uint64_t task = 0;
		for (; t != h; t++) {
			ann_rec e = r->rec[t & (CT_ANN_RING_RECS - 1)];
			if ((e & 3) == ANN_K_EXT) {
				if (e & ANN_EXT_EPOCH)
					r->epoch_seen = e >> 3;
				else
					task = e >> 3;
				continue;
			}
			dispatch(r, e, tid, task);
			task = 0;
			n++;
		}
		/* Release: the producer reuses the slots only after we read them. */
		atomic_store_explicit(&r->tail, t, memory_order_release);
		if (st == CT_RING_EXITED)
			atomic_store_explicit(&r->link.state, CT_RING_FREE, memory_order_release);
	}
	return n;
}

/* A forked child: the parent drains what its threads wrote. The forking thread keeps its
 * ring (under its new thread id); the others' threads do not exist here. */
void ct_ann_ring_fork_child(void)
{
	for (ann_ring *r = (ann_ring *)atomic_load_explicit(&ring_list.head, memory_order_relaxed);
	     r; r = (ann_ring *)r->link.next) {
		atomic_store_explicit(&r->tail,
				      atomic_load_explicit(&r->head, memory_order_relaxed),
				      memory_order_relaxed);
		r->tail_seen = atomic_load_explicit(&r->head, memory_order_relaxed);
		if (r != ct_ann_tls_ring)
			atomic_store_explicit(&r->link.state, CT_RING_FREE, memory_order_relaxed);
	}
	if (ct_ann_tls_ring)
		atomic_store_explicit(&ct_ann_tls_ring->tid, (uint32_t)syscall(SYS_gettid),
				      memory_order_relaxed);
}
