/*
 * forkguard.c — fork never happens while a thread is inside dl_iterate_phdr or libunwind
 * (see forkguard.h).
 *
 * glibc (2.36 here) resets the loader's main lock in a forked child but not the lock
 * dl_iterate_phdr takes (dl_load_write_lock): when any thread of the parent was inside
 * dl_iterate_phdr at the fork, the child's first dl_iterate_phdr blocks forever. A bare
 * child rarely calls it; under the agent it does (the collector refreshing its module
 * table, libunwind on a cache miss in a hook), so a multi-threaded program that forks
 * often hung at its children's exit (issue 9, defect 9: the child's collector was stuck
 * there and exit waited for it).
 *
 * libunwind's local unwinder has mutexes of its own (memory pools used while it interprets
 * DWARF), so a hook capturing a stack at the fork left a child that hung in its first
 * capture.
 *
 * So dl_iterate_phdr is interposed (for the program, libgcc's unwinder and libunwind
 * alike) and the agent's libunwind calls are bracketed, to count the threads inside; a
 * fork prepare handler raises a flag that holds new entries back and waits — bounded,
 * 2 s — until the count falls to what the forking thread itself holds. The cost: two
 * atomic additions per section, and a fork that waits for sections already under way.
 * The count is striped: each thread adds to one of FG_STRIPES counters (by its tid), each
 * on a cache line of its own, and the prepare handler sums them — one shared counter was
 * a cache line that every stack capture of every thread bounced between CPUs.
 */
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/forkguard.h"

#define FG_STRIPES 64 /* power of two */

/* Threads inside a section, striped; their sum is what matters. */
static struct {
	_Alignas(64) _Atomic int n;
} inside[FG_STRIPES];
static _Atomic int fork_pending; /* a fork is between its prepare and parent/child handlers */
static __thread int tls_depth __attribute__((tls_model("initial-exec")));
/* This thread is the one forking: between the prepare and the parent/child handlers, the
 * other handlers it runs (an allocator's prefork, locking its mutexes through the lock
 * hooks, which capture stacks) must not wait for its own fork. */
static __thread int tls_forking __attribute__((tls_model("initial-exec")));
static __thread _Atomic int *tls_stripe __attribute__((tls_model("initial-exec")));

static _Atomic int *stripe(void)
{
	if (!tls_stripe)
		tls_stripe = &inside[ct_gettid() & (FG_STRIPES - 1)].n;
	return tls_stripe;
}

static int inside_sum(void)
{
	int sum = 0;
	for (int i = 0; i < FG_STRIPES; i++)
		sum += atomic_load(&inside[i].n);
	return sum;
}
static int (*real_iterate)(int (*)(struct dl_phdr_info *, size_t, void *), void *);

void ct_forkguard_enter(void)
{
	_Atomic int *in = stripe();
	for (;;) {
		/* seq_cst, paired with the prepare handler: either it sees us inside, or we
		 * see its flag and step back until the fork is done. */
		atomic_fetch_add(in, 1);
		if (tls_depth || tls_forking || !atomic_load(&fork_pending))
			break;
		atomic_fetch_sub(in, 1);
		while (atomic_load(&fork_pending))
			sched_yield();
	}
	tls_depth++;
}

int ct_forkguard_try_enter(void)
{
	_Atomic int *in = stripe();
	atomic_fetch_add(in, 1); /* seq_cst, as in ct_forkguard_enter */
	if (!tls_depth && !tls_forking && atomic_load(&fork_pending)) {
		atomic_fetch_sub(in, 1);
		return 0;
	}
	tls_depth++;
	return 1;
}

void ct_forkguard_exit(void)
{
	tls_depth--;
	atomic_fetch_sub(tls_stripe, 1);
}

CT_EXPORT int dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	if (!real_iterate)
		*(void **)&real_iterate = ct_real("dl_iterate_phdr");
	ct_forkguard_enter();
	int r = real_iterate(cb, data);
	ct_forkguard_exit();
	return r;
}

static void fork_prepare(void)
{
	tls_forking = 1;
	atomic_store(&fork_pending, 1);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (inside_sum() > tls_depth) {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 2)
			break; /* a callback that blocks: fork anyway, as without the agent */
	}
}

static void fork_parent(void)
{
	atomic_store(&fork_pending, 0);
	tls_forking = 0;
}

static void fork_child(void)
{
	/* Only this thread exists now; its tid changed, but its stripe stays in TLS. */
	for (int i = 0; i < FG_STRIPES; i++)
		atomic_store(&inside[i].n, 0);
	if (tls_stripe)
		atomic_store(tls_stripe, tls_depth);
	atomic_store(&fork_pending, 0);
	tls_forking = 0;
}

int ct_fork_fresh(void *table, size_t len)
{
	if (((uintptr_t)table | len) & 4095)
		return 0; /* madvise would take the neighbours of its last page too */
	return madvise(table, len, MADV_WIPEONFORK) == 0;
}

/* Registered first of the agent's handlers (constructor priority), so that its prepare
 * runs last, right before the fork. */
__attribute__((constructor(101))) static void forkguard_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
