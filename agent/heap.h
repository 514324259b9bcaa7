/*
 * heap.h — what the heap profiler's five files share: heapboot.c (the real allocator
 * functions and the bootstrap arena), heap.c (the malloc-family hooks and the byte
 * sampling), heapdivert.c (allocations inside the agent's stack captures), heapring.c
 * (rate 1's per-thread event rings) and heapsrc.c (the heap source on the collector
 * thread). Nothing else in the agent includes it.
 */
#ifndef CT_AGENT_HEAP_H
#define CT_AGENT_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/hot.h"

/* ---- heapboot.c ---- */

/* The real functions after the agent. Until the first hook resolves them every pointer is
 * a "boot" stub that resolves, serving dlsym's own allocations from the arena. Written once
 * by the resolving thread before it publishes its state (release); a thread that still
 * reads a boot stub's address just goes through the resolution, which returns at once. */
typedef struct {
	/* The three an allocating loop calls most, on one cache line (ct_heap_real is
	 * aligned to one). */
	void *(*malloc)(size_t);
	void (*free)(void *);
	size_t (*malloc_usable_size)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
} ct_heap_real_fns;

/* Hidden, so that the hooks reach them without a GOT load. */
extern ct_heap_real_fns ct_heap_real __attribute__((visibility("hidden")));

/* The bootstrap arena: blocks handed out while dlsym runs, and to the loader, the C
 * library and libunwind inside stack captures (heapdivert.c); blocks of up to 64 KiB are
 * reused once freed (heapboot.c). BSS: a page costs memory once it is handed out. */
#define CT_HEAP_ARENA_BYTES (4096u << 10)
extern unsigned char ct_heap_arena[CT_HEAP_ARENA_BYTES] __attribute__((visibility("hidden")));

/* Whether p is an arena block (free must not pass it on). Hot: one subtraction. */
static inline int ct_heap_in_arena(const void *p)
{
	return (uintptr_t)p - (uintptr_t)ct_heap_arena < CT_HEAP_ARENA_BYTES;
}

/* The requested size of an arena block. */
size_t ct_heap_arena_size(const void *p);
/* An arena block of at least size bytes aligned to align (a power of two, at most 4096),
 * zeroed; NULL (errno ENOMEM) when the arena is used up. Any thread, lock-free. */
void *ct_heap_arena_alloc(size_t align, size_t size);
/* An arena block freed: handed out again if it is of a size class (heapboot.c). */
void ct_heap_arena_release(void *p);
/* realloc of an arena block, outside a diversion: it moves to the allocator. */
void *ct_heap_arena_realloc(void *p, size_t size);

/* ---- heapdivert.c: allocations inside the agent's stack captures ---- */

/* Set while the thread's capture runs libunwind (ct_heap_divert_begin, heap.c), and the
 * flag's offset from the thread pointer, on the hot page (0 until the constructor). */
extern __thread uint32_t ct_heap_tls_divert
	__attribute__((tls_model("initial-exec"), visibility("hidden")));
extern intptr_t ct_heap_divert_off __attribute__((visibility("hidden")));

/* Whether the calling thread is diverted: every free and the allocation hooks ask. */
static inline uint32_t ct_heap_diverting(void)
{
	/* Before the constructor took the offset no capture has run: not diverted. */
	intptr_t off = __atomic_load_n(&ct_heap_divert_off, __ATOMIC_RELAXED);
	return __builtin_expect(off != 0, 1) ? *(uint32_t *)ct_tls_at(off) : 0;
}

/* The code whose allocator calls are diverted inside a capture: [0] the loader (ld.so),
 * where the TLS vector's updates run, [1] the C library (pthread_getattr_np: a thread's
 * stack bounds, at its first learned stack), [2] libunwind.so.8 (set by stack.c). Set
 * before recording starts, read-only afterwards; { 0, 0 } matches nothing. */
typedef struct {
	uintptr_t lo, span;
} ct_heap_code_range;
extern ct_heap_code_range ct_heap_divert_code[3] __attribute__((visibility("hidden")));

/* Whether ra is the loader's: its calls are never sampled (heap.c, alloc_slow). */
static inline bool ct_heap_from_loader(uintptr_t ra)
{
	return ra - ct_heap_divert_code[0].lo < ct_heap_divert_code[0].span;
}

/* Whether a call from ra is diverted on a diverted thread: not the program's own (a
 * signal handler that interrupted the capture gets its allocator, as without the agent). */
