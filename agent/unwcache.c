/*
 * unwcache.c — recycles libunwind's per-thread trace caches (see unwcache.h).
 *
 * unw_backtrace keeps a per-thread cache of frame descriptions: 2^14 entries of 16 bytes,
 * 256 KiB mapped with mmap on a thread's first backtrace, every entry initialised, and
 * unmapped by a key destructor when the thread ends. On fresh pages that is 64 page faults
 * plus a TLB shootdown at the unmap: ~1 ms per thread, which a program making many threads
 * that each record a stack (a lock contended by 64 threads, a storm of short threads)
 * paid again and again. libunwind's GOT entries for mmap and munmap point here
 * (libfds.c's PLT hook on that one library): an unmap of exactly that size keeps the
 * mapping in a small pool instead, and the next map of that size takes it back, its pages
 * already present. Anything else goes straight to the kernel.
 *
 * Thread-safety: the pool is an array of atomic pointers, claimed and released with
 * compare-and-swap; no lock, no allocation.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "agent/unwcache.h"

#define UC_BYTES ((size_t)1 << 18) /* 2^14 unw_tdep_frame_t of 16 bytes */
#define UC_POOL 16		   /* mappings kept at most: 4 MiB */

static _Atomic(void *) pool[UC_POOL];

void *ct_unwcache_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!addr && len == UC_BYTES && prot == (PROT_READ | PROT_WRITE) &&
	    flags == (MAP_PRIVATE | MAP_ANONYMOUS)) {
		for (int i = 0; i < UC_POOL; i++) {
			void *p = atomic_load_explicit(&pool[i], memory_order_relaxed);
			/* acquire: the pages were last written by the thread that gave it back */
			if (p && atomic_compare_exchange_strong_explicit(&pool[i], &p, NULL,
									 memory_order_acquire,
									 memory_order_relaxed))
				return p;
		}
	}
	return mmap(addr, len, prot, flags, fd, off);
}

int ct_unwcache_munmap(void *addr, size_t len)
{
	if (len == UC_BYTES && addr) {
		for (int i = 0; i < UC_POOL; i++) {
			void *none = NULL;
			if (!atomic_load_explicit(&pool[i], memory_order_relaxed) &&
			    atomic_compare_exchange_strong_explicit(&pool[i], &none, addr,
								    memory_order_release,
								    memory_order_relaxed))
				return 0;
		}
	}
	return munmap(addr, len);
}
