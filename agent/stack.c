/*
 * stack.c — stack capture for hooks and the process-wide stack table.
 *
 * Hooks capture their caller's stack in place with libunwind's unw_backtrace, which walks
 * the local stack with a per-thread cache (~0.3 µs for 40 frames when warm). That cache
 * costs each thread ~0.7-1.1 ms of CPU at its first call here (libunwind maps and fills
 * 256 KiB of it), which is most of what a thread that waits only a few times from one
 * call site ever pays (a server's background threads): the stack cache (stackcache.h)
 * needs two full captures per site, then serves the stack without unwinding. So a
 * thread's first CT_STACK_CURSOR_FIRST captures walk with libunwind's cursor (unw_step,
 * ~2 µs a frame, no per-thread setup beyond a few µs) and only a thread that goes on
 * capturing gets the cache. Both give the same return addresses. libunwind is
 * loaded with dlopen(RTLD_LOCAL) and called through a pointer: linked normally, its
 * exported _Unwind_* symbols would capture the C++ exception machinery of libraries the
 * program loads later (DESIGN.md "Agent footprint"). Without libunwind we fall back to a
 * frame-pointer walk bounded by the thread's stack.
 *
 * A capture needs room on the program's stack (CT_UNWIND_ROOM): a thread made with a small
 * stack (16 KiB is allowed) overflowed it in libunwind, so a capture with less room left
 * takes no stack (ct_stack_room). The exit path's writing runs on a stack of the agent's
 * own (ct_on_agent_stack): it took 80 KiB of whichever thread called exit().
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "agent/ann.h"
#include "agent/fdguard.h"
#include "agent/forkguard.h"
#include "agent/internal.h"

/* Set by ct_stack_init (constructor, before recording starts); read-only afterwards. The
 * table itself is lock-free and shared by every thread (libtrace/stacks.h). */
static int (*unw_backtrace_fn)(void **buf, int size);
static int (*getcontext_fn)(unw_context_t *);
static int (*init_local_fn)(unw_cursor_t *, unw_context_t *);
static int (*step_fn)(unw_cursor_t *);
static int (*get_reg_fn)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
static ct_stacks *table;
static uintptr_t unw_lo, unw_hi; /* libunwind.so.8's code */
static size_t unw_tls_modid;	 /* libunwind.so.8's TLS module id, 0: none */

/* dl_iterate_phdr callback: the extent of the executable segments of the object loaded at
 * *(uintptr_t *)arg, into unw_lo/unw_hi. */
static int find_code(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (info->dlpi_addr != *(uintptr_t *)arg)
		return 0;
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		unw_lo = !unw_lo || lo < unw_lo ? lo : unw_lo;
		unw_hi = hi > unw_hi ? hi : unw_hi;
	}
	return 1;
}

int ct_stack_in_unwinder(const void *pc)
{
	return (uintptr_t)pc >= unw_lo && (uintptr_t)pc < unw_hi;
}

/* Captures a thread makes with the cursor before it gets unw_backtrace's cache. */
#define CT_STACK_CURSOR_FIRST 8
/* The calling thread's captures so far, saturating at CT_STACK_CURSOR_FIRST. */
static __thread uint8_t tls_captures __attribute__((tls_model("initial-exec")));

int ct_stack_init(void)
{
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (h && ct_fdg_patch_library(h) < 0)
		ct_log("cannot guard libunwind's fds");
	if (h) {
		unw_backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
		*(void **)&getcontext_fn = dlsym(h, "_Ux86_64_getcontext");
		*(void **)&init_local_fn = dlsym(h, "_ULx86_64_init_local");
		*(void **)&step_fn = dlsym(h, "_ULx86_64_step");
		*(void **)&get_reg_fn = dlsym(h, "_ULx86_64_get_reg");
	}
	/* Per-thread caches: libunwind's global one takes a mutex (and blocks signals) per
	 * lookup, and a mutex a parent thread held at fork would stay locked in the child. */
	int (*set_policy)(void *, int) =
		h ? (int (*)(void *, int))dlsym(h, "_ULx86_64_set_caching_policy") : NULL;
	void **local_as = h ? (void **)dlsym(h, "_ULx86_64_local_addr_space") : NULL;
	if (set_policy && local_as)
		set_policy(*local_as, 2 /* UNW_CACHE_PER_THREAD */);
	else
		ct_log("libunwind.so.8 not loadable (%s); hook stacks use frame pointers",
		       dlerror());
	if (h && dlinfo(h, RTLD_DI_TLS_MODID, &unw_tls_modid) != 0)
		unw_tls_modid = 0;
	struct link_map *lm = NULL;
	if (h && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm) {
		uintptr_t base = (uintptr_t)lm->l_addr;
		dl_iterate_phdr(find_code, &base);
		ct_heap_divert_add_code(unw_lo, unw_hi);
	}
	table = ct_stacks_create(1u << 18, 1u << 23);
	return table ? 0 : -errno;
}

