/* libcount_alloc — preloaded after the agent (LD_PRELOAD=libctrace.so:libcount_alloc.so),
 * so that the agent's malloc-family hooks pass to it and it to the C library: it counts
 * the calls a thread makes while it says it runs a signal handler (count_alloc_handler),
 * that is the allocator calls the agent or the loader made from there (sig_tls). */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stddef.h>

void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

/* Initial-exec: a dynamic access from count_alloc_handler would itself update the
 * thread's TLS vector, before the handler's first hook. */
static __thread int in_handler __attribute__((tls_model("initial-exec")));
static atomic_long calls;

void count_alloc_handler(int on)
{
	in_handler = on;
}

long count_alloc_calls(void)
{
	return atomic_load(&calls);
}

static void count(void)
{
	if (in_handler)
		atomic_fetch_add(&calls, 1);
}

void *malloc(size_t n)
{
	count();
	return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
	count();
	return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
	count();
	return __libc_realloc(p, n);
}
void *memalign(size_t a, size_t n)
{
	count();
	return __libc_memalign(a, n);
}
void free(void *p)
{
	if (p)
		count();
	__libc_free(p);
}
