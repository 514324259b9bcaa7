/*
 * test_cfi.c — unit tests for unwind rows from .eh_frame (libtrace/cfi.h).
 *
 * Real code: a live stack of this test (three noinline calls deep, captured with
 * getcontext) is walked with ct_cfi_find's rows alone, reading the live stack, and must
 * give exactly the return addresses glibc's backtrace() (libgcc's unwinder) reports for the
 * same callers, through libc down to the outermost frame (CT_CFI_END). Synthetic CFI: a
 * hand-built .eh_frame_hdr + CIE + FDE whose program moves the CFA (push rbp; mov rsp,rbp;
 * remember/restore state) gives the expected row at every pc; a signal-frame CIE, a CFA
 * expression and an undefined return address give CT_CFI_OTHER / CT_CFI_END; a pc outside
 * the FDE, a bad header version and every truncation of the readable range give
 * CT_CFI_OTHER without reading outside it (the ASan suite runs this too).
 */
#include "libtrace/cfi.h"
#include "tests/unit/ct_check.h"

#include <execinfo.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

/* ---- the readable range: everything, or one buffer ---- */

static uintptr_t lim_lo, lim_hi; /* 0, 0: anything that dl_iterate_phdr says is loaded */

static int in_module(uintptr_t addr, size_t len);

static int readable(uintptr_t addr, size_t len)
{
	if (lim_hi)
		return addr >= lim_lo && addr <= lim_hi && len <= lim_hi - addr;
	return in_module(addr, len);
}

typedef struct {
	uintptr_t addr;
	size_t len;
	int ok;
	uintptr_t pc, hdr; /* find the module holding pc: its .eh_frame_hdr */
} phdr_q;

static int on_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	phdr_q *q = arg;
	uintptr_t hdr = 0;
	int holds_pc = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (ph->p_type == PT_GNU_EH_FRAME)
			hdr = lo;
		if (ph->p_type != PT_LOAD)
			continue;
		if (q->addr >= lo && q->addr + q->len <= hi)
			q->ok = 1;
		if (q->pc >= lo && q->pc < hi && (ph->p_flags & PF_X))
			holds_pc = 1;
	}
	if (holds_pc)
		q->hdr = hdr;
	return 0;
}

static int in_module(uintptr_t addr, size_t len)
{
	phdr_q q = {.addr = addr, .len = len};
	dl_iterate_phdr(on_phdr, &q);
	return q.ok;
}

static uintptr_t hdr_of(uintptr_t pc)
{
	phdr_q q = {.addr = 1, .pc = pc};
	dl_iterate_phdr(on_phdr, &q);
	return q.hdr;
}

/* ---- a live stack ---- */

#define MAXF 64

/* Walks from captured registers with rows only, reading the live stack; returns the depth, pcs[0] =
 * the pc. */
static int walk(const ucontext_t *uc, uintptr_t *pcs, int max, int *ended)
{
	uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	uint64_t sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
	uint64_t bp = (uint64_t)uc->uc_mcontext.gregs[REG_RBP];
	uintptr_t lookup = pc;
	int n = 0;
	pcs[n++] = pc;
	*ended = 0;
	while (n < max) {
		ct_cfi_row row;
		int k = ct_cfi_find(hdr_of(lookup), lookup, readable, &row);
		if (k == CT_CFI_END) {
			*ended = 1;
			break;
		}
		if (k != CT_CFI_ROW)
			break;
		uint64_t cfa =
			(row.cfa_reg == CT_CFI_RSP ? sp : bp) + (uint64_t)(int64_t)row.cfa_off;
		uint64_t ra;
		memcpy(&ra, (const void *)(uintptr_t)(cfa + (uint64_t)(int64_t)row.ra_off), 8);
		if (row.rbp_saved)
			memcpy(&bp, (const void *)(uintptr_t)(cfa + (uint64_t)(int64_t)row.rbp_off),
			       8);
		if (!ra)
			break;
		pcs[n++] = ra;
		sp = cfa;
		lookup = ra - 1;
	}
	return n;
}

