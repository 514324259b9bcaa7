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
 * collector; one that finds it full sleeps until the collector gives room back (when the
 * caller may wait, and as long as the collector makes progress), as rate 1's exactness
 * requires. A push leaves errno as it found it.
 *
 * Consumer. ct_heap_ring_drain runs on one thread at a time (the collector, or the exit
 * path after the collector stopped) and merges the rings by sequence number. Rings are
 * never unmapped: a ring whose thread exited is drained, then marked free for the next
 * new thread, so the list only grows to the largest number of threads that recorded at
 * once.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/heap.h"
#include "agent/ringlist.h"

#define IE __attribute__((tls_model("initial-exec")))

/* 32768 events of 24 bytes (768 KiB, touched as the ring fills) per thread recording at
 * once: the half left after the half-way wake-up lasts a malloc-bound loop ~0.6 ms, so
 * that a collector scheduled late on a busy machine seldom makes it wait (8192 events
 * made the 33.5M-pair loop wait ~6000 times and tripled its wall time under load). */
#define RING_EVENTS 32768u

typedef struct heap_ring {
	ct_ring_link link; /* first: ringlist.h */
	/* The producer's line: head is published with release after the event is written. */
	_Alignas(64) _Atomic uint64_t head;
	uint64_t tail_seen; /* producer's last look at tail */
	/* The consumer's line. */
	_Alignas(64) _Atomic uint64_t tail;
	_Alignas(64) ct_heap_ring_ev ev[RING_EVENTS];
} heap_ring;

/* The line this many events ahead is asked for in the exclusive state (ct_prefetchw)
 * while the events before it are written. */
#define PREFETCH_EVENTS 64u

static ct_ring_list ring_list;
static pthread_key_t ring_key;
static int ring_key_ok;
static _Atomic uint64_t ring_waits; /* pushes that found their ring full; relaxed */
/* Bumped by the consumer whenever it gives a ring's slots back; a producer waiting for
 * room sleeps on it (a futex word) and counts itself in ring_sleepers, so that the
 * consumer makes the wake-up system call only when someone sleeps. */
static _Atomic uint32_t ring_progress;
static _Atomic uint32_t ring_sleepers;

static __thread heap_ring *tls_ring IE;
/* 1 while a push runs (a signal handler's push then goes to the shared rings); 2 once the
 * thread has no ring and gets none (no memory, or its exit has given it back). */
static __thread int tls_ring_off IE;
/* ring_progress + 1 when this thread last gave up waiting (0: never). */
static __thread uint64_t tls_stalled_at IE;

/* Thread exit. Later events of the thread (other destructors) use the shared rings. */
static void ring_gone(void *p)
{
	heap_ring *r = p;
	tls_ring = NULL;
	tls_ring_off = 2;
	atomic_store_explicit(&r->link.state, CT_RING_EXITED, memory_order_release);
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
	heap_ring *r = ct_ring_list_take(&ring_list, sizeof(heap_ring));
	if (!r)
		return NULL;
	if (pthread_setspecific(ring_key, r) != 0) {
		atomic_store_explicit(&r->link.state, CT_RING_EXITED, memory_order_release);
		return NULL;
	}
	r->tail_seen = atomic_load_explicit(&r->tail, memory_order_relaxed);
	return r;
}

/* The ring is full: wake the collector and sleep on ring_progress (a futex) while the
 * heap is still recording and the collector is getting on — rate 1 would rather wait than
 * lose the event, and a collector starved of CPU on a busy machine may take a long time to
 * get to this ring (sleeping rather than spinning leaves it the CPU; growing the address
 * map of millions of live blocks took it over 2 s on a loaded 2-core machine). When the
 * collector gave nothing back for WAIT_STALL_NS — it cannot run at all, say blocked on a
 * lock this thread holds — the event is dropped, and so are the thread's next full-ring
 * events until the collector moves again. Whether there is room now. */
