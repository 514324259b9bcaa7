/*
 * hot.h — where the hooks' hot code and data go: together, on as few pages as possible.
 *
 * On these VMs every system call empties the TLB, so the first touch of each page after one
 * is a page walk (tens of ns). An event loop makes a system call for nearly every hook it
 * calls (read, write, epoll_wait) and allocates in between, and a hook's cost was mostly
 * the pages it touched, not its instructions: in redis-server, a malloc hook's cost sat on
 * its first load, whichever of malloc and free came first after a system call (perf
 * annotate). So the hooks an event loop calls for every request, and what they read on
 * every call, are marked here: CT_HOT_FN functions go to .text.hot, which the linker keeps
 * together, and CT_HOT_DATA objects to the section ct_hot, a few hundred bytes of their own.
 * Only for paths taken on every call: what they call rarely stays where it is.
 *
 * Thread-local data lies beside the thread's control block, whose page libc touches anyway,
 * but an initial-exec TLS access in a shared library first loads the variable's offset from
 * the GOT — a page of its own, and the miss a malloc hook paid. The offset is the same for
 * every thread, so the hot paths keep a copy of it in a CT_HOT_DATA word (ct_tls_offset,
 * taken by a constructor) and add it to the thread pointer (ct_tls_at); while the copy is
 * still 0 they use the variable as usual.
 */
#include <stdint.h>
#ifndef CT_AGENT_HOT_H
#define CT_AGENT_HOT_H

/* The hot text: one page (hot.ld) for an event loop's every-request cycle — the allocator
 * hooks, read, write, epoll_wait, and a deferred readiness wait's opening (ct_lk_poll_defer,
 * its stack from the thread's fronts) and end (ct_lk_settle_slow, ct_lk_wait_end): each
 * system call of the cycle is followed by one page walk for this code, not two
 * (tests/integration/test_hot_layout.sh lists what must be here). */
#define CT_HOT_FN __attribute__((hot))
/* What the hot paths call when they record (a wait kept for the block profile or the
 * trace: its record, the ring push), and the hooks an event loop calls less often or that
 * loops of other kinds call instead (realloc, recv, send, epoll_pwait, poll, a timed
 * wait's opening): on the page after the hot text (hot.ld), also kept within one page. */
#define CT_WARM_FN __attribute__((noinline, section(".text.ct_warm")))
/* What warm code calls less often than every recorded wait (the stack cache's lookup when
 * the thread's last chains miss): after the warm text, so that a recorded wait's paths
 * stay on two pages. */
#define CT_WARM_LATE_FN __attribute__((noinline, section(".text.ct_warm_late")))
#define CT_HOT_DATA __attribute__((section("ct_hot")))
/* The agent's configuration (agent.h: ct_cfg), laid out after every CT_HOT_DATA object by
 * hot.ld, so that its first fields (the modes every hook reads) share their page. */
#define CT_HOT_CONFIG __attribute__((section("ct_hot_config")))

/* The calling thread's thread pointer (x86-64 %fs:0, aarch64 TPIDR_EL0), or NULL where not
 * known: callers then keep their offsets 0. Async-signal-safe. */
static inline char *ct_tls_tp(void)
{
	char *tp = NULL;
#if defined(__x86_64__)
	__asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
#endif
	return tp;
}

/* The offset of the calling thread's copy of the initial-exec TLS object p from its thread
 * pointer (the same for every thread), or 0 where the thread pointer is not known. */
static inline intptr_t ct_tls_offset(const void *p)
{
	char *tp = ct_tls_tp();
	return tp ? (const char *)p - tp : 0;
}

/* The calling thread's copy of the TLS object at offset off (from ct_tls_offset, not 0). */
static inline void *ct_tls_at(intptr_t off)
{
	return ct_tls_tp() + off;
}

#endif