ct_stacks *ct_stack_table(void)
{
	return table;
}

/* The loader's entry for a dynamic TLS block (x86_64 ABI): module id and offset. */
typedef struct {
	unsigned long module, offset;
} tls_index;
void *__tls_get_addr(tls_index *ti);

/* libunwind is dlopen'ed: its thread-local block is allocated, with malloc, at a thread's
 * first access to it, which is unw_backtrace's first call on the thread — possibly in a
 * hook called from the program's signal handler that interrupted malloc (a handler's
 * sem_post, a wait's unblock edge), which then waited for malloc's lock forever. A
 * thread allocates it as it starts instead (one malloc of 16 bytes). */
void ct_stack_thread_tls(void)
{
	if (unw_tls_modid) {
		tls_index ti = {unw_tls_modid, 0};
		(void)__tls_get_addr(&ti);
	}
}

/* The main thread, at start: libunwind's thread-local block (as every thread's: the live
 * server's thread dump once hung when the main thread's first unw_backtrace allocated it
 * in a hook its handler's sem_post ran) and libunwind's one-time set-up, with a first
 * cursor walk. Not unw_backtrace's per-thread cache (~1.4 ms: 256 KiB mapped and filled),
 * which the main thread, like any other, gets at its ninth capture: a short-lived process
 * (each command a script runs) never needs it. */
void ct_stack_warm(void)
{
	uintptr_t pcs[8];
	ct_stack_thread_tls();
	ct_capture_stack(pcs, 8, 0);
}

/* A cursor walk of the calling thread's stack into buf (up to size pcs): the pc here, then
 * return addresses, as unw_backtrace gives them. The depth, or -1 when libunwind's cursor
 * functions are missing or the walk cannot start. */
static __attribute__((noinline)) int cursor_walk(void **buf, int size)
{
	if (!getcontext_fn || !init_local_fn || !step_fn || !get_reg_fn)
		return -1;
	unw_context_t uc;
	unw_cursor_t cur;
	if (getcontext_fn(&uc) < 0 || init_local_fn(&cur, &uc) < 0)
		return -1;
	int n = 0;
	do {
		unw_word_t ip;
		if (get_reg_fn(&cur, UNW_REG_IP, &ip) < 0 || !ip)
			break;
		buf[n++] = (void *)(uintptr_t)ip;
	} while (n < size && step_fn(&cur) > 0);
	return n;
}

/* unw_backtrace, or for the thread's first captures a cursor walk (see the top): the pcs
 * from ct_capture_stack's frame outward (inlined there: unw_backtrace's first pc is its own). */
static inline __attribute__((always_inline)) int backtrace_here(void **buf, int size)
{
	if (tls_captures < CT_STACK_CURSOR_FIRST) {
		tls_captures++;
		/* The walk's own frame first: dropped, so that buf[0] is the caller's pc. */
		int n = cursor_walk(buf, size);
		if (n > 1) {
			memmove(buf, buf + 1, (size_t)(n - 1) * sizeof(*buf));
			return n - 1;
		}
	}
	return unw_backtrace_fn(buf, size);
}

