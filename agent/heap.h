/*
 * heap.h — what the heap profiler's three files share: heapboot.c (the real allocator
 * functions and the bootstrap arena), heap.c (the malloc-family hooks and the byte
 * sampling) and heapsrc.c (the heap source on the collector thread). Nothing else in the
 * agent includes it.
 */
#ifndef CT_AGENT_HEAP_H
#define CT_AGENT_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* ---- heapboot.c ---- */

/* The real functions after the agent. Until the first hook resolves them every pointer is
 * a "boot" stub that resolves, serving dlsym's own allocations from the arena. Written once
 * by the resolving thread before it publishes its state (release); a thread that still
 * reads a boot stub's address just goes through the resolution, which returns at once. */
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
} ct_heap_real_fns;

/* Hidden, so that the hooks reach them without a GOT load. */
extern ct_heap_real_fns ct_heap_real __attribute__((visibility("hidden")));

/* The bootstrap arena: blocks handed out while dlsym runs, never reused. */
#define CT_HEAP_ARENA_BYTES (128u << 10)
extern unsigned char ct_heap_arena[CT_HEAP_ARENA_BYTES] __attribute__((visibility("hidden")));

/* Whether p is an arena block (free must not pass it on). Hot: one subtraction. */
static inline int ct_heap_in_arena(const void *p)
{
	return (uintptr_t)p - (uintptr_t)ct_heap_arena < CT_HEAP_ARENA_BYTES;
}

/* The requested size of an arena block. */
size_t ct_heap_arena_size(const void *p);

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

/* heapsrc.c: when records were lost, what that did to heap.pb.gz (summary.txt's
 * heap_incomplete), else "". Valid once heap.pb.gz is written (exit path). */
const char *ct_heap_incomplete(void);

#endif
