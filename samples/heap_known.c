/*
 * heap_known — allocations whose counts and sizes are known exactly, one call site per
 * allocation function, for checking a heap profile at CTRACE_HEAP_RATE=1.
 *
 *   site                   calls                                allocated  in use at exit
 *   known_malloc           10 x malloc(1000), all freed          10 / 10000  0
 *   known_calloc           5 x calloc(20, 50), kept               5 /  5000  5 / 5000
 *   known_realloc          malloc(256), realloc to 512 .. 4096    5 /  7936  1 / 4096
 *   known_posix_memalign   4 x posix_memalign(64, 3000), freed    4 / 12000  0
 *   known_aligned_alloc    3 x aligned_alloc(256, 2048), kept     3 /  6144  3 / 6144
 *   known_memalign         2 x memalign(128, 500), freed          2 /  1000  0
 *
 * (objects / bytes). The blocks kept are reachable from `kept` until exit, so in use at
 * exit means exactly these. Prints one line per site — "function alloc_objects
 * alloc_space inuse_objects inuse_space", what the test compares with — and exits 0.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kept[16];
static int nkept;

static void keep(void *p)
{
	kept[nkept++] = p;
}

/* Each site is its own non-inlined function so that the profile's leaf frame names it. */
__attribute__((noinline)) static void known_malloc(void)
{
	void *p[10];
	for (int i = 0; i < 10; i++) {
		p[i] = malloc(1000);
		memset(p[i], i, 1000);
	}
	for (int i = 0; i < 10; i++)
		free(p[i]);
	printf("known_malloc 10 10000 0 0\n");
}

__attribute__((noinline)) static void known_calloc(void)
{
	for (int i = 0; i < 5; i++)
		keep(calloc(20, 50));
	printf("known_calloc 5 5000 5 5000\n");
}

__attribute__((noinline)) static void known_realloc(void)
{
	char *p = malloc(256);
	memset(p, 1, 256);
	for (size_t n = 512; n <= 4096; n *= 2) {
		char *q = realloc(p, n);
		if (!q)
			exit(1);
		p = q;
		memset(p, 2, n);
	}
	keep(p);
	printf("known_realloc 5 7936 1 4096\n");
}

__attribute__((noinline)) static void known_posix_memalign(void)
{
	void *p[4];
	for (int i = 0; i < 4; i++)
		if (posix_memalign(&p[i], 64, 3000) != 0)
			exit(1);
	for (int i = 0; i < 4; i++)
		free(p[i]);
	printf("known_posix_memalign 4 12000 0 0\n");
}

__attribute__((noinline)) static void known_aligned_alloc(void)
{
	for (int i = 0; i < 3; i++)
		keep(aligned_alloc(256, 2048));
	printf("known_aligned_alloc 3 6144 3 6144\n");
}

__attribute__((noinline)) static void known_memalign(void)
{
	void *p[2];
	for (int i = 0; i < 2; i++)
		p[i] = memalign(128, 500);
	for (int i = 0; i < 2; i++)
		free(p[i]);
	printf("known_memalign 2 1000 0 0\n");
}

int main(void)
{
	known_malloc();
	known_calloc();
	known_realloc();
	known_posix_memalign();
	known_aligned_alloc();
	known_memalign();
	for (int i = 0; i < nkept; i++)
		if (!kept[i])
			return 1;
	return 0;
}
