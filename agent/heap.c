/*
 * heap.c — the heap profiler's hooks: the malloc family and the byte sampling.
 *
 * Hooks (program threads). Every malloc-family function is interposed; the real functions
 * come from heapboot.c. The common path
 * is the real call plus, for allocations, one subtraction from a per-thread byte countdown
 * (initial-exec TLS) and, for frees, one byte load from a small static filter of the
 * sampled blocks' addresses (free_filter).
 * When an allocation takes the countdown below zero it is sampled (alloc_slow): the stack
 * is captured and interned (through the per-thread stack cache, stackcache.h, which
 * spares the unwind when a call chain repeats), the block is remembered in a lock-free
 * table (address → stack id and size) and a record goes to the ring; the countdown is
 * redrawn from an exponential distribution with mean CTRACE_HEAP_RATE (heapsample.h). The
 * free of a remembered block removes it from the table and sends a free record carrying
 * the allocation's stack id and size, so the collector needs no address map. At rate 1
 * (every allocation sampled) the hooks skip the table: records carry addresses and the
 * collector matches frees (heap_direct below). Every record carries a number from one
 * global counter so that the collector can apply allocations and frees in their real
 * order even though they sit in different CPUs' rings (heapagg.h). Records are stamped
 * with the coarse monotonic clock (coarse_now).
 *
 * The hooks work before the constructor and after the destructor (they call straight
 * through), with the guard set (the agent's own allocations are never sampled), in
 * signal handlers (nothing here takes a lock or allocates) and across fork. The heap
 * source (heapsrc.c) starts and stops the sampling and turns the records into profiles.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/ann.h"
#include "agent/heap.h"
#include "agent/hot.h"
#include "agent/stackcache.h"
#include "libtrace/clock.h"
#include "libtrace/heapsample.h"

#define IE __attribute__((tls_model("initial-exec")))

/* ---- sampling state ---- */

/* heap_state: set by the source (constructor, exit path, atfork child) with release, read
 * by every hook with acquire (it publishes tbl and heap_rate). heap_rate and heap_direct:
 * set by ct_heap_hooks_start before HEAP_RECORDING is published; read-only afterwards. */
enum { HEAP_IDLE, HEAP_RECORDING, HEAP_DONE };
static _Atomic int heap_state;
static uint64_t heap_rate;
/* Every event takes a number from heap_seq, on every thread: it gets a cache line of its
 * own, or the read-mostly state beside it (heap_state, read on every sampled allocation)
 * would miss in cache each time another thread counts. */
static struct {
	_Alignas(64) _Atomic uint64_t next;
	char pad[64 - sizeof(uint64_t)];
} heap_seq;
static _Atomic uint64_t heap_emit_failed; /* any thread adds (relaxed); read at exit */

/* A one-level table of 16 slots over mem (the slots, then their filter's 16 bytes). */
#define SMALL_TABLE_MEM (16 * sizeof(ct_heap_slot) + 16)
#define SMALL_TABLE(mem)                                                                           \
	{                                                                                          \
		.level = {{                                                                        \
			.slots = (ct_heap_slot *)(mem),                                            \
			.filter = (_Atomic uint8_t *)((mem) + 16 * sizeof(ct_heap_slot)),          \
			.bits = 4,                                                                 \
			.probes = 16,                                                              \
		}},                                                                                \
		.nlevels = 1,                                                                      \
	}

/* The sampled blocks (at rates above 1). Until start() publishes the real table tbl points
 * at an empty one, as it does at rate 1, which keeps no table. */
static _Alignas(16) unsigned char empty_mem[SMALL_TABLE_MEM];
static ct_heap_table empty_table = SMALL_TABLE(empty_mem);
static ct_heap_table live_table;
static ct_heap_table *_Atomic tbl = &empty_table;