typedef struct {
	ucontext_t uc;
	void *bt[MAXF];
	int nbt;
	uintptr_t pcs[MAXF];
	int n, ended;
} capture;

/* Walks while the frames are live: from getcontext's registers in leaf. */
__attribute__((noinline)) static void leaf(capture *c)
{
	getcontext(&c->uc);
	c->n = walk(&c->uc, c->pcs, MAXF, &c->ended);
	c->nbt = backtrace(c->bt, MAXF);
	__asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) static void mid(capture *c)
{
	leaf(c);
	__asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) static void top(capture *c)
{
	mid(c);
	__asm__ volatile("" ::: "memory");
}

START_TEST(live_stack_matches_backtrace)
{
	capture c;
	memset(&c, 0, sizeof(c));
	top(&c);
	const uintptr_t *pcs = c.pcs;
	int n = c.n, ended = c.ended;
	/* pcs[0] is in leaf (after getcontext), and so is backtrace's first frame of ours
	 * (after the backtrace call; a sanitizer's interceptor may come before it): from the
	 * caller of leaf on, both must be the same return addresses, to the end. */
	int j = 0;
	while (j < c.nbt && j < 3 && (uintptr_t)c.bt[j] != pcs[1])
		j++;
	ck_assert_msg(j < 3 && j < c.nbt, "leaf's caller %#lx not in backtrace's first frames",
		      (unsigned long)pcs[1]);
	ck_assert_int_ge(n, 5);
	ck_assert_int_eq(n - 1, c.nbt - j);
	for (int i = 1; i < n; i++)
		ck_assert_msg(pcs[i] == (uintptr_t)c.bt[j + i - 1],
			      "frame %d: rows %#lx, backtrace %p", i, (unsigned long)pcs[i],
			      c.bt[j + i - 1]);
	ck_assert_msg(ended, "the walk did not reach the outermost frame's undefined ra");
}
END_TEST

START_TEST(entry_row_of_a_real_function)
{
	/* At a function's first instruction the CFA is rsp + 8 and ra is at CFA - 8. */
	uintptr_t pc = (uintptr_t)&mid;
	ct_cfi_row row;
	ck_assert_int_eq(ct_cfi_find(hdr_of(pc), pc, readable, &row), CT_CFI_ROW);
	ck_assert_int_eq(row.cfa_reg, CT_CFI_RSP);
	ck_assert_int_eq(row.cfa_off, 8);
	ck_assert_int_eq(row.ra_off, -8);
	ck_assert_int_eq(row.rbp_saved, 0);
}
END_TEST

/* ---- synthetic CFI ---- */

static uint8_t code[0x100]; /* the pcs the synthetic FDE covers */
static _Alignas(8) uint8_t buf[512];
static size_t blen;

static void put(const void *p, size_t n)
{
	memcpy(buf + blen, p, n);
	blen += n;
}
static void put8(uint8_t v)
{
	put(&v, 1);
}
static void put32(uint32_t v)
{
	put(&v, 4);
}