static int fp_walk(uintptr_t *pcs, int max)
{
	uintptr_t *fp = __builtin_frame_address(0);
	ct_stack_bounds();
	uintptr_t top = ct_tls_stack_top ? ct_tls_stack_top : ct_main_stack_top;
	int n = 0;
	while (n < max && fp && (uintptr_t)fp < top && ((uintptr_t)fp & 7) == 0) {
		uintptr_t ret = fp[1];
		if (!ret)
			break;
		pcs[n++] = ret;
		uintptr_t *next = (uintptr_t *)fp[0];
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

/* Captures refused for want of stack (ct_stack_room): relaxed, read at exit. */
static _Atomic uint64_t low_room;

int ct_stack_room(size_t room)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t lo = ct_tls_stack_lo, top = ct_tls_stack_top;
	if (!top)
		return 1; /* a large stack: bounds are learned at start for small ones */
	if (sp <= lo || sp > top) {
		stack_t ss;
		if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
			return 1; /* not on the thread's stack nor on a signal stack: unknown */
		lo = (uintptr_t)ss.ss_sp;
		if (sp <= lo || sp > lo + ss.ss_size)
			return 1;
	}
	if (sp - lo >= room)
		return 1;
	atomic_fetch_add_explicit(&low_room, 1, memory_order_relaxed);
	return 0;
}

void ct_stack_room_warning(char *buf, size_t len)
{
	uint64_t n = atomic_load_explicit(&low_room, memory_order_relaxed);
	if (n)
		ct_warning_add(buf, len,
			       "%llu event(s) recorded without their stack: the thread's stack had "
			       "less than %d KiB left below the call, too little to unwind in",
			       (unsigned long long)n, CT_UNWIND_ROOM / 1024);
}

__attribute__((noinline)) int ct_capture_stack(uintptr_t *pcs, int max, int skip)
{
	void *buf[CT_MAX_FRAMES + 8];
	int want = max + skip + 1;
	if (want > (int)(sizeof(buf) / sizeof(buf[0])))
		want = (int)(sizeof(buf) / sizeof(buf[0]));
	int n;
	if (unw_backtrace_fn) {
		if (!ct_forkguard_try_enter())
			return 0; /* a fork is under way: no stack rather than a wait */
		ct_heap_divert_t d = ct_heap_divert_begin(); /* the loader may update the TLS */
		n = ct_stack_room(CT_UNWIND_ROOM) ? backtrace_here(buf, want) : 0;
		ct_heap_divert_end(d);
		ct_forkguard_exit();
		/* buf[0] is our own pc: drop it and `skip` callers. */
		int drop = 1 + skip;
		if (n <= drop)
			return 0;
		n -= drop;
		if (n > max)
			n = max;
		for (int i = 0; i < n; i++)
			pcs[i] = (uintptr_t)buf[i + drop];
		return n;
	}
	uintptr_t tmp[CT_MAX_FRAMES + 8];
	n = fp_walk(tmp, want);
	int drop = skip;
	if (n <= drop)
		return 0;
	n -= drop;
	if (n > max)
		n = max;
	memcpy(pcs, tmp + drop, (size_t)n * sizeof(uintptr_t));
	return n;
}

/* The agent's own stack (ct_on_agent_stack): in BSS, whose pages cost nothing until the
 * exit path touches them. One user at a time: busy is taken with an exchange, and a fork
 * child that inherited it taken runs where it is. */
static char agent_stack[512 * 1024] __attribute__((aligned(64)));
static _Atomic int agent_stack_busy;

void ct_on_agent_stack(void (*fn)(void))
{
	if (atomic_exchange(&agent_stack_busy, 1)) {
		fn();
		return;
	}
	uintptr_t top = (uintptr_t)agent_stack + sizeof(agent_stack);
	/* rbx (callee-saved, so fn keeps it) holds the caller's stack pointer across the call;
	 * fn may clobber every caller-saved register, which the operands cannot be in. */
	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "mov %0, %%rsp\n\t"
			 "call *%1\n\t"
			 "mov %%rbx, %%rsp\n\t"
			 :
			 : "r"(top), "r"(fn)
			 : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
			   "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory",
			   "cc");
	atomic_store(&agent_stack_busy, 0);
}

uint32_t ct_stack_intern(const uintptr_t *pcs, int n)
{
	return table ? ct_stacks_intern(table, pcs, n < 0 ? 0 : (size_t)n) : 0;
}

/* A stack interned with labels ends in a CT_ANN_MARK word (agent/ann.h): hidden here. */
int ct_stack_get(uint32_t id, const uintptr_t **pcs)
{
	if (!table)
		return 0;
	int d = ct_stacks_get(table, id, pcs);
	if (d > 0 && ((*pcs)[d - 1] & CT_ANN_MARK_MASK) == CT_ANN_MARK)
		d--;
	return d < 0 ? 0 : d;
}

uint32_t ct_stack_labels(uint32_t id)
{
	const uintptr_t *pcs;
	int d = table ? ct_stacks_get(table, id, &pcs) : 0;
	if (d > 0 && (pcs[d - 1] & CT_ANN_MARK_MASK) == CT_ANN_MARK)
		return (uint32_t)pcs[d - 1];
	return 0;
}
