/* mask_jump — blocks every signal, then leaves the block the way error-recovery code does:
 * siglongjmp to a sigsetjmp(env, 1) made while nothing was blocked (the mask comes back
 * with the jump, through no sigprocmask call), then the same with setcontext to a
 * getcontext. After each, it burns ~0.3 s of CPU: in after_longjmp, then after_setcontext
 * (test_cpu_edges, timer engine: the agent's timer pauses while the thread blocks its
 * signal and must resume when a jump unblocks it, else those functions get no samples).
 * Prints "jumps 2". */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <ucontext.h>

#include "burn.h"

__attribute__((noinline)) static void after_longjmp(void)
{
	burn(0.3);
}

__attribute__((noinline)) static void after_setcontext(void)
{
	burn(0.31); /* not 0.3: two identical functions would be folded into one */
}

static void block_all(void)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
}

static sigjmp_buf env;

__attribute__((noinline)) static void fail_deep(void)
{
	block_all();
	siglongjmp(env, 1);
}

int main(void)
{
	int jumps = 0;
	if (sigsetjmp(env, 1) == 0)
		fail_deep();
	jumps++;
	after_longjmp();

	static ucontext_t uc;
	static volatile int resumed;
	getcontext(&uc);
	if (!resumed) {
		resumed = 1;
		block_all();
		setcontext(&uc);
	}
	jumps++;
	after_setcontext();
	printf("jumps %d\n", jumps);
	return 0;
}