#define WAIT_STALL_NS 10000000000u

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps until ring_progress differs from v, or 10 ms. The guard keeps the futex hook
 * (futexhook.c) from recording our own wait. */
static void sleep_progress(uint32_t v)
{
	struct timespec ts = {0, 10000000};
	int saved_guard = ct_tls_guard;
	ct_tls_guard = 1;
	syscall(SYS_futex, &ring_progress, FUTEX_WAIT_PRIVATE, v, &ts, NULL, 0);
	ct_tls_guard = saved_guard;
}

static bool wait_room(heap_ring *r, uint64_t h)
{
	uint32_t seen = atomic_load_explicit(&ring_progress, memory_order_seq_cst);
	if (tls_stalled_at == (uint64_t)seen + 1)
		return false; /* gave up on a stalled collector: not again until it moves */
	atomic_fetch_add_explicit(&ring_waits, 1, memory_order_relaxed);
	int saved_errno = errno; /* the futex's EAGAIN or EINTR is not the program's */
	ct_collector_wake();
	/* Seq_cst with the consumer's progress increment and sleeper check: either it sees
	 * us sleeping and wakes us, or we see its progress (and the tail it released). */
	atomic_fetch_add_explicit(&ring_sleepers, 1, memory_order_seq_cst);
	uint64_t deadline = mono_ns() + WAIT_STALL_NS;
	bool room = false;
	while (ct_heap_hooks_recording()) {
		uint32_t v = atomic_load_explicit(&ring_progress, memory_order_seq_cst);
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		/* Back to work once a quarter of the ring is free, not at the first slot: the
		 * collector gives the rest back by the end of its pass (this thread adds
		 * nothing meanwhile), and every wake-up is a context switch. */
		room = h - r->tail_seen <= RING_EVENTS - RING_EVENTS / 4;
		if (room)
			break;
		uint64_t now = mono_ns();
		if (v != seen) {
			seen = v;
			deadline = now + WAIT_STALL_NS;
		} else if (now >= deadline) {
			tls_stalled_at = (uint64_t)seen + 1;
			break;
		}
		sleep_progress(v);
	}
	atomic_fetch_sub_explicit(&ring_sleepers, 1, memory_order_relaxed);
	errno = saved_errno;
	return room;
}

int ct_heap_ring_push(int kind, uint64_t seq, uint64_t addr, uint64_t val, bool may_wait)
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
	if (seq == CT_HEAP_SEQ_LATER)
		seq = ct_heap_next_seq();
	ct_heap_ring_ev *e = &r->ev[h & (RING_EVENTS - 1)];
	ct_prefetchw(&r->ev[(h + PREFETCH_EVENTS) & (RING_EVENTS - 1)]);
	e->seq_kind = seq << 2 | (uint64_t)kind;
	e->addr = addr;
	e->val = val;
	/* Release: the consumer that sees the new head sees the event. */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	tls_ring_off = 0;
	if (__builtin_expect(h + 1 - r->tail_seen == RING_EVENTS / 2, 0))
		ct_collector_wake();
	return 0;
}

/* The merge's state: one cursor per ring with events, in a binary min-heap on the
 * sequence number of the ring's next event. Collector-only (one consumer at a time).
 * Rings past MERGE_MAX in one drain are drained one after the other, as before the merge:
 * the reorder window still puts their events in order. */
#define MERGE_MAX 1024
typedef struct {
	heap_ring *r;
	uint64_t t, h; /* next event, end of what this drain takes */
	uint64_t key;  /* seq_kind of r->ev[t]: orders as the sequence number */
	int exited;    /* the ring's thread had exited when the drain began */
} cursor;
static cursor heap_cur[MERGE_MAX];

static void sift_down(cursor *c, size_t n, size_t i)
{
	for (;;) {
		size_t m = i, l = 2 * i + 1, r = l + 1;
		if (l < n && c[l].key < c[m].key)
			m = l;
		if (r < n && c[r].key < c[m].key)
			m = r;
		if (m == i)
			return;
		cursor tmp = c[i];
		c[i] = c[m];
		c[m] = tmp;
		i = m;
	}
}