/* The free fast path's filter: per hash bucket of block addresses, how many blocks in the
 * table hash there, as 4-bit counters, 16 to a word (saturating at 15: "maybe" for good).
 * A free whose bucket is zero is not a sampled block, passed on after one load from this
 * static array on the hooks' hot page (the table's own first-level filter, behind two
 * pointers, missed on most of an event loop's frees). 2048 buckets: a bucket shared with
 * a long-lived sampled block sends every free of a hot address there to free_slow (512
 * let one redis run in a few pay 2% of its time there). At rate 1 all are saturated.
 * Updated by the sampled paths only, with the table (filter_add before an insert,
 * filter_del after a remove), by compare-and-swap of the whole word (lock-free, for
 * signal handlers); the program's ordering of a block's malloc before its free makes the
 * freeing thread see its bucket's count (relaxed suffices, as for the table). */
#define FREE_FILTER_BITS 11
#define FILTER_FULL 15u
static _Alignas(64) _Atomic uint64_t free_filter[(1u << FREE_FILTER_BITS) / 16] CT_HOT_DATA;

static inline unsigned filter_bucket(const void *p)
{
	return (unsigned)(ct_heap_table_hash((uintptr_t)p) >> (64 - FREE_FILTER_BITS));
}

/* The count of bucket b in word w. */
static inline unsigned filter_count(uint64_t w, unsigned b)
{
	return (unsigned)(w >> ((b & 15) * 4)) & FILTER_FULL;
}

