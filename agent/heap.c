/*
 * heap.c — the heap profiler: malloc-family hooks, byte sampling, and the heap source.
 *
 * Hooks (program threads). Every malloc-family function is interposed. The common path
 * is the real call plus, for allocations, one subtraction from a per-thread byte countdown
 * (initial-exec TLS) and, for frees, one byte load from the sampled-block table's filter.
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
 * Real functions are found once, on the first call of any hook, with dlsym(RTLD_NEXT), so
 * a program that brings its own allocator keeps it; glibc's __libc_* entry points are the
 * fallback when dlsym finds nothing. Until then every function pointer is a "boot" stub
 * that resolves; anything allocated while dlsym runs (it may call calloc) comes from a
 * small static arena whose blocks free, realloc and malloc_usable_size recognise.
 *
 * The hooks work before the constructor and after the destructor (they call straight
 * through), with the guard set (the agent's own allocations are never sampled), in
 * signal handlers (nothing here takes a lock or allocates) and across fork.
 *
 * Collector side (the heap source): records feed a ct_heap_agg; at exit heap.pb.gz and
 * heap-peak.pb.gz are written with Go's sample types and Go's unsampling.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/stackcache.h"
#include "libtrace/clock.h"
#include "libtrace/heapagg.h"
#include "libtrace/heapsample.h"

#define IE __attribute__((tls_model("initial-exec")))

enum {
	REC_ALLOC = CT_REC_HEAP_FIRST, /* a sampled allocation, remembered in the table */
	REC_FREE,		       /* the free of a remembered block */
	REC_UNTRACKED,		       /* a sampled allocation the table had no room for */
	REC_ALLOC_AT,		       /* rate 1: an allocation, matched by the collector */
	REC_FREE_AT,		       /* rate 1: the free of an address */
	REC_NONE,		       /* rate 1: a sequence number a failed realloc used */
};

typedef struct {
	uint64_t seq;  /* from heap_seq: the order of all heap events */
	uint64_t size; /* requested bytes */
	uint64_t addr; /* the block, in the *_AT records */
	uint32_t stack;
	uint32_t pad;
} heap_rec;

/* ---- real functions and the bootstrap arena ---- */

typedef struct {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
} real_fns;

static void *boot_malloc(size_t size);
static void boot_free(void *p);
static void *boot_calloc(size_t n, size_t size);
static void *boot_realloc(void *p, size_t size);
static void *boot_reallocarray(void *p, size_t n, size_t size);
static int boot_posix_memalign(void **out, size_t align, size_t size);
static void *boot_aligned_alloc(size_t align, size_t size);
static void *boot_memalign(size_t align, size_t size);
static void *boot_valloc(size_t size);
static void *boot_pvalloc(size_t size);
static size_t boot_malloc_usable_size(void *p);

/* Written once by resolve() before resolve_state is released; a thread that still reads
 * a boot stub's address just goes through resolve(), which then returns at once. */
static real_fns real = {
	boot_malloc,
	boot_free,
	boot_calloc,
	boot_realloc,
	boot_reallocarray,
	boot_posix_memalign,
	boot_aligned_alloc,
	boot_memalign,
	boot_valloc,
	boot_pvalloc,
	boot_malloc_usable_size,
};

/* glibc's own entry points, used only if dlsym(RTLD_NEXT) finds nothing. */
extern void *__libc_malloc(size_t) __attribute__((weak));
extern void __libc_free(void *) __attribute__((weak));
extern void *__libc_calloc(size_t, size_t) __attribute__((weak));
extern void *__libc_realloc(void *, size_t) __attribute__((weak));
extern void *__libc_memalign(size_t, size_t) __attribute__((weak));
extern void *__libc_valloc(size_t) __attribute__((weak));
extern void *__libc_pvalloc(size_t) __attribute__((weak));

#define ARENA_BYTES (128u << 10)
#define ARENA_HDR 16u
static _Alignas(4096) unsigned char arena[ARENA_BYTES];
static _Atomic size_t arena_used;

static _Atomic int resolve_state; /* 0 = not yet, 1 = in progress, 2 = done */
static __thread int tls_resolving IE;

