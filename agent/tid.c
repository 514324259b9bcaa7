/*
 * tid.c — the calling thread's kernel thread id (agent.h: ct_gettid), cached per thread,
 * without a system call per thread where glibc allows.
 *
 * gettid(2) costs ~1 us on this VM, and every thread that records anything paid it once:
 * in a storm of short threads with the trace on, every thread (2% of a 50 us thread). glibc
 * keeps each thread's tid in its thread descriptor (pthread_self()), written by clone
 * (CLONE_PARENT_SETTID, and by fork in the child) before the thread runs, at an offset
 * that is not public. So the offset is learned once, on the main thread: the first word of
 * its descriptor that holds its tid. The first other thread to ask checks it against the
 * system call: when they differ the offset is dropped for good. Until that check passed,
 * and with a libc where no word matched, each thread makes the system call once, as
 * before.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/tid.h"

#define TID_SCAN 1024 /* bytes of the descriptor searched (glibc's is over 2 KiB) */

static __thread uint32_t tls_tid __attribute__((tls_model("initial-exec")));
/* The tid's offset in a thread descriptor, -1 when unknown or refuted; whether a second
 * thread confirmed it. Set by ct_tid_init before other threads exist, then only lowered
 * (off to -1) or raised (checked to 1) once: relaxed loads of either value are safe, as
 * each is re-read by a thread that acts on it. */
static _Atomic int tid_off = -1, tid_checked;
static uint32_t main_tid;

static inline uint32_t tid_at(int off)
{
	return *(const uint32_t *)((const char *)pthread_self() + off);
}

void ct_tid_init(void)
{
	uint32_t me = (uint32_t)syscall(SYS_gettid);
	for (int off = 0; off < TID_SCAN; off += (int)sizeof(uint32_t))
		if (tid_at(off) == me) {
			atomic_store_explicit(&tid_off, off, memory_order_relaxed);
			break;
		}
	main_tid = me;
	tls_tid = me;
}

void ct_tid_forked(void)
{
	tls_tid = 0;
}

uint32_t ct_gettid(void)
{
	if (tls_tid)
		return tls_tid;
	int off = atomic_load_explicit(&tid_off, memory_order_relaxed);
	if (off >= 0 && atomic_load_explicit(&tid_checked, memory_order_relaxed) && tid_at(off))
		return tls_tid = tid_at(off);
	uint32_t t = (uint32_t)syscall(SYS_gettid);
	if (off >= 0 && t != main_tid) {
		if (tid_at(off) == t)
			atomic_store_explicit(&tid_checked, 1, memory_order_relaxed);
		else
			atomic_store_explicit(&tid_off, -1, memory_order_relaxed);
	}
	return tls_tid = t;
}