/* Builds hdr | CIE | FDE in buf. cie_aug: "zR" or "zRS"; cie_ops/fde_ops: CFA programs. */
static uintptr_t build(const char *cie_aug, const uint8_t *cie_ops, size_t ncie,
		       const uint8_t *fde_ops, size_t nfde)
{
	blen = 0;
	/* .eh_frame_hdr: version 1, eh_frame_ptr pcrel|sdata4, count udata4, table datarel|sdata4
	 */
	size_t hdr = blen;
	put8(1), put8(0x1b), put8(0x03), put8(0x3b);
	size_t eh_ptr = blen;
	put32(0);
	put32(1);
	size_t table = blen;
	put32(0), put32(0);
	/* CIE */
	size_t cie = blen;
	put32(0); /* length, patched */
	put32(0); /* CIE id */
	put8(1);
	put(cie_aug, strlen(cie_aug) + 1);
	put8(1);    /* code_align 1 */
	put8(0x78); /* data_align -8 */
	put8(16);   /* ra column */
	put8(1);    /* augmentation length */
	put8(0x1b); /* R: FDE pointers pcrel|sdata4 */
	put(cie_ops, ncie);
	while ((blen - cie) % 8 != 4)
		put8(0); /* DW_CFA_nop */
	uint32_t len = (uint32_t)(blen - cie - 4);
	memcpy(buf + cie, &len, 4);
	/* FDE */
	size_t fde = blen;
	put32(0);
	put32((uint32_t)(blen - cie)); /* CIE pointer: back from this field */
	int32_t rel = (int32_t)((intptr_t)code - (intptr_t)(buf + blen));
	put32((uint32_t)rel);
	put32(sizeof(code));
	put8(0); /* augmentation length */
	put(fde_ops, nfde);
	while ((blen - fde) % 8 != 4)
		put8(0);
	len = (uint32_t)(blen - fde - 4);
	memcpy(buf + fde, &len, 4);
	ck_assert_uint_le(blen, sizeof(buf));
	/* patch the header */
	int32_t v = (int32_t)(cie - eh_ptr);
	memcpy(buf + eh_ptr, &v, 4);
	int32_t t[2] = {(int32_t)((intptr_t)code - (intptr_t)(buf + hdr)), (int32_t)(fde - hdr)};
	memcpy(buf + table, t, 8);
	lim_lo = (uintptr_t)buf;
	lim_hi = (uintptr_t)buf + blen;
	return (uintptr_t)buf + hdr;
}

static const uint8_t cie_std[] = {0x0c, 7, 8, /* def_cfa rsp+8 */
				  0x90, 1};   /* offset r16 at cfa-8 */
/* push rbp (1 byte); mov rbp,rsp (3); body; at 0x40 leave-like remember/restore */
static const uint8_t fde_frame[] = {
	0x41,	       /* advance 1 */
	0x0e, 16,      /* def_cfa_offset 16 */
	0x86, 2,       /* offset rbp at cfa-16 */
	0x43,	       /* advance 3 */
	0x0d, 6,       /* def_cfa_register rbp */
	0x02, 0x3c,    /* advance_loc1 0x3c → 0x40 */
	0x0a,	       /* remember_state */
	0x0c, 7,    8, /* def_cfa rsp+8 */
	0x41,	       /* advance 1 → 0x41 */
	0x0b,	       /* restore_state */
};

static ct_cfi_row row_at(uintptr_t hdr, size_t off, int want)
{
	ct_cfi_row row;
	int k = ct_cfi_find(hdr, (uintptr_t)code + off, readable, &row);
	ck_assert_msg(k == want, "pc +%#zx: kind %d, expected %d", off, k, want);
	ck_assert_int_eq(row.kind, k);
	return row;
}

START_TEST(synthetic_rows_follow_the_program)
{
	uintptr_t hdr = build("zR", cie_std, sizeof(cie_std), fde_frame, sizeof(fde_frame));
	ct_cfi_row r = row_at(hdr, 0, CT_CFI_ROW);
	ck_assert(r.cfa_reg == CT_CFI_RSP && r.cfa_off == 8 && r.ra_off == -8 && !r.rbp_saved);
	r = row_at(hdr, 1, CT_CFI_ROW);
	ck_assert(r.cfa_reg == CT_CFI_RSP && r.cfa_off == 16 && r.rbp_saved && r.rbp_off == -16);
	r = row_at(hdr, 3, CT_CFI_ROW);
	ck_assert(r.cfa_reg == CT_CFI_RSP && r.cfa_off == 16);
	r = row_at(hdr, 4, CT_CFI_ROW);
	ck_assert(r.cfa_reg == CT_CFI_RBP && r.cfa_off == 16 && r.rbp_saved);
	r = row_at(hdr, 0x3f, CT_CFI_ROW);
	ck_assert(r.cfa_reg == CT_CFI_RBP);
	r = row_at(hdr, 0x40, CT_CFI_ROW);
	ck_assert(r.cfa_reg == CT_CFI_RSP && r.cfa_off == 8 && r.rbp_saved);
	r = row_at(hdr, 0x41, CT_CFI_ROW);
	ck_assert(r.cfa_reg == CT_CFI_RBP && r.cfa_off == 16 && r.rbp_off == -16);
	r = row_at(hdr, 0xff, CT_CFI_ROW);
	ck_assert(r.cfa_reg == CT_CFI_RBP);
	/* outside the FDE's range */
	ct_cfi_row none;
	ck_assert_int_eq(ct_cfi_find(hdr, (uintptr_t)code + sizeof(code), readable, &none),
			 CT_CFI_OTHER);
	ck_assert_int_eq(ct_cfi_find(hdr, (uintptr_t)code - 1, readable, &none), CT_CFI_OTHER);
}
END_TEST