static inline int in_arena(const void *p)
{
	return (uintptr_t)p - (uintptr_t)arena < ARENA_BYTES;
}

/* Bump allocation; blocks are never reused (the arena only serves dlsym's few bytes).
 * The block size sits in the ARENA_HDR bytes before the block. BSS is zeroed, so
 * calloc needs nothing more. */
static void *arena_alloc(size_t align, size_t size)
{
	if (align < ARENA_HDR)
		align = ARENA_HDR;
	if (size > ARENA_BYTES || (align & (align - 1)) || align > 4096) {
		errno = ENOMEM;
		return NULL;
	}
	size_t old = atomic_load_explicit(&arena_used, memory_order_relaxed), start, end;
	do {
		start = (old + ARENA_HDR + align - 1) & ~(align - 1);
		end = start + size;
		if (end > ARENA_BYTES) {
			errno = ENOMEM;
			return NULL;
		}
	} while (!atomic_compare_exchange_weak_explicit(
		&arena_used, &old, end, memory_order_relaxed, memory_order_relaxed));
	memcpy(arena + start - ARENA_HDR, &size, sizeof size);
	return arena + start;
}

static size_t arena_size(const void *p)
{
	size_t size;
	memcpy(&size, (const unsigned char *)p - ARENA_HDR, sizeof size);
	return size;
}

#define RESOLVE(field, name, fallback)                                                             \
	do {                                                                                       \
		void *f_ = dlsym(RTLD_NEXT, name);                                                 \
		if (!f_)                                                                           \
			f_ = (void *)(fallback);                                                   \
		if (f_)                                                                            \
			memcpy(&r.field, &f_, sizeof f_);                                          \
	} while (0)

static void *nomem(void)
{
	errno = ENOMEM;
	return NULL;
}

/* reallocarray for a glibc older than 2.26, which lacks it. */
static void *emulated_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		return nomem();
	return real.realloc(p, total);
}

/* Finds the real functions. Returns 1 when the caller is inside the resolution on this
 * thread (dlsym allocating) and must use the arena, 0 once real is usable. */
static int resolve(void)
{
	if (tls_resolving)
		return 1;
	int st = 0;
	if (atomic_compare_exchange_strong_explicit(&resolve_state, &st, 1, memory_order_acquire,
						    memory_order_acquire)) {
		tls_resolving = 1;
		real_fns r = {0};
		RESOLVE(malloc, "malloc", __libc_malloc);
		RESOLVE(free, "free", __libc_free);
		RESOLVE(calloc, "calloc", __libc_calloc);
		RESOLVE(realloc, "realloc", __libc_realloc);
		RESOLVE(reallocarray, "reallocarray", emulated_reallocarray);
		RESOLVE(posix_memalign, "posix_memalign", 0);
		RESOLVE(aligned_alloc, "aligned_alloc", __libc_memalign);
		RESOLVE(memalign, "memalign", __libc_memalign);
		RESOLVE(valloc, "valloc", __libc_valloc);
		RESOLVE(pvalloc, "pvalloc", __libc_pvalloc);
		RESOLVE(malloc_usable_size, "malloc_usable_size", 0);
		/* Every one exists in any glibc (reallocarray is emulated before 2.26). */
		if (!r.malloc || !r.free || !r.calloc || !r.realloc || !r.reallocarray ||
		    !r.posix_memalign || !r.aligned_alloc || !r.memalign || !r.valloc ||
		    !r.pvalloc || !r.malloc_usable_size)
			abort();
		real = r;
		tls_resolving = 0;
		/* Release: the stores to real happen before any thread sees state 2. */
		atomic_store_explicit(&resolve_state, 2, memory_order_release);
		return 0;
	}
	while (atomic_load_explicit(&resolve_state, memory_order_acquire) != 2)
		sched_yield();
	return 0;
}

