/*
 * heap_hazards.c — allocation in the places a malloc interposer gets wrong, for
 * test_heap_hazards.sh: inside dlopen/dlsym/dlerror, in a signal handler (synchronous and
 * timer-driven), in a thread's TLS destructor, in atexit handlers and ELF destructors
 * (after the agent has written its files), in a fork child, from 16 threads freeing each
 * other's blocks, and the edge cases of the API (free(NULL), malloc(0), realloc(p, 0),
 * huge sizes, overflowing calloc/reallocarray, bad alignments). Every result is checked
 * against what glibc promises; the output is deterministic and the exit status is 3, so
 * the test can compare a bare run with a traced one byte for byte.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "heap_hazards: check failed line %d: %s\n", __LINE__, #c); \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static void *volatile sink;

/* ---- signal handlers ---- */
static volatile sig_atomic_t handler_runs;
static void *handler_kept[64];

__attribute__((noinline)) static void on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	char *p = malloc(333);
	if (p) {
		memset(p, 1, 333);
		if (handler_runs < 64)
			handler_kept[handler_runs] = p;
		else
			free(p);
	}
	handler_runs++;
	errno = saved;
}

static void signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	for (int i = 0; i < 10; i++)
		raise(SIGUSR1);
	/* Timer-driven: interrupts a busy loop that does not allocate. */
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
	unsigned long spins = 0;
	while (handler_runs < 30)
		spins++;
	sink = (void *)spins;
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);
	for (int i = 0; i < 30; i++)
		free(handler_kept[i]);
	printf("signals: handler ran at least 30 times\n");
}

/* ---- dlopen / dlsym / dlerror ---- */
static void dl(void)
{
	for (int i = 0; i < 3; i++) {
		void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
		CHECK(h != NULL);
		if (!h)
			return;
		double (*fn)(double) = (double (*)(double))dlsym(h, "cos");
		CHECK(fn && fn(0.0) == 1.0);
		CHECK(dlsym(h, "ctrace_no_such_symbol") == NULL);
		const char *e = dlerror();
		CHECK(e != NULL);
		dlclose(h);
	}
	CHECK(dlopen("libctrace-no-such-library.so", RTLD_NOW) == NULL);
	CHECK(dlerror() != NULL);
	printf("dl: dlopen, dlsym and dlerror work\n");
}

/* ---- TLS destructors and 16 threads ---- */
static pthread_key_t key;
static _Atomic int destructor_runs;

__attribute__((noinline)) static void tls_destructor(void *v)
{
	free(v);
	void *p = malloc(1234);
	sink = p;
	free(p);
	atomic_fetch_add(&destructor_runs, 1);
}

#define NTHREADS 16
#define SHARED 1024
static _Atomic(void *) shared[SHARED];
static _Atomic long worker_allocs; /* allocation calls made by worker() itself */

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
	pthread_setspecific(key, malloc(100));
	long calls = 1;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		size_t sz = (seed >> 8) % 4096 + 1;
		if ((seed >> 20) % 50 == 0)
			sz = 200000 + (seed >> 4) % 100000;
		void *p;
		switch ((seed >> 16) % 4) {
		case 0:
			p = malloc(sz);
			break;
		case 1:
			p = calloc(1, sz);
			break;
		case 2:
			p = realloc(malloc(8), sz);
			calls++;
			break;
		default:
			p = aligned_alloc(64, (sz + 63) & ~(size_t)63);
			break;
		}
		calls++;
		if (!p) {
			atomic_fetch_add(&destructor_runs, 1000000);
			continue;
		}
		memset(p, 0xab, sz < 64 ? sz : 64);
		/* Swap into a shared slot: blocks are freed by whichever thread comes next. */
		void *old = atomic_exchange(&shared[(seed >> 3) % SHARED], p);
		free(old);
	}
	atomic_fetch_add(&worker_allocs, calls);
	return NULL;
}

