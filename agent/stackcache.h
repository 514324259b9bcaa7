/*
 * stackcache.h — hook stacks without an unwind when the same call chain repeats.
 *
 * A hook that records its caller's stack (a rate-1 heap profile records every
 * allocation) spends most of its time in libunwind's unw_backtrace, ~100 ns even for a
 * short stack. Programs allocate from a few call chains over and over, so each thread
 * keeps a small cache keyed by the hook's return address and the stack address where it
 * is stored. An entry remembers the interned stack and, for every frame, the stack slot
 * its return address was found in (learned once with libunwind's cursor, which reports
 * each frame's stack pointer). A hit re-reads those slots and compares them with the
 * cached return addresses; any difference is a miss and a full unwind.
 *
 * Why a hit is the true stack: a frame's stack pointer is its caller's CFA, which libunwind
 * computes from the frame's pc and stack pointer (the CFA rule of that pc). With the same
 * first slot and the same pcs up to frame i, frame i+1's slot is the same, and the value
 * found there is the true return address of frame i+1 — by induction, the whole chain.
 * The one assumption is that no CFA moves for another reason (a frame whose size depends
 * on alloca, or a signal frame) while every checked slot still holds the old chain's
 * words; chains that cross a signal frame are never cached (their interrupted pc is not
 * stored below the CFA). CTRACE_STACK_VERIFY=1 unwinds on every hit as well and counts
 * any disagreement (ct_stackcache_stats), which the tests check is zero.
 *
 * Cost control: an entry is learned (a cursor walk, several µs) only when its key gave the
 * same stack a second time while still in the cache, and only while walks stay under 1/64
 * of the hits plus 64, so a program whose chains never repeat pays what it paid before. Cache
 * memory is mmap'ed per thread on first use (about 70 KiB: an entry keeps the return
 * addresses of stacks up to 16 frames, so that a hit reads no shared table) and unmapped at
 * thread exit.
 */
#ifndef CT_STACKCACHE_H
#define CT_STACKCACHE_H

#include <stdint.h>

/* Loads libunwind's cursor functions and reads CTRACE_STACK_VERIFY, once however often it
 * is called (each source that uses the cache calls it). In the constructor; without them
 * the cache stays off and ct_stackcache_capture always unwinds. */
void ct_stackcache_init(void);

/* The interned stack id (0 if none) of the hook's caller: ra is the hook's return address
 * and slot where it is stored (the hook's CFA - 8). The chain starts at ra, as
 * ct_capture_stack with the hook's frames skipped would give it. Call with the guard held
 * (it may unwind and mmap); never from a signal handler. Preserves errno: a hit makes no
 * system call, and the slow paths save it. */
uint32_t ct_stackcache_capture(uintptr_t ra, uintptr_t slot);
/* The same, first trying the thread's copies of the entries of the last two chains of at
 * most 8 frames this function found (in its TLS, beside the thread pointer: no page of
 * the cache's), checked the same way. For the waits' hooks, which repeat a few call sites
 * (an event loop's epoll_wait), each after a system call that emptied the TLB. */
uint32_t ct_stackcache_capture_front(uintptr_t ra, uintptr_t slot);

typedef struct {
	uint64_t hits;	     /* stacks served from the cache */
	uint64_t walks;	     /* entries learned with a cursor walk */
	uint64_t mismatches; /* CTRACE_STACK_VERIFY: hits the full unwind disagreed with */
	uint64_t front;	     /* of the hits, those a front served (ct_stackcache_capture_front) */
} ct_stackcache_stats_t;
void ct_stackcache_stats(ct_stackcache_stats_t *st);

#endif
