/*
 * unwind.c — unwinding a copied user stack off the thread it came from.
 *
 * Both samplers deliver the same thing: the registers at the sample point and a copy of
 * the live stack above the stack pointer (the kernel copies it for perf samples, the
 * timer's signal handler for its own). The collector unwinds them here with libunwind's
 * remote interface over a custom address space:
 * - access_mem serves the stack range from the copy and other addresses only when they
 *   lie in a loaded module's segments (unwind tables and text); anything else is refused,
 *   so a corrupt frame cannot make us read unmapped memory;
 * - access_reg serves the saved registers;
 * - find_proc_info looks the pc up in our module table and searches that module's
 *   .eh_frame_hdr binary-search table with libunwind's own
 *   _Ux86_64_dwarf_search_unwind_table — no loader call per frame.
 * libunwind-x86_64.so.8 (the remote-capable build) is dlopen'ed RTLD_LOCAL for the same
 * reason as in stack.c. Where DWARF unwinding stops early we continue with a bounded
 * frame-pointer walk inside the copy.
 *
 * libunwind costs ~12 µs per sample here: every step allocates from its memory pool, which
 * blocks and unblocks signals (two syscalls) each time. So samples are first unwound from
 * a cache of unwind rows (libtrace/cfi.h: per pc, CFA = rsp/rbp + offset, where the return
 * address and rbp are saved), computed once per pc from the module's .eh_frame: a warm
 * stack costs one cache probe and two loads per frame. A sample with any pc whose row is
 * not that simple (no FDE, a DWARF expression, a signal frame) is unwound by libunwind as
 * before, whole, so both paths give the same frames (CTRACE_UNWIND_VERIFY=1 runs both on
 * every sample and counts disagreements; the tests check there are none).
 * Collector thread only (the address space and the caches are not shared).
 */
#define UNW_REMOTE_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "agent/fdguard.h"
#include "agent/forkguard.h"
#include "agent/internal.h"
#include "libtrace/cfi.h"

typedef struct {
	uint64_t regs_copy[CT_NREGS];
	uintptr_t sp;
	const uint8_t *stack;
	size_t stack_len;
} uctx;

/* libunwind's remote entry points, resolved by ct_unwind_init (constructor); read-only after. */
static struct {
	unw_addr_space_t (*create_addr_space)(unw_accessors_t *, int);
	int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
	void (*flush_cache)(unw_addr_space_t, unw_word_t, unw_word_t);
	int (*init_remote)(unw_cursor_t *, unw_addr_space_t, void *);
	int (*step)(unw_cursor_t *);
	int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
	int (*search_table)(unw_addr_space_t, unw_word_t, unw_dyn_info_t *, unw_proc_info_t *, int,
			    void *);
} U;

/* Created by ct_unwind_init (constructor); used by the collector thread only. */
static unw_addr_space_t as;

/* The unwind-row cache: direct-mapped by lookup pc, mmap'ed by ct_unwind_init, flushed
 * when the module table changes. A pc outside every module is not cached (a module may appear
 * there later); libunwind takes those samples. Collector thread only. */
#define ROW_BITS 14
static struct row_slot {
	uintptr_t pc; /* 0: empty */
	ct_cfi_row row;
} * rows;
static struct {
	uint64_t by_rows, by_libunwind, computed, other, mismatches;
} ustats;
static int verify; /* CTRACE_UNWIND_VERIFY: also unwind with libunwind and compare */

static int find_proc_info(unw_addr_space_t a, unw_word_t ip, unw_proc_info_t *pi, int need,
			  void *arg)
{
	const ct_module *m = ct_modules_find(ip);
	if (!m || !m->eh_frame_hdr || !ct_modules_readable(m->eh_frame_hdr, 12))
		return -UNW_ENOINFO;
	const uint8_t *h = (const uint8_t *)m->eh_frame_hdr;
	/* version 1; eh_frame_ptr any; fde_count udata4 (0x03); table datarel|sdata4 (0x3b) */
	if (h[0] != 1 || h[2] != 0x03 || h[3] != 0x3b)
		return -UNW_ENOINFO;
	uint32_t fde_count;
	memcpy(&fde_count, h + 8, 4);
	unw_dyn_info_t di;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->start;
	di.end_ip = m->end;
	di.u.rti.segbase = m->eh_frame_hdr;
	di.u.rti.table_data = m->eh_frame_hdr + 12;
	di.u.rti.table_len = (unw_word_t)fde_count * 8 / sizeof(unw_word_t);
	return U.search_table(a, ip, &di, pi, need, arg);
}

static void put_unwind_info(unw_addr_space_t a, unw_proc_info_t *pi, void *arg)
{
	/* libunwind frees the table-format info it allocated itself. */
	(void)a;
	(void)pi;
	(void)arg;
}

