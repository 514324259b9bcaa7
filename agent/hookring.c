/*
 * hookring.c — per-thread rings for the hooks' wait and unblock records (see hookring.h).
 *
 * Why. Through the shared per-CPU rings (ct_emit) each record costs an atomic reserve on
 * a write head the collector also touches, a CPU number, a thread id, a clock read and a
 * 64-byte record: about a quarter of what the scheduler trace added to a two-thread
 * condition-variable ping-pong (tests/bench/bench_sched.sh), whose every turn makes one
 * wait and one unblock record. Here a record is 32 bytes in the thread's own ring.
 *
 * Producers. A thread gets a ring at its 64th record (a free one from the list, else a
 * new mmap'ed one: lock-free, so a push stays async-signal-safe) and gives it back at its
 * exit (a pthread key destructor). Its first 63 records, its records after it gave the
 * ring back, those of a signal handler that interrupted a push on its thread, and those
 * that find the ring full take the shared rings (ct_hook_ring_push returns -EAGAIN). Like the
 * shared rings, a push never wakes the collector: it drains every 25 ms while hook records flow.
 * A push touches only its record's slot and the thread's TLS: the write position and the
 * last tail seen are the thread's own (beside its thread control block), and a record is
 * published by its nonzero type, stored last with release. After a system call (the wait
 * a record reports) every page is cold on these VMs, and a shared head, on the ring's
 * first page, was a second page walk per record (perf annotate of redis-server).
 *
 * Consumer. ct_hook_ring_drain runs on one thread at a time (the collector, or the exit
 * path once the collector stopped). It reads records from its tail while their type is
 * set, clears each type after reading it, and then publishes the new tail (release), which
 * the producer reads only when its own count says the ring may be full. Rings are never
 * unmapped: a ring whose thread exited is drained, then marked free for the next new
 * thread, which goes on from the position its last owner left in the ring; the list only
 * grows to the largest number of threads that recorded at once (128 KiB each by default,
 * touched as used).
 */
#include "agent/hookring.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "agent/hot.h"
#include "agent/internal.h"
#include "agent/ringlist.h"
#include "libtrace/clock.h"

#define IE __attribute__((tls_model("initial-exec")))

/* Records per thread ring: CTRACE_RING_BYTES / 512 (the shared rings' 4 MiB default gives
 * the most, 4096 records of 32 bytes: a ping-pong thread makes ~130k records a second on
 * this VM, ~3300 in the collector's busy period of 25 ms; a faster thread overflows into
 * the shared rings, which hold 16 times more); at least 8, so that the small rings tests
 * use overflow here too. A power of two, set by ct_hook_ring_init before any ring exists;
 * read-only afterwards. */
#define RING_RECS_MAX 4096u
#define RING_RECS_MIN 8u
static uint32_t ring_recs CT_HOT_DATA = RING_RECS_MAX; /* read by every push: hot.h */

typedef struct {
	uint64_t time;	/* wait: its start; unblock: ct_now() at the push */
	uint64_t obj;	/* the object waited on or released */
	uint64_t val;	/* wait: ns waited; unblock: the woken thread's tid */
	uint32_t stack; /* interned stack, 0 if none */
	uint16_t type;	/* CT_EV_LOCK_WAIT or CT_EV_UNBLOCK; 0: not written (yet) */
	uint8_t flags;	/* the record's flags (CT_LK_EV_SAMPLED) */
	uint8_t reason; /* wait: ct_wait_reason */
} hook_rec;
_Static_assert(sizeof(hook_rec) == 32, "hook records are 32 bytes");

typedef struct hook_ring {
	ct_ring_link link; /* first: ringlist.h */
	/* The next record's position, stored by the owner at its exit for the next owner. */
	uint64_t head;
	/* The consumer's line: the first record not read. */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint32_t tid;	     /* the owner's thread id, stored before its first record */
	_Alignas(64) hook_rec rec[]; /* ring_recs */
} hook_ring;

static ct_ring_list ring_list;
static pthread_key_t ring_key;
static int ring_key_ok;
static _Atomic uint64_t ring_full; /* records a full ring sent to the shared rings */

/* A thread takes a ring at its RING_AFTER-th record: one that waits or wakes others a few
 * times only (a storm of short threads, each releasing its joiner at exit) keeps to the
 * shared rings and never pays for a ring's mapping. */