static void *boot_malloc(size_t size)
{
	return resolve() ? arena_alloc(16, size) : real.malloc(size);
}
static void boot_free(void *p)
{
	if (in_arena(p))
		return;
	if (!resolve())
		real.free(p);
}
static void *boot_calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		return nomem();
	return resolve() ? arena_alloc(16, total) : real.calloc(n, size);
}
static void *boot_realloc(void *p, size_t size)
{
	if (resolve()) {
		void *q = arena_alloc(16, size);
		if (q && p)
			memcpy(q, p, in_arena(p) && arena_size(p) < size ? arena_size(p) : size);
		return q;
	}
	return real.realloc(p, size);
}
static void *boot_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		return nomem();
	if (resolve())
		return boot_realloc(p, total);
	return real.reallocarray(p, n, size);
}
static int boot_posix_memalign(void **out, size_t align, size_t size)
{
	if (resolve()) {
		void *q = arena_alloc(align, size);
		if (!q)
			return ENOMEM;
		*out = q;
		return 0;
	}
	return real.posix_memalign(out, align, size);
}
static void *boot_aligned_alloc(size_t align, size_t size)
{
	if (resolve())
		return arena_alloc(align, size);
	return real.aligned_alloc(align, size);
}
static void *boot_memalign(size_t align, size_t size)
{
	if (resolve())
		return arena_alloc(align, size);
	return real.memalign(align, size);
}
static void *boot_valloc(size_t size)
{
	if (resolve())
		return arena_alloc(4096, size);
	return real.valloc(size);
}
static void *boot_pvalloc(size_t size)
{
	if (resolve())
		return arena_alloc(4096, (size + 4095) & ~(size_t)4095);
	return real.pvalloc(size);
}
static size_t boot_malloc_usable_size(void *p)
{
	if (in_arena(p))
		return arena_size(p);
	if (resolve())
		return 0;
	return real.malloc_usable_size(p);
}

/* ---- sampling state ---- */

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
static _Atomic uint64_t heap_emit_failed;

/* The free fast path reads tbl; until start() publishes the real table it points at an
 * empty one, whose filter answers "no" for every address. */
static _Alignas(16) unsigned char empty_mem[16 * sizeof(ct_heap_slot) + 16];
static ct_heap_table empty_table = {
	.level = {{
		.slots = (ct_heap_slot *)empty_mem,
		.filter = (_Atomic uint8_t *)(empty_mem + 16 * sizeof(ct_heap_slot)),
		.bits = 4,
		.probes = 16,
	}},
	.nlevels = 1,
};
static ct_heap_table live_table;
static ct_heap_table *_Atomic tbl = &empty_table;

/* At rate 1 every block is sampled, so the hooks keep no table: allocations and frees go
 * to the collector with their addresses and the aggregator matches them (heapagg.h) —
 * off the program's threads, and with no cache-missing table probe on them. tbl then
 * points at direct_table, whose saturated filter sends every free to free_slow. */
static int heap_direct;
static _Alignas(16) unsigned char direct_mem[16 * sizeof(ct_heap_slot) + 16];
static ct_heap_table direct_table = {
	.level = {{
		.slots = (ct_heap_slot *)direct_mem,
		.filter = (_Atomic uint8_t *)(direct_mem + 16 * sizeof(ct_heap_slot)),
		.bits = 4,
		.probes = 16,
	}},
	.nlevels = 1,
};

/* Bytes this thread may still allocate before the next sample. Negative (-1) while the
 * agent is not recording, so every allocation re-checks (and from the start, so that a
 * thread's first allocation always gets there); huge when heap profiling is off. */
static __thread int64_t tls_countdown IE = -1;
static __thread uint64_t tls_rng IE; /* 0 until the thread's first sampled-path visit */
static _Atomic uint64_t seed_counter;

#define COUNTDOWN_NEVER (INT64_C(1) << 62)

static inline int64_t sub_size(int64_t countdown, size_t size)
{
	return (int64_t)((uint64_t)countdown - (uint64_t)size);
}

static __attribute__((noinline)) void alloc_slow(void *p, size_t size, uintptr_t ra,
						 uintptr_t ra_slot);

/* The allocation fast path: one TLS subtraction; hot, allocation-free. Always inlined
 * into the exported hook, so that the return address and CFA it passes on are the hook's:
 * where the program's stack starts (stackcache.h). */
