/*
 * unwcache.h — libunwind's mmap and munmap, with its per-thread trace caches recycled
 * between threads (unwcache.c): a thread's first stack capture then finds its 256 KiB
 * cache already mapped and faulted in. Installed in libunwind's GOT by
 * ct_fdg_patch_library (libfds.c). Thread-safe, lock-free; the same contract as mmap and
 * munmap (errno included).
 */
#ifndef CT_AGENT_UNWCACHE_H
#define CT_AGENT_UNWCACHE_H

#include <stddef.h>
#include <sys/types.h>

void *ct_unwcache_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int ct_unwcache_munmap(void *addr, size_t len);

#endif