START_TEST(synthetic_rows_that_need_more)
{
	/* a signal frame */
	uintptr_t hdr = build("zRS", cie_std, sizeof(cie_std), fde_frame, sizeof(fde_frame));
	row_at(hdr, 8, CT_CFI_OTHER);
	/* a CFA expression (as in PLT entries) from 0x10 on */
	static const uint8_t expr[] = {0x50, 0x0f, 2, 0x77, 8};
	hdr = build("zR", cie_std, sizeof(cie_std), expr, sizeof(expr));
	row_at(hdr, 0xf, CT_CFI_ROW);
	row_at(hdr, 0x10, CT_CFI_OTHER);
	/* the return address undefined: the outermost frame */
	static const uint8_t undef[] = {0x44, 0x07, 16};
	hdr = build("zR", cie_std, sizeof(cie_std), undef, sizeof(undef));
	row_at(hdr, 3, CT_CFI_ROW);
	row_at(hdr, 4, CT_CFI_END);
	/* rbp saved in a register: not a row */
	static const uint8_t inreg[] = {0x09, 6, 3};
	hdr = build("zR", cie_std, sizeof(cie_std), inreg, sizeof(inreg));
	row_at(hdr, 0, CT_CFI_OTHER);
	/* an unknown opcode */
	static const uint8_t bad[] = {0x3f};
	hdr = build("zR", cie_std, sizeof(cie_std), bad, sizeof(bad));
	row_at(hdr, 0, CT_CFI_OTHER);
	/* header version 2 */
	hdr = build("zR", cie_std, sizeof(cie_std), fde_frame, sizeof(fde_frame));
	buf[0] = 2;
	row_at(hdr, 0, CT_CFI_OTHER);
}
END_TEST

START_TEST(truncated_input_is_refused)
{
	/* Every readable length short of the whole buffer gives OTHER: the parser asks the
	 * callback before each record and table, so no answer may come from unread bytes. */
	uintptr_t hdr = build("zR", cie_std, sizeof(cie_std), fde_frame, sizeof(fde_frame));
	size_t whole = blen;
	for (size_t cut = 0; cut < whole; cut++) {
		lim_hi = (uintptr_t)buf + cut;
		ct_cfi_row row;
		ck_assert_int_eq(ct_cfi_find(hdr, (uintptr_t)code + 0x41, readable, &row),
				 CT_CFI_OTHER);
	}
	lim_hi = (uintptr_t)buf + whole;
	row_at(hdr, 0x41, CT_CFI_ROW);
	/* corrupt lengths and offsets never read outside either */
	uint64_t seed = 1;
	for (int i = 0; i < 20000; i++) {
		hdr = build("zR", cie_std, sizeof(cie_std), fde_frame, sizeof(fde_frame));
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		buf[(seed >> 33) % blen] ^= (uint8_t)(seed >> 20);
		ct_cfi_row row;
		ct_cfi_find(hdr, (uintptr_t)code + (seed >> 40) % sizeof(code), readable, &row);
	}
	lim_lo = lim_hi = 0;
}
END_TEST

static Suite *cfi_suite(void)
{
	return CT_CHECK_SUITE("cfi", live_stack_matches_backtrace, entry_row_of_a_real_function,
			      synthetic_rows_follow_the_program, synthetic_rows_that_need_more,
			      truncated_input_is_refused);
}
CT_CHECK_MAIN(cfi_suite)
