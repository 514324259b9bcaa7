/*
 * interposer_nop.c — a preloaded library that interposes what redis-server calls on every
 * request (malloc, free, realloc, malloc_usable_size, read, write, epoll_wait) and does
 * nothing but call the next definition through a pointer. bench_redis.sh profiles the
 * server with it under `perf record` for the share of the server's user-mode samples that
 * any interposer of these calls costs on this machine: the first touch of its code and
 * data pages after each system call (agent/hot.h), which no work the agent saves removes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/types.h>

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_realloc)(void *, size_t);
static size_t (*next_usable)(void *);
static ssize_t (*next_read)(int, void *, size_t);
static ssize_t (*next_write)(int, const void *, size_t);
static int (*next_epoll_wait)(int, struct epoll_event *, int, int);

__attribute__((constructor)) static void resolve(void)
{
	static int busy;
	if (busy++)
		return;
	*(void **)&next_malloc = dlsym(RTLD_NEXT, "malloc");
	*(void **)&next_free = dlsym(RTLD_NEXT, "free");
	*(void **)&next_realloc = dlsym(RTLD_NEXT, "realloc");
	*(void **)&next_usable = dlsym(RTLD_NEXT, "malloc_usable_size");
	*(void **)&next_read = dlsym(RTLD_NEXT, "read");
	*(void **)&next_write = dlsym(RTLD_NEXT, "write");
	*(void **)&next_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
}

/* Calls before the constructor (the dynamic loader's, libc's start-up) resolve first; one
 * made by dlsym itself while resolving fails (NULL), as malloc may. */
#define NEXT(f) (__builtin_expect(f != NULL, 1) ? f : (resolve(), f))

void *malloc(size_t n)
{
	return NEXT(next_malloc) ? next_malloc(n) : NULL;
}

void free(void *p)
{
	if (NEXT(next_free))
		next_free(p);
}

void *realloc(void *p, size_t n)
{
	return NEXT(next_realloc) ? next_realloc(p, n) : NULL;
}

size_t malloc_usable_size(void *p)
{
	return NEXT(next_usable) ? next_usable(p) : 0;
}

ssize_t read(int fd, void *buf, size_t n)
{
	return NEXT(next_read)(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	return NEXT(next_write)(fd, buf, n);
}

int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	return NEXT(next_epoll_wait)(epfd, ev, max, timeout);
}
