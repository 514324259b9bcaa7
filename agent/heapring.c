/*
 * heapring.c — per-thread event rings for the rate-1 heap profile (CTRACE_HEAP_RATE=1).
 *
 * At rate 1 every malloc and every free is an event, so what one event costs on the
 * program's thread is most of what the profile costs. The shared per-CPU rings (ct_emit)
 * charge every record an atomic reserve on a write head the collector also touches, a
 * sched_getcpu, a thread id and a clock read, in 64 bytes. Here each thread that records
 * gets a ring of its own: a single-producer, single-consumer queue of 24-byte events
 * (sequence number and kind, address, packed stack and size) that the producer appends to
 * with plain stores and one release store of its head — no atomic read-modify-write and no
 * shared cache line until the collector drains it. Events carry no time: the heap source
 * stamps them with the time of the drain that takes them (at most one collector period
 * late; it only dates the peak).
 *
 * Producers. A thread gets a ring on its first event (a recycled one, else a new mmap'ed
 * one), keeps it in initial-exec TLS and gives it back at exit (a pthread key destructor);
 * events of later destructors, of a signal handler that interrupted a push, or of a thread
 * without a ring are refused (ct_heap_ring_push returns -EAGAIN) and the caller sends them
 * through the shared rings instead. A push that finds the ring half full wakes the
 * collector; one that finds it full waits for it (at most 1 s, when the caller may
 * wait), as rate 1's exactness requires. A push leaves errno as it found it.
 *
 * Consumer. ct_heap_ring_drain runs on one thread at a time (the collector, or the exit
 * path after the collector stopped). Rings are never unmapped: a ring whose thread exited
 * is drained, then marked free for the next new thread, so the list only grows to the
 * largest number of threads that recorded at once.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/heap.h"

#define IE __attribute__((tls_model("initial-exec")))

/* 8192 events of 24 bytes (192 KiB) per recording thread: the half left after the
 * half-way wake-up takes a malloc-bound loop ~150 µs to fill, about what the collector
 * needs to be scheduled on a busy machine. The heap source's reorder window (2^19 events
 * at rate 1) spans 64 full rings. */
#define RING_EVENTS 32768u

enum { RING_OWNED, RING_EXITED, RING_FREE };

typedef struct heap_ring {
	/* The producer's line: head is published with release after the event is written. */
	_Alignas(64) _Atomic uint64_t head;
	uint64_t tail_seen; /* producer's last look at tail */
	/* The consumer's line. */
	_Alignas(64) _Atomic uint64_t tail;
	/* RING_OWNED while a thread has it; the thread's exit stores RING_EXITED (release,
	 * after its last head store); the consumer, once it drained an exited ring, stores
	 * RING_FREE; a new thread takes a free ring by CAS. */
	_Atomic int state;
	struct heap_ring *next; /* written before the ring is pushed on the list; immutable */
	_Alignas(64) ct_heap_ring_ev ev[RING_EVENTS];
} heap_ring;

static heap_ring *_Atomic ring_list;
static pthread_key_t ring_key;
static int ring_key_ok;
static _Atomic uint64_t ring_waits; /* pushes that found their ring full; relaxed */

static __thread heap_ring *tls_ring IE;
/* 1 while a push runs (a signal handler's push then goes to the shared rings); 2 once the
 * thread has no ring and gets none (no memory, or its exit has given it back). */
static __thread int tls_ring_off IE;

/* Thread exit. Later events of the thread (other destructors) use the shared rings. */
static void ring_gone(void *p)
{
	heap_ring *r = p;
	tls_ring = NULL;
	tls_ring_off = 2;
	atomic_store_explicit(&r->state, RING_EXITED, memory_order_release);
}

int ct_heap_ring_init(void)
{
	int r = pthread_key_create(&ring_key, ring_gone);
	ring_key_ok = r == 0;
	return -r;
}

/* A ring for this thread: a free one from the list, else a new one pushed on it. Called
 * with the guard set. NULL when none can be had. */
static heap_ring *ring_take(void)
{
	heap_ring *r = atomic_load_explicit(&ring_list, memory_order_acquire);
	for (; r; r = r->next) {
		int want = RING_FREE;
		/* Acquire: the consumer's drain of the ring happened before it was freed. */
		if (atomic_compare_exchange_strong_explicit(&r->state, &want, RING_OWNED,
							    memory_order_acquire,
							    memory_order_relaxed))
			break;
	}
	if (!r) {
		void *m = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		r = m; /* zeroed: head = tail = 0, RING_OWNED */
		r->next = atomic_load_explicit(&ring_list, memory_order_relaxed);
		/* Release: the consumer that finds the ring on the list sees it initialised. */
		while (!atomic_compare_exchange_weak_explicit(
			&ring_list, &r->next, r, memory_order_release, memory_order_relaxed))
			;
	}
	if (pthread_setspecific(ring_key, r) != 0) {
		atomic_store_explicit(&r->state, RING_EXITED, memory_order_release);
		return NULL;
	}
	r->tail_seen = atomic_load_explicit(&r->tail, memory_order_relaxed);
	return r;
}

