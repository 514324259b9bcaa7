/* bench_ckpt — the program bench_ckpt.sh runs under the agent: first it allocates (and
 * keeps) one block from each of 2^17 distinct call paths, so that with CTRACE_HEAP_RATE=1
 * the heap profile holds ~131k stacks; then, for argv[1] seconds of its own CPU time (so
 * that the work does not depend on the machine's load), it works the way a long-running
 * program does: CPU in two functions and a few thousand allocations a second from a
 * handful of stacks. Prints "stacks N". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *kept[1 << 17];
static int nkept;
static volatile unsigned long sink;

static void tree(int depth, int path);

__attribute__((noinline)) static void left(int depth, int path)
{
	tree(depth - 1, path * 2);
	sink++;
}

__attribute__((noinline)) static void right(int depth, int path)
{
	tree(depth - 1, path * 2 + 1);
	sink++;
}

/* Every leaf is reached through its own sequence of left/right return addresses. */
__attribute__((noinline)) static void tree(int depth, int path)
{
	if (depth == 0) {
		kept[nkept++] = malloc(16);
		return;
	}
	left(depth, path);
	right(depth, path);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

__attribute__((noinline)) static void work_a(void)
{
	for (int i = 0; i < 200000; i++)
		sink = sink * 31 + (unsigned long)i;
}

__attribute__((noinline)) static void work_b(void)
{
	void *p[4];
	for (int i = 0; i < 4; i++)
		p[i] = malloc(64 << i);
	for (int i = 0; i < 4; i++)
		free(p[i]);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	tree(17, 0);
	int live = 0;
	for (int i = 0; i < nkept; i++)
		live += kept[i] != NULL;
	printf("stacks %d\n", live);
	double end = now() + seconds;
	while (now() < end) {
		work_a();
		work_b();
	}
	return 0;
}
