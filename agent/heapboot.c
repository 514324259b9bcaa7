/*
 * heapboot.c — the real allocator functions behind the heap hooks, and the bootstrap arena.
 *
 * Real functions are found once, on the first call of any hook, with dlsym(RTLD_NEXT), so
 * a program that brings its own allocator keeps it; glibc's __libc_* entry points are the
 * fallback when dlsym finds nothing. Until then every function pointer is a "boot" stub
 * that resolves; anything allocated while dlsym runs (it may call calloc) comes from a
 * small static arena whose blocks free, realloc and malloc_usable_size recognise. Nothing
 * here takes a lock: a thread that finds the resolution under way on another thread
 * yields until it is done; the resolving thread itself is served by the arena.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/heap.h"
#include "agent/hot.h"

#define IE __attribute__((tls_model("initial-exec")))

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

/* Written once by resolve() before resolve_state is released (heap.h). */
CT_HOT_DATA _Alignas(64) ct_heap_real_fns ct_heap_real = {
	.malloc = boot_malloc,
	.free = boot_free,
	.malloc_usable_size = boot_malloc_usable_size,
	.calloc = boot_calloc,
	.realloc = boot_realloc,
	.reallocarray = boot_reallocarray,
	.posix_memalign = boot_posix_memalign,
	.aligned_alloc = boot_aligned_alloc,
	.memalign = boot_memalign,
	.valloc = boot_valloc,
	.pvalloc = boot_pvalloc,
};

/* glibc's own entry points, used only if dlsym(RTLD_NEXT) finds nothing. */
extern void *__libc_malloc(size_t) __attribute__((weak));
extern void __libc_free(void *) __attribute__((weak));
extern void *__libc_calloc(size_t, size_t) __attribute__((weak));
extern void *__libc_realloc(void *, size_t) __attribute__((weak));
extern void *__libc_memalign(size_t, size_t) __attribute__((weak));
extern void *__libc_valloc(size_t) __attribute__((weak));
extern void *__libc_pvalloc(size_t) __attribute__((weak));

#define ARENA_BYTES CT_HEAP_ARENA_BYTES
#define ARENA_HDR 16u
_Alignas(4096) unsigned char ct_heap_arena[ARENA_BYTES];
/* Bump pointer, advanced by CAS on any thread. Relaxed: each CAS hands out a disjoint
 * range, and a block is only touched by the thread that got it (or after the program
 * passed it on, with its own synchronization). */
static _Atomic size_t arena_used;

static _Atomic int resolve_state; /* 0 = not yet, 1 = in progress, 2 = done */
static __thread int tls_resolving IE;

/* Blocks of up to 64 KiB with alignment 16 are handed out in sizes of a power of two
 * (class c: 16 << c bytes) and go back to their class's free list when freed, to be
 * handed out again: the arena serves dlsym's few bytes and the loader's TLS vectors
 * inside stack captures (heap.c, "diverted"), one per thread that needs an update there,
 * which a program that starts and ends threads would otherwise use up. Other blocks are
 * bump-allocated for good. The header, ARENA_HDR bytes before a block, holds its size
 * (the class's for a class block: as malloc_usable_size says) and its class + 1 (0: none).
 * A free list's head is an offset + 1 in the arena with a count of pops above it, so that
 * a pop that lost its block to another thread meanwhile fails its compare-and-swap; a
 * free block holds the next one's offset + 1. Lock-free: the allocator hooks run in
 * signal handlers. */
#define ARENA_CLASSES 13 /* 16 B to 64 KiB */
static _Atomic uint64_t arena_free[ARENA_CLASSES];

static unsigned char *arena_hdr(const void *p)
{
	return (unsigned char *)p - ARENA_HDR;
}

static void *arena_pop(int c)
{
	uint64_t head = atomic_load_explicit(&arena_free[c], memory_order_acquire);
	while ((uint32_t)head) {
		unsigned char *p = ct_heap_arena + (uint32_t)head - 1;
		uint32_t next = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
		uint64_t to = (((head >> 32) + 1) << 32) | next;
		if (atomic_compare_exchange_weak_explicit(&arena_free[c], &head, to,
							  memory_order_acquire,
							  memory_order_acquire)) {
			memset(p, 0, (size_t)16 << c); /* as a fresh arena block: zero */
			return p;
		}
	}
	return NULL;
}