static inline __attribute__((always_inline)) void note_alloc(void *p, size_t size)
{
	tls_countdown = sub_size(tls_countdown, size);
	if (__builtin_expect(tls_countdown < 0, 0))
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

static bool recording(void)
{
	return atomic_load_explicit(&heap_state, memory_order_acquire) == HEAP_RECORDING &&
	       ct_agent_active;
}

/* At rate 1 a full ring makes the program wait for the collector rather than lose the
 * event (a profile that is meant to be exact would silently not be): wake it, yield, then
 * nap, for at most ~20 ms. Only where the caller says it may (may_wait): an allocation
 * on a program thread, or a free outside the agent — never on the collector thread or in
 * agent code (whose guard is set), where the wait could be for ourselves. */
static ct_rec *reserve_waiting(uint16_t type, bool may_wait)
{
	if (heap_direct && may_wait && !ct_emit_has_room(sizeof(heap_rec))) {
		ct_collector_wake();
		for (int i = 0; i < 2100 && recording() && !ct_emit_has_room(sizeof(heap_rec));
		     i++) {
			if (i < 100) {
				sched_yield();
			} else {
				struct timespec nap = {0, 10000};
				nanosleep(&nap, NULL);
			}
		}
	}
	return ct_emit_reserve(type, sizeof(heap_rec));
}

/* emit with the block's address and a sequence number taken by the caller. */
static int emit_at(uint16_t type, uint64_t seq, const void *addr, uint64_t val, bool may_wait)
{
	ct_rec *rec = reserve_waiting(type, may_wait);
	if (!rec) {
		atomic_fetch_add_explicit(&heap_emit_failed, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	rec->tid = ct_gettid();
	rec->time = coarse_now();
	heap_rec *r = ct_rec_payload(rec);
	r->seq = seq == UINT64_MAX ? next_seq() : seq;
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

static __attribute__((noinline)) void alloc_slow(void *p, size_t size, uintptr_t ra,
						 uintptr_t ra_slot)
{
	int st = atomic_load_explicit(&heap_state, memory_order_acquire);
	if (st != HEAP_RECORDING || !ct_agent_active) {
		/* Not recording: before start (keep checking), heap mode off, finished or in a
		 * fork child (stop checking); in the constructor's window, between start and
		 * activation (keep checking). */
		if (st == HEAP_DONE || (st == HEAP_IDLE && ct_agent_active))
			tls_countdown = COUNTDOWN_NEVER;
		else
			tls_countdown = -1;
		return;
	}
	if (!tls_rng) {
		/* The thread's first draw: this allocation only counts against it. */
		tls_rng = ct_heap_seed(
			(uintptr_t)&tls_rng ^ ct_now() ^
			(atomic_fetch_add_explicit(&seed_counter, 1, memory_order_relaxed) << 40));
		if (heap_rate > 1) {
			tls_countdown = sub_size(ct_heap_next_sample(&tls_rng, heap_rate), size);
			if (tls_countdown >= 0)
				return;
		}
	}
	tls_countdown = ct_heap_next_sample(&tls_rng, heap_rate);
	if (!p || !ct_guard_enter())
		return;
	int saved_errno = errno; /* the program must not see the unwinder's or ring's errno */
	uint32_t id = ct_stackcache_capture(ra, ra_slot);
	if (id >> (64 - CT_HEAP_SIZE_BITS))
		id = 0; /* beyond what a table value holds: "no stack" rather than a wrong one */
	uint64_t val = ct_heap_pack(id, size);
	ct_heap_table *t = atomic_load_explicit(&tbl, memory_order_acquire);
	if (heap_direct) {
		/* The number is taken after the real call: before any free of p can take its. */
		emit_at(REC_ALLOC_AT, UINT64_MAX, p, val, true);
	} else if (ct_heap_table_insert(t, (uintptr_t)p, val) == 0) {
		uint64_t v;
		if (emit(REC_ALLOC, val) < 0) /* lost: forget the block, or its free is unmatched */
			ct_heap_table_remove(t, (uintptr_t)p, &v);
	} else {
		emit(REC_UNTRACKED, val);
	}
	errno = saved_errno;
	ct_guard_exit();
}

/* A block that may be sampled is being freed: forget it and report the free. The guard is
 * not needed (nothing here allocates or recurses) and not checked, so that a signal
 * handler freeing a sampled block inside our own slow path is still counted. */
/* At rate 1 (heap_direct) there is nothing to forget: *val receives the sequence number
 * of the coming free, taken while p is still allocated, so that it is smaller than that
 * of any later allocation of the same address; report_free then sends it. */
static __attribute__((noinline)) bool forget(void *p, uint64_t *val)
{
	if (heap_direct) {
		if (!recording())
			return false;
		*val = next_seq();
		return true;
	}
	ct_heap_table *t = atomic_load_explicit(&tbl, memory_order_acquire);
	return ct_heap_table_remove(t, (uintptr_t)p, val);
}

static void report_free(const void *p, uint64_t val)
{
	int saved_errno = errno;
	if (heap_direct)
		emit_at(REC_FREE_AT, val, p, 0, !ct_tls_guard);
	else if (recording())
		emit(REC_FREE, val);
	errno = saved_errno;
}

/* The free fast path: one load of the table pointer and one filter byte. Hot. */
static inline __attribute__((always_inline)) bool maybe_sampled(const void *p)
{
	const ct_heap_table *t = atomic_load_explicit(&tbl, memory_order_acquire);
	return ct_heap_table_maybe(t, (uintptr_t)p);
}

/* ---- the hooks ---- */

CT_EXPORT void *malloc(size_t size)
{
	void *p = real.malloc(size);
	note_alloc(p, size);
	return p;
}

/* A block that may be sampled, or one from the arena, is being freed. */
static __attribute__((noinline)) void free_slow(void *p)
{
	if (in_arena(p))
		return;
	uint64_t val;
	/* Forget before the real free: once freed, the address may be handed out and sampled
	 * again by another thread. */
	if (p && forget(p, &val))
		report_free(p, val);
	real.free(p);
}

CT_EXPORT void free(void *p)
{
	if (__builtin_expect(maybe_sampled(p) | in_arena(p), 0)) {
		free_slow(p);
		return;
	}
	real.free(p); /* a tail call: the common free adds a filter load and two compares */
}

CT_EXPORT void *calloc(size_t n, size_t size)
{
	void *p = real.calloc(n, size);
	if (p)
		note_alloc(p, n * size);
	return p;
}

/* realloc and reallocarray: the old block is forgotten before the real call (after it,
 * the address may be reused); when the call fails it is still live and goes back. */
static inline __attribute__((always_inline)) bool realloc_forget(void *p, uint64_t *val)
{
	return p && __builtin_expect(maybe_sampled(p), 0) && forget(p, val);
}

static void realloc_settle(void *p, void *q, size_t size, uint64_t val)
{
	if (!q && size != 0) { /* failed: p is untouched */
		if (heap_direct) {
			int saved_errno = errno; /* ENOMEM from the real call */
			emit_at(REC_NONE, val, NULL, 0, !ct_tls_guard);
			errno = saved_errno;
			return;
		}
		ct_heap_table *t = atomic_load_explicit(&tbl, memory_order_acquire);
		if (ct_heap_table_insert(t, (uintptr_t)p, val) < 0)
			report_free(p, val);
		return;
	}
	report_free(p, val);
}

static void *arena_realloc(void *p, size_t size)
{
	void *q = real.malloc(size ? size : 1);
	if (q)
		memcpy(q, p, arena_size(p) < size ? arena_size(p) : size);
	return q;
}

CT_EXPORT void *realloc(void *p, size_t size)
{
	if (__builtin_expect(in_arena(p), 0))
		return arena_realloc(p, size);
	uint64_t val;
	bool had = realloc_forget(p, &val);
	void *q = real.realloc(p, size);
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
	if (__builtin_expect(in_arena(p), 0))
		return arena_realloc(p, total);
	uint64_t val;
	bool had = realloc_forget(p, &val);
	void *q = real.reallocarray(p, n, size);
	if (__builtin_expect(had, 0))
		realloc_settle(p, q, total, val);
	if (q)
		note_alloc(q, total);
	return q;
}

CT_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	int r = real.posix_memalign(out, align, size);
	if (r == 0)
		note_alloc(*out, size);
	return r;
}

CT_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	void *p = real.aligned_alloc(align, size);
	if (p)
		note_alloc(p, size);
	return p;
}

CT_EXPORT void *memalign(size_t align, size_t size)
{
	void *p = real.memalign(align, size);
	if (p)
		note_alloc(p, size);
	return p;
}

CT_EXPORT void *valloc(size_t size)
{
	void *p = real.valloc(size);
	if (p)
		note_alloc(p, size);
	return p;
}

CT_EXPORT void *pvalloc(size_t size)
{
	void *p = real.pvalloc(size);
	if (p)
		note_alloc(p, size);
	return p;
}

CT_EXPORT size_t malloc_usable_size(void *p)
{
	if (__builtin_expect(in_arena(p), 0))
		return arena_size(p);
	return real.malloc_usable_size(p);
}

/* ---- the heap source (collector thread) ---- */

static ct_heap_agg *agg;
static uint64_t heap_start_ns;
static uint64_t agg_errors;

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
	atomic_store_explicit(&heap_state, HEAP_DONE, memory_order_relaxed);
}

static int heap_start(void)
{
	heap_rate = ct_cfg.heap_rate ? ct_cfg.heap_rate : 512 * 1024;
	ct_stackcache_init();
	/* The reorder window must span what the rings can hold (2 x 4 MiB of 64-byte records
	 * on this kind of machine) while one thread sits on a sequence number; at rate 1,
	 * where a late event can mismatch an address, make it 2^18 events. */
	agg = ct_heap_agg_new(heap_rate, heap_rate <= 1 ? 18 : 16);
	if (!agg)
		return -ENOMEM;
	heap_start_ns = ct_now();
	pthread_atfork(NULL, NULL, heap_atfork_child);
	if (heap_rate <= 1) {
		heap_direct = 1;
		memset(direct_mem + 16 * sizeof(ct_heap_slot), 255, 16);
		atomic_store_explicit(&tbl, &direct_table, memory_order_release);
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
		ct_heap_agg_free(agg);
		agg = NULL;
		return e;
	}
	/* Probes land anywhere in the table: huge pages spare most of the TLB misses. */
	madvise(mem, bytes, MADV_HUGEPAGE);
	atomic_store_explicit(&tbl, &live_table, memory_order_release);
	atomic_store_explicit(&heap_state, HEAP_RECORDING, memory_order_release);
	return 0;
}

static void heap_on_record(const ct_rec *rec)
{
	heap_rec r;
	if (!agg || ct_rec_payload_len(rec) < sizeof r)
		return;
	memcpy(&r, ct_rec_cpayload(rec), sizeof r);
	int kind;
	switch (rec->type) {
	case REC_ALLOC:
		kind = CT_HEAP_EV_ALLOC;
		break;
	case REC_FREE:
		kind = CT_HEAP_EV_FREE;
		break;
	case REC_UNTRACKED:
		kind = CT_HEAP_EV_UNTRACKED;
		break;
	case REC_ALLOC_AT:
		kind = CT_HEAP_EV_ALLOC_AT;
		break;
	case REC_FREE_AT:
		kind = CT_HEAP_EV_FREE_AT;
		break;
	case REC_NONE:
		kind = CT_HEAP_EV_NONE;
		break;
	default:
		return;
	}
	if (ct_heap_agg_add_at(agg, r.seq, kind, (uintptr_t)r.addr, r.stack, r.size, rec->time) < 0)
		agg_errors++;
}

static int64_t nonneg(int64_t v)
{
	return v < 0 ? 0 : v;
}

/* One profile: alloc_* from every site, inuse_* now (or at the peak). */
static void write_profile(const char *name, const ct_heap_site *sites, size_t n, bool peak)
{
	ct_profile *p = ct_out_profile_new();
	if (!p)
		return;
	if (ct_profile_add_sample_type(p, "alloc_objects", "count") < 0 ||
	    ct_profile_add_sample_type(p, "alloc_space", "bytes") < 0 ||
	    ct_profile_add_sample_type(p, "inuse_objects", "count") < 0 ||
	    ct_profile_add_sample_type(p, "inuse_space", "bytes") < 0)
		goto err;
	p->period_type.type = ct_profile_str(p, "space");
	p->period_type.unit = ct_profile_str(p, "bytes");
	p->period = (int64_t)heap_rate;
	ct_heap_agg_stats st;
	ct_heap_agg_get_stats(agg, &st);
	char c[320];
	char how[96];
	if (heap_direct)
		snprintf(how, sizeof how, "frees matched by the collector, %llu of unknown blocks",
			 (unsigned long long)st.unknown_frees);
	else
		snprintf(how, sizeof how,
			 "%llu blocks untracked (table full, grown to level %u of %u)",
			 (unsigned long long)atomic_load(&live_table.full),
			 ct_heap_table_top(&live_table) + 1, live_table.nlevels);
	snprintf(c, sizeof c,
		 "ctrace heap: rate %llu bytes; %llu sampled events; %llu lost (ring full), "
		 "%llu applied out of order, %s",
		 (unsigned long long)heap_rate, (unsigned long long)st.events,
		 (unsigned long long)(atomic_load(&heap_emit_failed) + agg_errors),
		 (unsigned long long)st.late, how);
	ct_profile_add_comment(p, c);
	ct_stackcache_stats_t sc;
	ct_stackcache_stats(&sc);
	snprintf(c, sizeof c,
		 "ctrace heap stacks: %llu from the stack cache, %llu cursor walks, %llu cache "
		 "mismatches (counted under CTRACE_STACK_VERIFY=1)",
		 (unsigned long long)sc.hits, (unsigned long long)sc.walks,
		 (unsigned long long)sc.mismatches);
	ct_profile_add_comment(p, c);
	if (peak) {
		double at = st.peak_time > heap_start_ns ? (st.peak_time - heap_start_ns) / 1e9 : 0;
		snprintf(c, sizeof c,
			 "ctrace heap peak: %lld bytes in use (estimated) at %.3f s after start",
			 (long long)st.peak_est, at);
		ct_profile_add_comment(p, c);
	}
	for (size_t i = 0; i < n; i++) {
		const ct_heap_site *s = &sites[i];
		int64_t v[4];
		ct_heap_unsample(s->alloc_objects, s->alloc_bytes, heap_rate, &v[0], &v[1]);
		ct_heap_unsample(nonneg(peak ? s->peak_objects : s->inuse_objects),
				 nonneg(peak ? s->peak_bytes : s->inuse_bytes), heap_rate, &v[2],
				 &v[3]);
		if (!v[0] && !v[1] && !v[2] && !v[3] && !s->alloc_objects)
			continue;
		/* Block size; a per-stack site (rate 1) has its average. */
		ct_label l = {.key = "bytes",
			      .num = s->size		? (int64_t)s->size
				     : s->alloc_objects ? s->alloc_bytes / s->alloc_objects
							: 0};
		if (ct_out_add_stack(p, s->stack, v, &l, 1) < 0)
			goto err;
	}
	ct_out_write(p, name);
	return;
err:
	ct_log("heap: cannot build %s", name);
	ct_profile_free(p);
}

static void heap_finish(void)
{
	atomic_store_explicit(&heap_state, HEAP_DONE, memory_order_release);
	if (!agg)
		return;
	if (ct_heap_agg_flush(agg) < 0)
		agg_errors++;
	size_t n;
	const ct_heap_site *sites = ct_heap_agg_sites(agg, &n);
	if (!sites)
		return;
	write_profile(CT_FILE_HEAP, sites, n, false);
	write_profile(CT_FILE_HEAP_PEAK, sites, n, true);
	/* The table stays mapped: the program keeps freeing blocks after we are done. */
	ct_heap_agg_free(agg);
	agg = NULL;
}

CT_SOURCE(heap_source) = {
	.name = "heap",
	.mode = CT_MODE_HEAP,
	.type_min = CT_REC_HEAP_FIRST,
	.type_max = CT_REC_HEAP_LAST,
	.start = heap_start,
	.on_record = heap_on_record,
	.finish = heap_finish,
};