static inline bool ct_heap_divertible(uintptr_t ra)
{
	for (int i = 0; i < 3; i++)
		if (ra - ct_heap_divert_code[i].lo < ct_heap_divert_code[i].span)
			return true;
	return false;
}

/* ct_heap_divertible, out of line: the hooks' hot text must stay within its page. */
bool ct_heap_divertible_call(uintptr_t ra);

/* Whether an allocator call with return address ra is to be diverted. */
static inline bool ct_heap_divert_call(uintptr_t ra)
{
	return __builtin_expect(ct_heap_diverting() != 0, 0) && ct_heap_divertible_call(ra);
}

/* The diverted calls: an arena block (the allocator's when the arena is used up). */
void *ct_heap_divert_alloc(size_t align, size_t size);
void *ct_heap_divert_calloc(size_t n, size_t size);
void *ct_heap_divert_realloc(void *p, size_t size);
int ct_heap_divert_memalign(void **out, size_t align, size_t size);
void *ct_heap_divert_memalign_p(size_t align, size_t size);
/* The calling thread's sampling countdown, as heap.c stores it (complemented). */
int64_t *ct_heap_countdown_word(void);
/* A diverted free: the block waits for the collector (ct_heap_divert_drain). */
void ct_heap_put_aside(void *p);
/* Forgets p if it is a sampled block, and reports its free (heap.c). */
void ct_heap_forget_block(void *p);

/* ---- heap.c: the hooks' sampling, started and stopped by the source ---- */

/* Starts sampling allocations with mean rate bytes (1 = every allocation, matched by the
 * collector; else a table of sampled blocks is mapped). Constructor. 0 or -errno. */
int ct_heap_hooks_start(uint64_t rate);
/* Stops sampling for good (exit path). */
void ct_heap_hooks_stop(void);

typedef struct {
	int direct;	      /* rate 1: frees matched by the collector */
	uint64_t emit_failed; /* records the rings refused */
	uint64_t seq_end;     /* the next sequence number: every record took one below it */
	uint64_t untracked;   /* sampled blocks the table had no room for */
	unsigned level;	      /* the table's top level in use (from 0) */
	unsigned nlevels;     /* levels it may grow to */
} ct_heap_hooks_stats;

void ct_heap_hooks_get_stats(ct_heap_hooks_stats *st);

/* Whether the hooks record now (started, not stopped, agent active). */
bool ct_heap_hooks_recording(void);
/* The next number of the global heap event sequence (any thread; relaxed). */
uint64_t ct_heap_next_seq(void);

/* ---- heapring.c: the rate-1 events' per-thread rings ---- */

/* One rate-1 event: seq_kind = sequence number << 2 | kind (CT_HEAP_RING_*); val =
 * ct_heap_pack(stack, size) for an allocation, else 0. */
typedef struct {
	uint64_t seq_kind;
	uint64_t addr;
	uint64_t val;
} ct_heap_ring_ev;

enum { CT_HEAP_RING_ALLOC, CT_HEAP_RING_FREE, CT_HEAP_RING_NONE };

/* The key that gives a thread's ring back at its exit. Constructor. 0 or -errno. */
int ct_heap_ring_init(void);
/* "Number the event when it is appended" (a seq argument of ct_heap_ring_push). */
#define CT_HEAP_SEQ_LATER UINT64_MAX

/* Appends one event of a kind (CT_HEAP_RING_*) with its sequence number, or with the next
 * one taken once there is room (CT_HEAP_SEQ_LATER), to the calling thread's ring (taking
 * one on its first event). 0;
 * -EAGAIN when the thread has no ring or is already inside a push (a signal handler):
 * send the event another way; -ENOSPC when the ring stayed full (after waiting, if
 * may_wait). Program threads; async-signal-safe once the thread has its ring. */
int ct_heap_ring_push(int kind, uint64_t seq, uint64_t addr, uint64_t val, bool may_wait);
/* Hands every event pushed so far to fn, merged in sequence order; when fn returns
 * nonzero, that event and all later ones stay in their rings for the next drain. One
 * consumer at a time (the collector thread, or the exit path after it stopped). Returns
 * how many events the rings held. */
size_t ct_heap_ring_drain(int (*fn)(void *ctx, const ct_heap_ring_ev *ev), void *ctx);
/* Pushes that found their ring full and waited (relaxed; for the profile's comment). */
uint64_t ct_heap_ring_waits(void);

/* heapsrc.c: when records were lost, what that did to heap.pb.gz (summary.txt's
 * heap_incomplete), else "". Valid once heap.pb.gz is written (exit path). */
const char *ct_heap_incomplete(void);

#endif