static int get_dyn_info_list_addr(unw_addr_space_t a, unw_word_t *dilap, void *arg)
{
	(void)a;
	(void)dilap;
	(void)arg;
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t a, unw_word_t addr, unw_word_t *valp, int write, void *arg)
{
	(void)a;
	uctx *c = arg;
	if (write)
		return -UNW_EINVAL;
	if (addr >= c->sp && addr + sizeof(unw_word_t) <= c->sp + c->stack_len) {
		memcpy(valp, c->stack + (addr - c->sp), sizeof(*valp));
		return 0;
	}
	if (ct_modules_readable(addr, sizeof(unw_word_t))) {
		memcpy(valp, (const void *)addr, sizeof(*valp));
		return 0;
	}
	return -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t a, unw_regnum_t reg, unw_word_t *valp, int write, void *arg)
{
	(void)a;
	uctx *c = arg;
	if (reg < 0 || reg >= CT_NREGS)
		return -UNW_EBADREG;
	if (write)
		c->regs_copy[reg] = *valp;
	else
		*valp = c->regs_copy[reg];
	return 0;
}

static int access_fpreg(unw_addr_space_t a, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	(void)a;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t a, unw_cursor_t *cur, void *arg)
{
	(void)a;
	(void)cur;
	(void)arg;
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t a, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	(void)a;
	(void)addr;
	(void)buf;
	(void)len;
	(void)off;
	(void)arg;
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

#define LOAD(field, sym)                                                                           \
	do {                                                                                       \
		*(void **)&U.field = dlsym(h, sym);                                                \
		if (!U.field)                                                                      \
			return -ENOENT;                                                            \
	} while (0)

int ct_unwind_init(void)
{
	void *h = dlopen("libunwind-x86_64.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		ct_log("cannot load libunwind-x86_64.so.8: %s", dlerror());
		return -ENOENT;
	}
	if (ct_fdg_patch_library(h) < 0)
		ct_log("cannot guard libunwind-x86_64's fds");
	LOAD(create_addr_space, "_Ux86_64_create_addr_space");
	LOAD(set_caching_policy, "_Ux86_64_set_caching_policy");
	LOAD(flush_cache, "_Ux86_64_flush_cache");
	LOAD(init_remote, "_Ux86_64_init_remote");
	LOAD(step, "_Ux86_64_step");
	LOAD(get_reg, "_Ux86_64_get_reg");
	LOAD(search_table, "_Ux86_64_dwarf_search_unwind_table");
	as = U.create_addr_space(&accessors, 0);
	if (!as)
		return -ENOMEM;
	/* Per-thread caching: only the collector unwinds, and the global cache would block
	 * and unblock signals (two syscalls) around every lookup. */
	U.set_caching_policy(as, UNW_CACHE_PER_THREAD);
	const char *v = getenv("CTRACE_UNWIND_VERIFY");
	verify = v && *v && strcmp(v, "0") != 0;
	if ((v = getenv("CTRACE_UNWIND_ROWS")) && strcmp(v, "0") == 0)
		return 0; /* no row cache: libunwind for every sample (a benchmark's baseline) */
	rows = mmap(NULL, sizeof(*rows) << ROW_BITS, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rows == MAP_FAILED)
		rows = NULL; /* every sample goes to libunwind */
	return 0;
}

/* Continues a stack with the frame-pointer chain, reading only inside the copy. */
static int fp_continue(const uctx *c, uintptr_t fp, uintptr_t *pcs, int n, int max)
{
	while (n < max && fp >= c->sp && fp + 16 <= c->sp + c->stack_len && !(fp & 7)) {
		uint64_t next, ret;
		memcpy(&next, c->stack + (fp - c->sp), 8);
		memcpy(&ret, c->stack + (fp - c->sp) + 8, 8);
		if (!ret || next <= fp)
			break;
		pcs[n++] = ret;
		fp = next;
	}
	return n;
}

/* The whole stack with libunwind (and the frame-pointer walk where it cannot start).
 * Inside the fork guard: libunwind's locks (the address space's, its memory pools') held
 * at a fork stayed held in the child, whose collector hung at its first libunwind sample. */
static int unwind_libunwind(uctx *c, uintptr_t *pcs, int max)
{
	int n = 1;
	unw_cursor_t cur;
	ct_forkguard_enter();
	if (U.init_remote(&cur, as, c) < 0) {
		ct_forkguard_exit();
		return fp_continue(c, c->regs_copy[CT_REG_RBP], pcs, n, max);
	}
	int stepped = 0;
	while (n < max) {
		int r = U.step(&cur);
		if (r <= 0)
			break;
		stepped = 1;
		unw_word_t ip;
		if (U.get_reg(&cur, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		pcs[n++] = ip;
	}
	ct_forkguard_exit();
	if (!stepped)
		n = fp_continue(c, c->regs_copy[CT_REG_RBP], pcs, n, max);
	return n;
}

static ct_cfi_row row_get(uintptr_t lookup)
{
	struct row_slot *s = &rows[(lookup * 0x9e3779b97f4a7c15ull) >> (64 - ROW_BITS)];
	if (s->pc == lookup)
		return s->row;
	ct_cfi_row row = {.kind = CT_CFI_OTHER};
	const ct_module *m = ct_modules_find(lookup);
	if (!m)
		return row;
	ct_cfi_find(m->eh_frame_hdr, lookup, ct_modules_readable, &row);
	ustats.computed++;
	ustats.other += row.kind == CT_CFI_OTHER;
	s->pc = lookup;
	s->row = row;
	return row;
}

static int stack_word(const uctx *c, uintptr_t addr, uint64_t *v)
{
	if (addr < c->sp || addr - c->sp > c->stack_len || c->stack_len - (addr - c->sp) < 8)
		return 0;
	memcpy(v, c->stack + (addr - c->sp), 8);
	return 1;
}

/* The stack from cached rows alone: the same frames libunwind's DWARF steps give, where
 * every pc has a plain row. Returns the depth, or 0 when a pc needs libunwind (no row, or
 * anything unusual — the whole sample then goes to libunwind, so both paths agree). */
static int unwind_rows(const uctx *c, uintptr_t *pcs, int max)
{
	uint64_t sp = c->sp, bp = c->regs_copy[CT_REG_RBP];
	uintptr_t lookup = c->regs_copy[CT_REG_RIP]; /* exact: the interrupted instruction */
	int n = 1;
	while (n < max) {
		ct_cfi_row row = row_get(lookup);
		if (row.kind == CT_CFI_END)
			return n;
		if (row.kind != CT_CFI_ROW)
			return 0;
		uint64_t cfa =
			(row.cfa_reg == CT_CFI_RSP ? sp : bp) + (uint64_t)(int64_t)row.cfa_off;
		uint64_t ra;
		if (cfa <= sp)
			return 0; /* a frame that does not move up the stack: libunwind decides */
		if (!stack_word(c, cfa + (uint64_t)(int64_t)row.ra_off, &ra))
			return n > 1 ? n : 0; /* the copy ends here: libunwind stops here too */
		if (row.rbp_saved && !stack_word(c, cfa + (uint64_t)(int64_t)row.rbp_off, &bp))
			return 0;
		if (!ra)
			return n;
		pcs[n++] = ra;
		sp = cfa;
		lookup = ra - 1; /* inside the call instruction */
	}
	return n;
}

int ct_unwind(const uint64_t regs[CT_NREGS], const uint8_t *stack, size_t stack_len, uintptr_t *pcs,
	      int max)
{
	uctx c;
	memcpy(c.regs_copy, regs, sizeof(c.regs_copy));
	c.sp = regs[CT_REG_RSP];
	c.stack = stack;
	c.stack_len = stack_len;
	pcs[0] = regs[CT_REG_RIP];
	if (!as || max <= 1)
		return 1;
	if (atomic_load_explicit(&ct_modules_dirty, memory_order_relaxed)) {
		ct_modules_refresh();
		ct_forkguard_enter();
		U.flush_cache(as, 0, 0);
		ct_forkguard_exit();
		if (rows)
			memset(rows, 0, sizeof(*rows) << ROW_BITS);
	}
	int n = rows ? unwind_rows(&c, pcs, max) : 0;
	if (n && verify) {
		uintptr_t check[CT_MAX_FRAMES];
		int m = unwind_libunwind(&c, check, max < CT_MAX_FRAMES ? max : CT_MAX_FRAMES);
		check[0] = pcs[0];
		if (m != n || memcmp(check, pcs, (size_t)n * sizeof(*pcs)) != 0)
			ustats.mismatches++;
	}
	if (n) {
		ustats.by_rows++;
		return n;
	}
	ustats.by_libunwind++;
	return unwind_libunwind(&c, pcs, max);
}

void ct_unwind_stats_reset(void)
{
	memset(&ustats, 0, sizeof(ustats));
}

void ct_unwind_stats(ct_unwind_counts *out)
{
	*out = (ct_unwind_counts){.by_rows = ustats.by_rows,
				  .by_libunwind = ustats.by_libunwind,
				  .rows_computed = ustats.computed,
				  .rows_other = ustats.other,
				  .verify_mismatches = ustats.mismatches,
				  .verify = verify};
}