#define RING_AFTER 64u

/* The thread's producer state, one TLS object reached through an offset on the hot page
 * (hot.h), so that no GOT load precedes it. */
typedef struct {
	hook_ring *ring;
	uint64_t head;	    /* the position of the thread's next record */
	uint64_t tail_seen; /* the consumer's tail at the producer's last look */
	uint32_t count;	    /* records offered before the thread had a ring */
	/* 1 while a push runs (a signal handler's record then takes the shared rings); 2 once
	 * the thread has no ring and gets none (no memory, or its exit gave it back). */
	int off;
} hr_tls_t;
static __thread hr_tls_t hr_tls IE;
static intptr_t hr_tls_off CT_HOT_DATA; /* set by ct_hook_ring_init; relaxed: either works */

static inline hr_tls_t *hr_me(void)
{
	intptr_t off = __atomic_load_n(&hr_tls_off, __ATOMIC_RELAXED);
	return __builtin_expect(off != 0, 1) ? (hr_tls_t *)ct_tls_at(off) : &hr_tls;
}

/* Thread exit: the ring goes back to the collector, which frees it once drained. */
static void ring_gone(void *p)
{
	hook_ring *r = p;
	hr_tls_t *me = hr_me();
	if (me->ring == r) {
		r->head = me->head; /* published by the state's release store */
		me->ring = NULL;
		me->off = 2;
	}
	atomic_store_explicit(&r->link.state, CT_RING_EXITED, memory_order_release);
}

int ct_hook_ring_init(void)
{
	if (ring_key_ok)
		return 0;
	ring_recs = RING_RECS_MIN;
	while (ring_recs < RING_RECS_MAX && ring_recs * 2 <= ct_cfg.ring_bytes / 512)
		ring_recs *= 2;
	__atomic_store_n(&hr_tls_off, ct_tls_offset(&hr_tls), __ATOMIC_RELAXED);
	int r = pthread_key_create(&ring_key, ring_gone);
	ring_key_ok = r == 0;
	return -r;
}

/* A ring for this thread (me): a free one from the list, else a new one pushed on it. NULL
 * when none can be had. */
static hook_ring *ring_take(hr_tls_t *me)
{
	hook_ring *r =
		ct_ring_list_take(&ring_list, sizeof(hook_ring) + ring_recs * sizeof(hook_rec));
	if (!r)
		return NULL;
	if (pthread_setspecific(ring_key, r) != 0) {
		atomic_store_explicit(&r->link.state, CT_RING_EXITED, memory_order_release);
		return NULL;
	}
	/* Relaxed: published to the consumer by the release store of the first record's type. */
	atomic_store_explicit(&r->tid, ct_gettid(), memory_order_relaxed);
	/* A free ring was drained to its last owner's head (the take's acquire on its state
	 * orders that owner's head store and the consumer's tail before this). */
	me->head = r->head;
	me->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
	return r;
}

/* The calling thread's ring, taken on first use; NULL when it has none. */
static hook_ring *my_ring(hr_tls_t *me)
{
	if (__builtin_expect(me->ring != NULL, 1))
		return me->ring;
	if (me->off || !ring_key_ok || ++me->count < RING_AFTER)
		return NULL;
	/* The guard, so that an allocation inside pthread_setspecific is not recorded. */
	int saved_guard = ct_tls_guard, saved_errno = errno;
	ct_tls_guard = 1;
	me->off = 1; /* a signal handler's record meanwhile takes the shared rings */
	hook_ring *r = me->ring = ring_take(me);
	me->off = r ? 0 : 2;
	ct_tls_guard = saved_guard;
	errno = saved_errno;
	return r;
}

/* The record of a payload ct_emit was given; false when it has no record form here. */
static bool pack(hook_rec *rec, uint16_t type, uint16_t flags, const void *payload, uint32_t len)
{
	if (flags > UINT8_MAX)
		return false;
	if (type == CT_EV_LOCK_WAIT && len == sizeof(ct_ev_lock_wait)) {
		ct_ev_lock_wait w;
		memcpy(&w, payload, sizeof(w));
		if (w.reason > UINT8_MAX)
			return false;
		*rec = (hook_rec){.time = w.start,
				  .obj = w.obj,
				  .val = w.delay,
				  .stack = w.stack,
				  .reason = (uint8_t)w.reason};
	} else if (type == CT_EV_UNBLOCK && len == sizeof(ct_ev_unblock)) {
		ct_ev_unblock u;
		memcpy(&u, payload, sizeof(u));
		*rec = (hook_rec){.time = ct_now(), .obj = u.obj, .val = u.woken, .stack = u.stack};
	} else {
		return false;
	}
	rec->type = type;
	rec->flags = (uint8_t)flags;
	return true;
}