/* The ring is full: wake the collector, yield, then nap, for at most WAIT_MAX_NS of the
 * monotonic clock while the heap is still recording (a collector starved of CPU on a busy
 * machine may take tens of milliseconds to be scheduled; rate 1 would rather wait than
 * lose the event). The bound is for a collector that cannot run at all — say, blocked on
 * a lock this thread holds. Whether there is room now. */
#define WAIT_MAX_NS 1000000000u

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool wait_room(heap_ring *r, uint64_t h)
{
	atomic_fetch_add_explicit(&ring_waits, 1, memory_order_relaxed);
	ct_collector_wake();
	int saved_errno = errno; /* nanosleep's EINTR is not the program's */
	uint64_t deadline = mono_ns() + WAIT_MAX_NS;
	bool room = false;
	for (int i = 0; !room && ct_heap_hooks_recording() && (i < 100 || mono_ns() < deadline);
	     i++) {
		if (i < 100) {
			sched_yield();
		} else {
			struct timespec nap = {0, 20000};
			nanosleep(&nap, NULL);
		}
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		room = h - r->tail_seen < RING_EVENTS;
	}
	errno = saved_errno;
	return room;
}

int ct_heap_ring_push(uint64_t seq_kind, uint64_t addr, uint64_t val, bool may_wait)
{
	heap_ring *r = tls_ring;
	if (__builtin_expect(!r, 0)) {
		if (tls_ring_off || !ring_key_ok)
			return -EAGAIN;
		/* The guard, so that an allocation inside pthread_setspecific is not recorded
		 * (and does not come back here); it may be set already (alloc_slow). */
		int saved_guard = ct_tls_guard, saved_errno = errno;
		ct_tls_guard = 1;
		tls_ring_off = 1; /* a signal handler's event meanwhile takes the shared rings */
		r = tls_ring = ring_take();
		tls_ring_off = r ? 0 : 2;
		ct_tls_guard = saved_guard;
		errno = saved_errno;
		if (!r)
			return -EAGAIN;
	}
	if (tls_ring_off)
		return -EAGAIN;
	tls_ring_off = 1;
	/* Relaxed: only this thread writes head. */
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (__builtin_expect(h - r->tail_seen >= RING_EVENTS, 0)) {
		/* Acquire: the consumer has read the events it passed before we overwrite. */
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h - r->tail_seen >= RING_EVENTS && !(may_wait && wait_room(r, h))) {
			tls_ring_off = 0;
			return -ENOSPC;
		}
	}
	ct_heap_ring_ev *e = &r->ev[h & (RING_EVENTS - 1)];
	e->seq_kind = seq_kind;
	e->addr = addr;
	e->val = val;
	/* Release: the consumer that sees the new head sees the event. */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	tls_ring_off = 0;
	if (__builtin_expect(h + 1 - r->tail_seen == RING_EVENTS / 2, 0))
		ct_collector_wake();
	return 0;
}

size_t ct_heap_ring_drain(void (*fn)(void *ctx, const ct_heap_ring_ev *ev), void *ctx)
{
	size_t n = 0;
	for (heap_ring *r = atomic_load_explicit(&ring_list, memory_order_acquire); r;
	     r = r->next) {
		/* Acquire on state before head: an exited ring's head is then final. */
		int st = atomic_load_explicit(&r->state, memory_order_acquire);
		if (st == RING_FREE)
			continue;
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
		for (; t != h; t++)
			fn(ctx, &r->ev[t & (RING_EVENTS - 1)]);
		n += (size_t)(h - atomic_load_explicit(&r->tail, memory_order_relaxed));
		/* Release: the producer reuses the slots only after we read them. */
		atomic_store_explicit(&r->tail, t, memory_order_release);
		if (st == RING_EXITED)
			atomic_store_explicit(&r->state, RING_FREE, memory_order_release);
	}
	return n;
}

uint64_t ct_heap_ring_waits(void)
{
	return atomic_load_explicit(&ring_waits, memory_order_relaxed);
}