static void threads(void)
{
	pthread_key_create(&key, tls_destructor);
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < SHARED; i++)
		free(atomic_exchange(&shared[i], NULL));
	CHECK(atomic_load(&destructor_runs) == NTHREADS);
	printf("threads: %d threads made %ld allocations and freed each other's blocks\n", NTHREADS,
	       atomic_load(&worker_allocs));
}

/* ---- the API's edge cases ---- */
/* Called through volatile pointers so that the compiler does not reject (or fold) the
 * deliberately impossible requests. */
static void *(*volatile v_malloc)(size_t) = malloc;
static void *(*volatile v_calloc)(size_t, size_t) = calloc;
static void *(*volatile v_realloc)(void *, size_t) = realloc;
static void *(*volatile v_reallocarray)(void *, size_t, size_t) = reallocarray;

static void edges(void)
{
	free(NULL);
	errno = 1234;
	void *p = malloc(0);
	CHECK(p != NULL);
	CHECK(errno == 1234);
	free(p);
	p = malloc(10);
	CHECK(errno == 1234);
	CHECK(malloc_usable_size(p) >= 10);
	errno = 0;
	CHECK(v_realloc(p, 0) == NULL); /* glibc frees p */
	p = realloc(NULL, 50);
	CHECK(p != NULL);
	free(p);
	errno = 0;
	CHECK(v_malloc((size_t)1 << 40 << 10) == NULL && errno == ENOMEM);
	errno = 0;
	sink = v_malloc((size_t)1 << 40);
	CHECK(sink == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(v_malloc(SIZE_MAX) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(v_calloc(SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
	p = malloc(16);
	errno = 0;
	CHECK(v_reallocarray(p, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(v_realloc(p, SIZE_MAX) == NULL && errno == ENOMEM);
	p = v_reallocarray(p, 10, 10); /* p still valid after the failures */
	CHECK(p != NULL);
	free(p);
	void *q = (void *)1;
	CHECK(posix_memalign(&q, 3, 16) == EINVAL);
	CHECK(posix_memalign(&q, 4096, 100) == 0 && ((uintptr_t)q & 4095) == 0);
	free(q);
	p = aligned_alloc(128, 256);
	CHECK(p && ((uintptr_t)p & 127) == 0);
	free(p);
	p = memalign(64, 10);
	CHECK(p && ((uintptr_t)p & 63) == 0);
	free(p);
	p = valloc(10);
	CHECK(p && ((uintptr_t)p & 4095) == 0);
	free(p);
	p = pvalloc(10);
	CHECK(p && ((uintptr_t)p & 4095) == 0 && malloc_usable_size(p) >= 4096);
	free(p);
	p = calloc(100, 10);
	int zero = 1;
	for (int i = 0; i < 1000; i++)
		zero &= ((unsigned char *)p)[i] == 0;
	CHECK(zero);
	free(p);
	printf("edges: free(NULL), malloc(0), realloc(p, 0), huge and overflowing sizes\n");
}

/* ---- fork ---- */
static void forked(void)
{
	void *before = malloc(5000);
	pid_t pid = fork();
	if (pid == 0) {
		free(before);
		for (int i = 0; i < 1000; i++)
			free(malloc((size_t)i * 7 + 1));
		_exit(7);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	free(before);
	printf("fork: child allocated and exited 7\n");
}

/* ---- exit ---- */
static void *exit_kept;

__attribute__((noinline)) static void at_exit_alloc(void)
{
	free(exit_kept);
	void *p = malloc(4321);
	sink = p;
	free(p);
}

__attribute__((destructor)) static void late_destructor(void)
{
	void *p = malloc(777);
	sink = p;
	free(p);
	sink = realloc(malloc(10), 20000);
	free(sink);
}

int main(void)
{
	exit_kept = malloc(99);
	atexit(at_exit_alloc);
	dl();
	signals();
	edges();
	threads();
	forked();
	printf("heap_hazards: %d failures\n", failures);
	return failures ? 1 : 3;
}