/* Adds d (+1 or -1) to p's bucket, unless it is saturated (or, for -1, empty). */
static void filter_step(const void *p, int d)
{
	unsigned b = filter_bucket(p);
	_Atomic uint64_t *wp = &free_filter[b / 16];
	uint64_t one = UINT64_C(1) << ((b & 15) * 4);
	uint64_t w = atomic_load_explicit(wp, memory_order_relaxed);
	for (;;) {
		unsigned c = filter_count(w, b);
		if (c == FILTER_FULL || (d < 0 && c == 0))
			return;
		if (atomic_compare_exchange_weak_explicit(wp, &w, d > 0 ? w + one : w - one,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return;
	}
}

static void filter_add(const void *p)
{
	filter_step(p, 1);
}

static void filter_del(const void *p)
{
	filter_step(p, -1);
}

/* The table's insert and remove, with the free filter kept in step. */
static int table_insert(ct_heap_table *t, const void *p, uint64_t val)
{
	filter_add(p);
	int r = ct_heap_table_insert(t, (uintptr_t)p, val);
	if (r < 0)
		filter_del(p);
	return r;
}

static bool table_remove(ct_heap_table *t, const void *p, uint64_t *val)
{
	if (!ct_heap_table_maybe(t, (uintptr_t)p) || !ct_heap_table_remove(t, (uintptr_t)p, val))
		return false;
	filter_del(p);
	return true;
}

/* At rate 1 every block is sampled and the hooks keep no table: allocations and frees go
 * to the collector with their addresses, matched there (heapagg.h), off the program's
 * threads. The free filter is then saturated: every free goes to free_slow. */
static int heap_direct;

/* Bytes this thread may still allocate before the next sample. -1 while the agent is not
 * recording, so every allocation re-checks (a thread's first always does); huge when heap
 * profiling is off. Stored complemented, so that the -1 it starts at is a zero, in .tbss:
 * in .tdata (the far end of the agent's TLS block from a glibc thread's control block) it
 * lay on a page of its own, a page walk for the first allocation after each system call. */
static __thread int64_t tls_countdown_not IE;
static __thread uint64_t tls_rng IE; /* 0 until the thread's first sampled-path visit */
static _Atomic uint64_t seed_counter;

#define COUNTDOWN_NEVER (INT64_C(1) << 62)

/* tls_countdown_not's offset from the thread pointer, on the hot page (hot.h); 0 until
 * ct_heap_hooks_start takes it. Relaxed: either value gives the thread's countdown. */
static intptr_t countdown_off CT_HOT_DATA;

/* The calling thread's tls_countdown_not. */
static inline int64_t *countdown(void)
{
	intptr_t off = __atomic_load_n(&countdown_off, __ATOMIC_RELAXED);
	return __builtin_expect(off != 0, 1) ? (int64_t *)ct_tls_at(off) : &tls_countdown_not;
}

/* ~(countdown - size), from ~countdown: what the countdown is after an allocation of size
 * bytes, which is below zero (a sample is due) when this is zero or more. */
static inline int64_t add_size(int64_t countdown_not, size_t size)
{
	return (int64_t)((uint64_t)countdown_not + (uint64_t)size);
}

/* Slow path: a sample is due (c >= 0), or size >= 2^63 (it wrapped the word into a huge
 * countdown: the call fails, and the thread was never sampled again). One sign test. */
static inline bool slow_due(int64_t c, size_t size)
{
	return (int64_t)((uint64_t)c & ~(uint64_t)size) >= 0;
}

static inline void set_countdown(int64_t countdown)
{
	tls_countdown_not = ~countdown;
}

static __attribute__((noinline)) void alloc_slow(void *p, size_t size, uintptr_t ra,
						 uintptr_t ra_slot);

int64_t *ct_heap_countdown_word(void) /* for a diverted capture (heapdivert.c) */
{
	return &tls_countdown_not;
}

/* The allocation fast path: one TLS subtraction; hot, allocation-free. Always inlined
 * into the exported hook, so that the return address and CFA it passes on are the hook's:
 * where the program's stack starts (stackcache.h). */
static inline __attribute__((always_inline)) void note_alloc(void *p, size_t size)
{
	int64_t *cd = countdown();
	*cd = add_size(*cd, size);
	if (__builtin_expect(*cd >= 0, 0))
		alloc_slow(p, size, (uintptr_t)__builtin_return_address(0),
			   (uintptr_t)__builtin_dwarf_cfa() - sizeof(uintptr_t));
}

/* The time a heap record carries: CLOCK_MONOTONIC_COARSE, the same clock as ct_now() at
 * the kernel tick's resolution (a few ms). It only dates the peak, and at ~7 ns against
 * ~30 ns for the exact clock it is a large part of what a rate-1 event may cost. */
static inline uint64_t coarse_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One heap record for the block described by val (ct_heap_pack). The sequence number is
 * taken here, after the real call for a free and after the insert for an allocation, so
 * that a block's allocation always gets a smaller number than its free. Relaxed: the
 * number only has to be unique and ordered per block, which the program's own ordering
 * of malloc before free gives. 0, or -ENOSPC when the ring refused it (counted). */
static uint64_t next_seq(void)
{
	return atomic_fetch_add_explicit(&heap_seq.next, 1, memory_order_relaxed);
}

uint64_t ct_heap_next_seq(void)
{
	return next_seq();
}

static bool recording(void)
{
	return atomic_load_explicit(&heap_state, memory_order_acquire) == HEAP_RECORDING &&
	       ct_active();
}

bool ct_heap_hooks_recording(void)
{
	return recording();
}

/* At rate 1 a full ring makes the program wait for the collector rather than lose the
 * event (a profile that is meant to be exact would silently not be): wake it, yield, then
 * nap, for at most ~20 ms. Only where the caller says it may (may_wait): an allocation
 * on a program thread, or a free outside the agent — never on the collector thread or in
 * agent code (whose guard is set), where the wait could be for ourselves. */
static ct_rec *reserve_waiting(uint16_t type, bool may_wait)
{
	if (heap_direct && may_wait && !ct_emit_has_room(sizeof(ct_ev_heap))) {
		ct_collector_wake();
		for (int i = 0; i < 2100 && recording() && !ct_emit_has_room(sizeof(ct_ev_heap));
		     i++) {
			if (i < 100) {
				sched_yield();
			} else {
				struct timespec nap = {0, 10000};
				nanosleep(&nap, NULL);
			}
		}
	}
	return ct_emit_reserve(type, sizeof(ct_ev_heap));
}

/* emit with the block's address and a sequence number taken by the caller. */
static int emit_at(uint16_t type, uint64_t seq, const void *addr, uint64_t val, bool may_wait)
{
	/* The number is taken even when the ring refuses the record: the collector then sees
	 * the gap, and knows that the blocks in use at that point may have been freed. */
	if (seq == UINT64_MAX)
		seq = next_seq();
	ct_rec *rec = reserve_waiting(type, may_wait);
	if (!rec) {
		atomic_fetch_add_explicit(&heap_emit_failed, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	rec->tid = ct_gettid();
	rec->time = coarse_now();
	ct_ev_heap *r = ct_rec_payload(rec);
	r->seq = seq;
	r->size = ct_heap_unpack_size(val);
	r->addr = (uintptr_t)addr;
	r->stack = ct_heap_unpack_stack(val);
	r->pad = 0;
	ct_emit_commit(rec);
	return 0;
}

static int emit(uint16_t type, uint64_t val)
{
	return emit_at(type, UINT64_MAX, NULL, val, false);
}

/* A rate-1 event with its sequence number (CT_HEAP_SEQ_LATER: taken when the event is
 * appended): to the thread's own ring (heapring.c), or to the shared rings when the thread
 * has none or is inside a push already (a signal handler). */
static void emit_direct(uint16_t type, int kind, uint64_t seq, const void *addr, uint64_t val,
			bool may_wait)
{
	int r = ct_heap_ring_push(kind, seq, (uintptr_t)addr, val, may_wait);
	if (r == -EAGAIN) {
		int saved_errno = errno; /* the ring leaves errno alone; the shared rings may not */
		emit_at(type, seq, addr, val, may_wait);
		errno = saved_errno;
	} else if (r < 0) {
		atomic_fetch_add_explicit(&heap_emit_failed, 1, memory_order_relaxed);
	}
}

static __attribute__((noinline)) void alloc_slow(void *p, size_t size, uintptr_t ra,
						 uintptr_t ra_slot)
{
	int st = atomic_load_explicit(&heap_state, memory_order_acquire);
	if (st != HEAP_RECORDING || !ct_active()) {
		/* Not recording: before start (keep checking), heap mode off, finished or in a
		 * fork child (stop checking); in the constructor's window, between start and
		 * activation (keep checking). */
		if (st == HEAP_DONE || (st == HEAP_IDLE && ct_active()))
			set_countdown(COUNTDOWN_NEVER);
		else
			set_countdown(-1);
		return;
	}
	if (!tls_rng) {
		/* The thread's first draw: this allocation only counts against it. */
		tls_rng = ct_heap_seed(
			(uintptr_t)&tls_rng ^ ct_now() ^
			(atomic_fetch_add_explicit(&seed_counter, 1, memory_order_relaxed) << 40));
		if (heap_rate > 1) {
			int64_t c = (int64_t)((uint64_t)ct_heap_next_sample(&tls_rng, heap_rate) -
					      size);
			set_countdown(c);
			if (c >= 0)
				return;
		}
	}
	set_countdown(heap_direct ? -1 : ct_heap_next_sample(&tls_rng, heap_rate));
	if (!p || !ct_guard_enter())
		return;
	int saved_errno = errno; /* the program must not see the unwinder's or ring's errno */
	/* Not the loader's: its allocations run inside TLS updates, which a capture's own TLS
	 * access would re-enter (heapdivert.c). Counted, with no stack. */
	uint32_t id =
		ct_heap_from_loader(ra) ? 0 : ct_ann_stack(ct_stackcache_capture(ra, ra_slot));
	if (id >> (64 - CT_HEAP_SIZE_BITS))
		id = 0; /* beyond what a table value holds: "no stack" rather than a wrong one */
	uint64_t val = ct_heap_pack(id, size);
	ct_heap_table *t = atomic_load_explicit(&tbl, memory_order_acquire);
	if (heap_direct) {
		/* The number is taken after the real call: before any free of p can take its. */
		emit_direct(CT_EV_HEAP_ALLOC_AT, CT_HEAP_RING_ALLOC, CT_HEAP_SEQ_LATER, p, val,
			    true);
	} else if (table_insert(t, p, val) == 0) {
		uint64_t v;
		if (emit(CT_EV_HEAP_ALLOC, val) <
		    0) /* lost: forget the block, or its free is unmatched */
			table_remove(t, p, &v);
	} else {
		emit(CT_EV_HEAP_UNTRACKED, val);
	}
	errno = saved_errno;
	ct_guard_exit();
}

/* A block that may be sampled is being freed: forget it and report the free. The guard is
 * not needed (nothing here allocates or recurses) and not checked, so that a signal
 * handler freeing a sampled block inside our own slow path is still counted. */
/* At rate 1 (heap_direct) there is nothing to forget: *val receives CT_HEAP_SEQ_LATER,
 * and report_free's event takes its sequence number when it is appended — still before
 * the real free, so that it is smaller than that of any later allocation of the same
 * address, and after any wait for room, so that no number stays outstanding meanwhile. */
static __attribute__((noinline)) bool forget(void *p, uint64_t *val)
{
	if (heap_direct) {
		*val = CT_HEAP_SEQ_LATER;
		return recording();
	}
	ct_heap_table *t = atomic_load_explicit(&tbl, memory_order_acquire);
	return table_remove(t, p, val);
}

static void report_free(const void *p, uint64_t val)
{
	if (heap_direct) {
		emit_direct(CT_EV_HEAP_FREE_AT, CT_HEAP_RING_FREE, val, p, 0, !ct_tls_guard);
		return;
	}
	int saved_errno = errno;
	if (recording())
		emit(CT_EV_HEAP_FREE, val);
	errno = saved_errno;
}

/* The free fast path: one byte of the free filter. Hot. */
static inline __attribute__((always_inline)) bool maybe_sampled(const void *p)
{
	unsigned b = filter_bucket(p);
	return filter_count(atomic_load_explicit(&free_filter[b / 16], memory_order_relaxed), b) !=
	       0;
}

/* ---- the hooks ---- */

/* malloc's sampled path: the real call, then alloc_slow (which redraws the countdown). */
static __attribute__((noinline)) void *malloc_slow(size_t size, uintptr_t ra, uintptr_t ra_slot)
{
	/* Diverted: the loader's call, or a handler's that interrupted the capture (its own
	 * allocator, unsampled: the countdown stays "due" until the capture ends). */
	if (__builtin_expect(ct_heap_tls_divert, 0))
		return ct_heap_divertible(ra) ? ct_heap_divert_alloc(0, size)
					      : ct_heap_real.malloc(size);
	void *p = ct_heap_real.malloc(size);
	alloc_slow(p, size, ra, ra_slot);
	return p;
}

/* The countdown is charged before the real call, so that the common malloc ends in a tail
 * call (no frame of its own: a TLS subtraction, a branch and a jump). */
CT_HOT_FN CT_EXPORT void *malloc(size_t size)
{
	int64_t *cd = countdown();
	int64_t c = add_size(*cd, size);
	if (__builtin_expect(slow_due(c, size), 0))
		return malloc_slow(size, (uintptr_t)__builtin_return_address(0),
				   (uintptr_t)__builtin_dwarf_cfa() - sizeof(uintptr_t));
	*cd = c;
	return ct_heap_real.malloc(size);
}

/* Forgets p if sampled, and reports its free: before the real free, after which the
 * address may be handed out and sampled again by another thread. */
void ct_heap_forget_block(void *p)
{
	uint64_t val;
	if (p && maybe_sampled(p) && forget(p, &val))
		report_free(p, val);
}

/* A sampled block, an arena block, or a diverted thread's (heapdivert.c) is freed. */
static __attribute__((noinline)) void free_slow(void *p, uintptr_t ra)
{
	if (ct_heap_in_arena(p)) {
		ct_heap_arena_release(p);
		return;
	}
	ct_heap_forget_block(p);
	if (p && ct_heap_tls_divert && ct_heap_divertible(ra))
		ct_heap_put_aside(p);
	else
		ct_heap_real.free(p);
}

CT_HOT_FN CT_EXPORT void free(void *p)
{
	if (__builtin_expect(maybe_sampled(p) | ct_heap_in_arena(p) | ct_heap_diverting(), 0)) {
		free_slow(p, (uintptr_t)__builtin_return_address(0));
		return;
	}
	ct_heap_real.free(p); /* a tail call: the common free adds a hash, a filter load and two
			       * compares */
}

/* calloc's sampled path, as malloc's (a diverted thread's countdown is always due). */
static __attribute__((noinline)) void *calloc_slow(size_t n, size_t size, uintptr_t ra,
						   uintptr_t ra_slot)
{
	if (__builtin_expect(ct_heap_tls_divert, 0))
		return ct_heap_divertible(ra) ? ct_heap_divert_calloc(n, size)
					      : ct_heap_real.calloc(n, size);
	void *p = ct_heap_real.calloc(n, size);
	alloc_slow(p, n * size, ra, ra_slot);
	return p;
}

/* As malloc: the countdown is charged first, and the common calloc ends in a tail call. */
CT_HOT_FN CT_EXPORT void *calloc(size_t n, size_t size)
{
	int64_t *cd = countdown();
	int64_t c = add_size(*cd, n * size);
	if (__builtin_expect(slow_due(c, n * size), 0))
		return calloc_slow(n, size, (uintptr_t)__builtin_return_address(0),
				   (uintptr_t)__builtin_dwarf_cfa() - sizeof(uintptr_t));
	*cd = c;
	return ct_heap_real.calloc(n, size);
}

/* realloc and reallocarray: the old block is forgotten before the real call (after it,
 * the address may be reused); when the call fails it is still live and goes back. */
static inline __attribute__((always_inline)) bool realloc_forget(void *p, uint64_t *val)
{
	if (!p || !__builtin_expect(maybe_sampled(p), 0) || !forget(p, val))
		return false;
	if (heap_direct) /* now: once the real call returns, p may be another thread's */
		*val = next_seq();
	return true;
}

static void realloc_settle(void *p, void *q, size_t size, uint64_t val)
{
	if (!q && size != 0) { /* failed: p is untouched */
		if (heap_direct) {
			int saved_errno = errno; /* ENOMEM from the real call */
			emit_direct(CT_EV_HEAP_NONE, CT_HEAP_RING_NONE, val, NULL, 0,
				    !ct_tls_guard);
			errno = saved_errno;
			return;
		}
		ct_heap_table *t = atomic_load_explicit(&tbl, memory_order_acquire);
		if (table_insert(t, p, val) < 0)
			report_free(p, val);
		return;
	}
	report_free(p, val);
}

CT_WARM_FN CT_EXPORT void *realloc(void *p, size_t size)
{
	if (ct_heap_divert_call((uintptr_t)__builtin_return_address(0)))
		return ct_heap_divert_realloc(p, size);
	if (__builtin_expect(ct_heap_in_arena(p), 0))
		return ct_heap_arena_realloc(p, size);
	uint64_t val;
	bool had = realloc_forget(p, &val);
	void *q = ct_heap_real.realloc(p, size);
	if (__builtin_expect(had, 0))
		realloc_settle(p, q, size, val);
	if (q)
		note_alloc(q, size);
	return q;
}

CT_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (ct_heap_divert_call((uintptr_t)__builtin_return_address(0)))
		return ct_heap_divert_realloc(p, total);
	if (__builtin_expect(ct_heap_in_arena(p), 0))
		return ct_heap_arena_realloc(p, total);
	uint64_t val;
	bool had = realloc_forget(p, &val);
	void *q = ct_heap_real.reallocarray(p, n, size);
	if (__builtin_expect(had, 0))
		realloc_settle(p, q, total, val);
	if (q)
		note_alloc(q, total);
	return q;
}

CT_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (ct_heap_divert_call((uintptr_t)__builtin_return_address(0)))
		return ct_heap_divert_memalign(out, align, size);
	int r = ct_heap_real.posix_memalign(out, align, size);
	if (r == 0)
		note_alloc(*out, size);
	return r;
}

CT_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (ct_heap_divert_call((uintptr_t)__builtin_return_address(0)))
		return ct_heap_divert_memalign_p(align, size);
	void *p = ct_heap_real.aligned_alloc(align, size);
	if (p)
		note_alloc(p, size);
	return p;
}

CT_EXPORT void *memalign(size_t align, size_t size)
{
	if (ct_heap_divert_call((uintptr_t)__builtin_return_address(0)))
		return ct_heap_divert_memalign_p(align, size);
	void *p = ct_heap_real.memalign(align, size);
	if (p)
		note_alloc(p, size);
	return p;
}

CT_EXPORT void *valloc(size_t size)
{
	if (ct_heap_divert_call((uintptr_t)__builtin_return_address(0)))
		return ct_heap_divert_memalign_p(4096, size);
	void *p = ct_heap_real.valloc(size);
	if (p)
		note_alloc(p, size);
	return p;
}

CT_EXPORT void *pvalloc(size_t size)
{
	if (ct_heap_divert_call((uintptr_t)__builtin_return_address(0)))
		return ct_heap_divert_memalign_p(4096, (size + 4095) & ~(size_t)4095);
	void *p = ct_heap_real.pvalloc(size);
	if (p)
		note_alloc(p, size);
	return p;
}

CT_HOT_FN CT_EXPORT size_t malloc_usable_size(void *p)
{
	if (__builtin_expect(ct_heap_in_arena(p), 0))
		return ct_heap_arena_size(p);
	return ct_heap_real.malloc_usable_size(p);
}

/* ---- start and stop (the heap source, heapsrc.c) ---- */

/* Size of the table's largest level: room for the sampled blocks of a 4 GiB live heap,
 * twice over. The table starts small (heapsample.h) and grows as blocks pile up. */
static unsigned table_bits(uint64_t rate)
{
	unsigned bits = 16;
	uint64_t want = rate <= 1 ? UINT64_MAX : (UINT64_C(8) << 30) / rate;
	while (bits < 22 && ((uint64_t)1 << bits) < want)
		bits++;
	return bits;
}

/* A forked child does not record (main.c): its allocations stop visiting alloc_slow. */
static void heap_atfork_child(void)
{
	/* Relaxed: only the forking thread exists in the child. */
	atomic_store_explicit(&heap_state, HEAP_DONE, memory_order_relaxed);
}

/* Publishes the table (or the rate-1 direct mode) and starts sampling: the release stores
 * make the table visible to every hook that sees HEAP_RECORDING (acquire). */
int ct_heap_hooks_start(uint64_t rate)
{
	heap_rate = rate;
	__atomic_store_n(&countdown_off, ct_tls_offset(&tls_countdown_not), __ATOMIC_RELAXED);
	pthread_atfork(NULL, NULL, heap_atfork_child);
	if (heap_rate <= 1) {
		int r = ct_heap_ring_init();
		if (r < 0)
			return r;
		heap_direct = 1;
		/* Relaxed: published with heap_state (release), which every allocation that
		 * reaches the ring read first (acquire). */
		for (size_t i = 0; i < sizeof(free_filter) / sizeof(free_filter[0]); i++)
			atomic_store_explicit(&free_filter[i], UINT64_MAX, memory_order_relaxed);
		atomic_store_explicit(&heap_state, HEAP_RECORDING, memory_order_release);
		return 0;
	}
	unsigned bits = table_bits(heap_rate);
	size_t bytes = ct_heap_table_bytes(bits);
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED || ct_heap_table_init(&live_table, mem, bits) < 0) {
		int e = mem == MAP_FAILED ? -errno : -EINVAL;
		if (mem != MAP_FAILED)
			munmap(mem, bytes);
		return e;
	}
	/* Probes land anywhere in the table: huge pages spare most of the TLB misses. */
	madvise(mem, bytes, MADV_HUGEPAGE);
	atomic_store_explicit(&tbl, &live_table, memory_order_release);
	atomic_store_explicit(&heap_state, HEAP_RECORDING, memory_order_release);
	return 0;
}

/* The table stays mapped: the program keeps freeing blocks after we are done. */
void ct_heap_hooks_stop(void)
{
	atomic_store_explicit(&heap_state, HEAP_DONE, memory_order_release);
}

/* Relaxed: counters read for a comment at exit. */
void ct_heap_hooks_get_stats(ct_heap_hooks_stats *st)
{
	*st = (ct_heap_hooks_stats){
		.direct = heap_direct,
		.emit_failed = atomic_load_explicit(&heap_emit_failed, memory_order_relaxed),
		.seq_end = atomic_load_explicit(&heap_seq.next, memory_order_relaxed),
		.untracked = atomic_load_explicit(&live_table.full, memory_order_relaxed),
		.level = ct_heap_table_top(&live_table),
		.nlevels = live_table.nlevels,
	};
}