/* A cursor's ring is drained: release the slots and, once its thread has exited, the
 * ring. Release: the producer (or the ring's next owner) reuses the slots only after we
 * read them. */
static void give_back(heap_ring *r, uint64_t t)
{
	atomic_store_explicit(&r->tail, t, memory_order_release);
	atomic_fetch_add_explicit(&ring_progress, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&ring_sleepers, memory_order_seq_cst))
		syscall(SYS_futex, &ring_progress, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}
/* Room is given back every GIVE_EVERY events of a ring during a merge (a waiting thread
 * resumes at a quarter of its ring, wait_room). */
#define GIVE_EVERY (RING_EVENTS / 8)

static void ring_done(const cursor *c)
{
	give_back(c->r, c->t);
	if (c->exited)
		atomic_store_explicit(&c->r->link.state, CT_RING_FREE, memory_order_release);
}

/* Every ring's events merged in sequence order, so that the aggregator applies nearly all
 * of them on its in-order path, whatever the number of threads: only events whose number
 * was taken but not yet appended when the drain began wait in its reorder window. When fn
 * asks to stop (nonzero), that event and every later one stay in their rings for the
 * next drain. */
size_t ct_heap_ring_drain(int (*fn)(void *ctx, const ct_heap_ring_ev *ev), void *ctx)
{
	size_t n = 0, nc = 0;
	int stop = 0;
	for (heap_ring *r =
		     (heap_ring *)atomic_load_explicit(&ring_list.head, memory_order_acquire);
	     r && !stop; r = (heap_ring *)r->link.next) {
		/* Acquire on state before head: an exited ring's head is then final. */
		int st = atomic_load_explicit(&r->link.state, memory_order_acquire);
		if (st == CT_RING_FREE)
			continue;
		cursor c = {.r = r,
			    .t = atomic_load_explicit(&r->tail, memory_order_relaxed),
			    .h = atomic_load_explicit(&r->head, memory_order_acquire),
			    .exited = st == CT_RING_EXITED};
		n += (size_t)(c.h - c.t);
		if (c.t != c.h && nc < MERGE_MAX) {
			c.key = r->ev[c.t & (RING_EVENTS - 1)].seq_kind;
			heap_cur[nc++] = c;
			continue;
		}
		if (c.t == c.h) { /* nothing new: no room to give back */
			if (c.exited)
				atomic_store_explicit(&r->link.state, CT_RING_FREE,
						      memory_order_release);
			continue;
		}
		for (; c.t != c.h && !stop; c.t++)
			stop = fn(ctx, &r->ev[c.t & (RING_EVENTS - 1)]);
		if (stop) {
			c.t--; /* the event that stopped it stays */
			give_back(r, c.t);
		} else {
			ring_done(&c);
		}
	}
	if (stop) /* the merge's rings were not started: their tails stand */
		return n;
	for (size_t i = nc / 2; i-- > 0;)
		sift_down(heap_cur, nc, i);
	while (nc) {
		cursor *c = &heap_cur[0];
		if (fn(ctx, &c->r->ev[c->t & (RING_EVENTS - 1)])) {
			for (size_t i = 0; i < nc; i++) /* no ring is freed: events remain */
				give_back(heap_cur[i].r, heap_cur[i].t);
			return n;
		}
		if (++c->t == c->h) {
			ring_done(c);
			heap_cur[0] = heap_cur[--nc];
		} else {
			/* A long merge gives room back as it goes: a producer waiting on a full
			 * ring need not wait for every other ring's events too. */
			if ((c->t & (GIVE_EVERY - 1)) == 0)
				give_back(c->r, c->t);
			c->key = c->r->ev[c->t & (RING_EVENTS - 1)].seq_kind;
		}
		sift_down(heap_cur, nc, 0);
	}
	return n;
}

uint64_t ct_heap_ring_waits(void)
{
	return atomic_load_explicit(&ring_waits, memory_order_relaxed);
}
