/*
 * heapdivert.c — allocations inside the agent's stack captures ("diverted").
 *
 * libunwind's thread-local data is a dynamic TLS block (libunwind is dlopen'ed). A thread
 * whose dynamic TLS vector is out of date (libraries with thread-local data dlopened or
 * dlclosed since its last access to such data) has it brought up to date by glibc at that
 * access, which is then inside a capture: the vector is grown with malloc or realloc and
 * the closed libraries' blocks are freed, with the program's allocator, through the heap
 * hooks. A capture may run in a hook called from the program's signal handler, which may
 * have interrupted malloc on the same thread, whose lock it then holds: that update waited
 * for it forever. So while a capture runs libunwind (ct_heap_divert_begin to _end, heap.c,
 * around the calls in stack.c and stackcache.c) the thread's allocations come from the
 * arena (heapboot.c; a vector's block is reused once the thread ends) and its frees are
 * put aside, chained through the blocks themselves, for the collector to pass on
 * (ct_heap_divert_drain, every pass). malloc reaches the check through its countdown, which
 * begin sets to "due"; the other allocation hooks and free read a flag, after one load of
 * its offset from the hot page (as the countdown's). Only calls from the loader, the C
 * library and libunwind are diverted (by return address: heap.h): a program's signal
 * handler that interrupts the capture gets its own allocator, as it would without the
 * agent (its libc calls that allocate are not async-signal-safe anyway). When the program
 * defines malloc in its executable the loader calls that one, and this cannot help.
 *
 * The loader's calls are never sampled either (heap.c, alloc_slow): a sampled realloc of
 * a thread's TLS vector captured a stack, whose libunwind TLS access started a second
 * update of the vector inside the first, which then freed garbage (a crash at heap rate 1).
 */
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/heap.h"
#include "agent/hot.h"

__thread uint32_t ct_heap_tls_divert __attribute__((tls_model("initial-exec")));
CT_HOT_DATA intptr_t ct_heap_divert_off;

static void *_Atomic put_aside;
static _Atomic uint64_t divert_allocs, divert_frees, divert_fallbacks;

ct_heap_code_range ct_heap_divert_code[3];

/* dl_iterate_phdr callback: the executable segment holding arg's pc, into its range. */
struct code_find {
	uintptr_t pc;
	ct_heap_code_range *range;
};
static int find_code(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct code_find *f = arg;
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && f->pc - lo < ph->p_memsz) {
			*f->range = (ct_heap_code_range){lo, ph->p_memsz};
			return 1;
		}
	}
	return 0;
}

ct_heap_divert_t ct_heap_divert_begin(void)
{
	int64_t *cd = ct_heap_countdown_word();
	ct_heap_divert_t d = {*cd, ct_heap_tls_divert};
	ct_heap_tls_divert = 1;
	*cd = 0; /* complemented -1: the next allocation is due, and its slow path checks */
	return d;
}

void ct_heap_divert_end(ct_heap_divert_t d)
{
	*ct_heap_countdown_word() = d.countdown_not;
	ct_heap_tls_divert = d.was;
}

bool ct_heap_divertible_call(uintptr_t ra)
{
	return ct_heap_divertible(ra);
}

void ct_heap_divert_add_code(uintptr_t lo, uintptr_t hi)
{
	if (hi > lo)
		ct_heap_divert_code[2] = (ct_heap_code_range){lo, hi - lo};
}

extern void *__tls_get_addr(void *); /* in ld.so, beside the TLS vector's updates */

/* A forked child counts its own. */
static void divert_atfork_child(void)
{
	atomic_store_explicit(&divert_allocs, 0, memory_order_relaxed);
	atomic_store_explicit(&divert_frees, 0, memory_order_relaxed);
	atomic_store_explicit(&divert_fallbacks, 0, memory_order_relaxed);
}

__attribute__((constructor)) static void divert_init(void)
{
	__atomic_store_n(&ct_heap_divert_off, ct_tls_offset(&ct_heap_tls_divert), __ATOMIC_RELAXED);
	struct code_find ld = {(uintptr_t)&__tls_get_addr, &ct_heap_divert_code[0]};
	struct code_find libc = {(uintptr_t)&pthread_getattr_np, &ct_heap_divert_code[1]};
	dl_iterate_phdr(find_code, &ld);
	dl_iterate_phdr(find_code, &libc);
	pthread_atfork(NULL, NULL, divert_atfork_child);
}

void *ct_heap_divert_alloc(size_t align, size_t size)
{
	int saved_errno = errno; /* a full arena's ENOMEM is not the caller's */
	void *p = ct_heap_arena_alloc(align < 16 ? 16 : align, size ? size : 1);
	errno = saved_errno;
	if (p) {
		atomic_fetch_add_explicit(&divert_allocs, 1, memory_order_relaxed);
		return p;
	}
	atomic_fetch_add_explicit(&divert_fallbacks, 1, memory_order_relaxed);
	return align > 16 ? ct_heap_real.memalign(align, size) : ct_heap_real.malloc(size);
}

void ct_heap_put_aside(void *p)
{
	void *head = atomic_load_explicit(&put_aside, memory_order_relaxed);
	do
		*(void **)p = head;
	while (!atomic_compare_exchange_weak_explicit(&put_aside, &head, p, memory_order_release,
						      memory_order_relaxed));
	atomic_fetch_add_explicit(&divert_frees, 1, memory_order_relaxed);
}

void ct_heap_divert_drain(void)
{
	if (!atomic_load_explicit(&put_aside, memory_order_relaxed))
		return;
	void *p = atomic_exchange_explicit(&put_aside, NULL, memory_order_acquire);
	while (p) {
		void *next = *(void **)p;
		ct_heap_real.free(p);
		p = next;
	}
}

void ct_heap_divert_stats(uint64_t *allocs, uint64_t *frees, uint64_t *fallbacks)
{
	*allocs = atomic_load_explicit(&divert_allocs, memory_order_relaxed);
	*frees = atomic_load_explicit(&divert_frees, memory_order_relaxed);
	*fallbacks = atomic_load_explicit(&divert_fallbacks, memory_order_relaxed);
}

void *ct_heap_divert_calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = ct_heap_divert_alloc(0, total);
	if (p && !ct_heap_in_arena(p))
		memset(p, 0, total); /* the arena's blocks are zero: never reused */
	return p;
}

void *ct_heap_divert_realloc(void *p, size_t size)
{
	if (!p)
		return ct_heap_divert_alloc(0, size);
	size_t old =
		ct_heap_in_arena(p) ? ct_heap_arena_size(p) : ct_heap_real.malloc_usable_size(p);
	void *q = ct_heap_divert_alloc(0, size);
	if (q) {
		memcpy(q, p, old < size ? old : size);
		if (ct_heap_in_arena(p)) {
			ct_heap_arena_release(p);
		} else {
			ct_heap_forget_block(p);
			ct_heap_put_aside(p);
		}
	}
	return q;
}

/* posix_memalign's rule: a power of two, a multiple of sizeof(void *). */
int ct_heap_divert_memalign(void **out, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = ct_heap_divert_alloc(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

/* glibc's memalign and aligned_alloc: any alignment, rounded up to a power of two. */
void *ct_heap_divert_memalign_p(size_t align, size_t size)
{
	size_t a = 16;
	while (a < align && a < ((size_t)1 << 62))
		a <<= 1;
	return ct_heap_divert_alloc(a, size);
}