CT_WARM_FN int ct_hook_ring_push(uint16_t type, uint16_t flags, const void *payload, uint32_t len)
{
	hook_rec rec;
	hr_tls_t *me = hr_me();
	hook_ring *r = my_ring(me);
	if (!r || me->off || !pack(&rec, type, flags, payload, len))
		return -EAGAIN;
	me->off = 1;
	uint64_t h = me->head;
	if (__builtin_expect(h - me->tail_seen >= ring_recs, 0)) {
		/* Acquire: the consumer has read and cleared the records it passed. */
		me->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h - me->tail_seen >= ring_recs) {
			me->off = 0;
			atomic_fetch_add_explicit(&ring_full, 1, memory_order_relaxed);
			return -EAGAIN;
		}
	}
	hook_rec *slot = &r->rec[h & (ring_recs - 1)];
	uint16_t t = rec.type;
	rec.type = 0;
	*slot = rec;
	/* Release: the consumer that sees the type sees the record. */
	__atomic_store_n(&slot->type, t, __ATOMIC_RELEASE);
	me->head = h + 1;
	me->off = 0;
	return 0;
}

/* One record as the event ct_emit would have made of it. */
static void dispatch(const hook_rec *rec, uint32_t tid)
{
	ct_event ev = {.type = rec->type, .flags = rec->flags, .tid = tid};
	if (rec->type == CT_EV_LOCK_WAIT) {
		ct_ev_lock_wait w = {.stack = rec->stack,
				     .reason = rec->reason,
				     .obj = rec->obj,
				     .start = rec->time,
				     .delay = rec->val};
		ev.time = rec->time + rec->val; /* the wait's end */
		ev.data = &w;
		ev.len = sizeof(w);
		ct_dispatch(&ev);
	} else {
		ct_ev_unblock u = {
			.stack = rec->stack, .woken = (uint32_t)rec->val, .obj = rec->obj};
		ev.time = rec->time;
		ev.data = &u;
		ev.len = sizeof(u);
		ct_dispatch(&ev);
	}
}

size_t ct_hook_ring_drain(void)
{
	size_t n = 0;
	for (hook_ring *r =
		     (hook_ring *)atomic_load_explicit(&ring_list.head, memory_order_acquire);
	     r; r = (hook_ring *)r->link.next) {
		/* Acquire on state before head: an exited ring's head is then final. */
		int st = atomic_load_explicit(&r->link.state, memory_order_acquire);
		if (st == CT_RING_FREE)
			continue;
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		for (;; t++, n++) {
			hook_rec *slot = &r->rec[t & (ring_recs - 1)];
			/* Acquire: the record's fields, and its owner's tid stored before them. */
			if (!__atomic_load_n(&slot->type, __ATOMIC_ACQUIRE))
				break;
			dispatch(slot, atomic_load_explicit(&r->tid, memory_order_relaxed));
			__atomic_store_n(&slot->type, 0, __ATOMIC_RELAXED);
		}
		/* Release: the producer reuses the slots only after we read and cleared them. */
		atomic_store_explicit(&r->tail, t, memory_order_release);
		if (st == CT_RING_EXITED)
			atomic_store_explicit(&r->link.state, CT_RING_FREE, memory_order_release);
	}
	return n;
}

uint64_t ct_hook_ring_full(void)
{
	return atomic_load_explicit(&ring_full, memory_order_relaxed);
}

void ct_hook_ring_fork_child(void)
{
	/* The parent's rings stay mapped in the child, unused: their records and threads are
	 * the parent's. This thread's key value still names one; its exit just marks it. */
	atomic_store_explicit(&ring_list.head, NULL, memory_order_relaxed);
	hr_tls_t *me = hr_me();
	me->ring = NULL;
	me->off = 0;
}
