/* coroutine.c — CPU time spent half on a coroutine's stack (makecontext, on the heap), in
 * co_top → co_mid → co_leaf, and half on main's, in main_work → co_leaf. test_cpu_edges
 * checks that both engines unwind the coroutine's samples through co_mid and co_top: the
 * timer engine once cut them to their leaf (it copied only the thread's own stack). */
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

static ucontext_t main_ctx, co_ctx;
static volatile double sink;

__attribute__((noinline)) static void co_leaf(void)
{
	for (volatile int i = 0; i < 200000; i++)
		sink += i;
}

__attribute__((noinline)) static void co_mid(void)
{
	co_leaf();
	sink++;
}

__attribute__((noinline)) static void co_top(void)
{
	co_mid();
	sink++;
}

static void co_entry(void)
{
	for (;;) {
		co_top();
		swapcontext(&co_ctx, &main_ctx);
	}
}

__attribute__((noinline)) static void main_work(int rounds)
{
	for (int r = 0; r < rounds; r++) {
		swapcontext(&main_ctx, &co_ctx);
		co_leaf();
	}
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 500;
	getcontext(&co_ctx);
	co_ctx.uc_stack.ss_size = 256 * 1024;
	co_ctx.uc_stack.ss_sp = malloc(co_ctx.uc_stack.ss_size);
	co_ctx.uc_link = &main_ctx;
	makecontext(&co_ctx, co_entry, 0);
	main_work(rounds);
	printf("coroutine: %d rounds\n", rounds);
	return 0;
}