void ct_heap_arena_release(void *p)
{
	unsigned char c1 = arena_hdr(p)[sizeof(size_t)];
	if (!c1 || c1 > ARENA_CLASSES)
		return; /* bump-allocated for good */
	uint32_t off = (uint32_t)((unsigned char *)p - ct_heap_arena) + 1;
	uint64_t head = atomic_load_explicit(&arena_free[c1 - 1], memory_order_relaxed), to;
	do {
		__atomic_store_n((uint32_t *)p, (uint32_t)head, __ATOMIC_RELAXED);
		to = (head & ~(uint64_t)UINT32_MAX) | off;
	} while (!atomic_compare_exchange_weak_explicit(
		&arena_free[c1 - 1], &head, to, memory_order_release, memory_order_relaxed));
}

void *ct_heap_arena_alloc(size_t align, size_t size)
{
	if (align < ARENA_HDR)
		align = ARENA_HDR;
	if (size > ARENA_BYTES || (align & (align - 1)) || align > 4096) {
		errno = ENOMEM;
		return NULL;
	}
	int c = -1;
	if (align == ARENA_HDR && size <= ((size_t)16 << (ARENA_CLASSES - 1))) {
		c = 0;
		while (((size_t)16 << c) < size)
			c++;
		size = (size_t)16 << c;
		void *p = arena_pop(c);
		if (p)
			return p; /* its header is still right */
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
	memcpy(ct_heap_arena + start - ARENA_HDR, &size, sizeof size);
	ct_heap_arena[start - ARENA_HDR + sizeof size] = (unsigned char)(c + 1);
	return ct_heap_arena + start;
}

size_t ct_heap_arena_size(const void *p)
{
	size_t size;
	memcpy(&size, arena_hdr(p), sizeof size);
	return size;
}

/* realloc of an arena block: it moves to the allocator. */
void *ct_heap_arena_realloc(void *p, size_t size)
{
	void *q = ct_heap_real.malloc(size ? size : 1);
	if (q) {
		memcpy(q, p, ct_heap_arena_size(p) < size ? ct_heap_arena_size(p) : size);
		ct_heap_arena_release(p);
	}
	return q;
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
	return ct_heap_real.realloc(p, total);
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
		ct_heap_real_fns r = {0};
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
		ct_heap_real = r;
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
	return resolve() ? ct_heap_arena_alloc(16, size) : ct_heap_real.malloc(size);
}
static void boot_free(void *p)
{
	if (ct_heap_in_arena(p)) {
		ct_heap_arena_release(p);
		return;
	}
	if (!resolve())
		ct_heap_real.free(p);
}
static void *boot_calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		return nomem();
	return resolve() ? ct_heap_arena_alloc(16, total) : ct_heap_real.calloc(n, size);
}
static void *boot_realloc(void *p, size_t size)
{
	if (resolve()) {
		void *q = ct_heap_arena_alloc(16, size);
		if (q && p)
			memcpy(q, p,
			       ct_heap_in_arena(p) && ct_heap_arena_size(p) < size
				       ? ct_heap_arena_size(p)
				       : size);
		return q;
	}
	return ct_heap_real.realloc(p, size);
}
static void *boot_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		return nomem();
	if (resolve())
		return boot_realloc(p, total);
	return ct_heap_real.reallocarray(p, n, size);
}
static int boot_posix_memalign(void **out, size_t align, size_t size)
{
	if (resolve()) {
		void *q = ct_heap_arena_alloc(align, size);
		if (!q)
			return ENOMEM;
		*out = q;
		return 0;
	}
	return ct_heap_real.posix_memalign(out, align, size);
}
static void *boot_aligned_alloc(size_t align, size_t size)
{
	if (resolve())
		return ct_heap_arena_alloc(align, size);
	return ct_heap_real.aligned_alloc(align, size);
}
static void *boot_memalign(size_t align, size_t size)
{
	if (resolve())
		return ct_heap_arena_alloc(align, size);
	return ct_heap_real.memalign(align, size);
}
static void *boot_valloc(size_t size)
{
	if (resolve())
		return ct_heap_arena_alloc(4096, size);
	return ct_heap_real.valloc(size);
}
static void *boot_pvalloc(size_t size)
{
	if (resolve())
		return ct_heap_arena_alloc(4096, (size + 4095) & ~(size_t)4095);
	return ct_heap_real.pvalloc(size);
}
static size_t boot_malloc_usable_size(void *p)
{
	if (ct_heap_in_arena(p))
		return ct_heap_arena_size(p);
	if (resolve())
		return 0;
	return ct_heap_real.malloc_usable_size(p);
}
