/*
 * cfi.h — unwind rows from DWARF call frame information (.eh_frame), x86-64.
 *
 * A row says, for one pc, how to find its caller's frame: CFA = rsp or rbp + offset, the
 * return address saved at CFA + ra_off, and rbp either unchanged or saved at CFA +
 * rbp_off. That is what GCC and clang emit for nearly every x86-64 instruction, and it is
 * all an unwinder needs when no CFA is computed from another register: the agent's
 * collector keeps these rows in a cache and unwinds a warm stack with a few loads per frame
 * (agent/unwind.c). A row that needs more — a DWARF expression, a signal frame, a CFA in
 * another register, a register saved in a register — is CT_CFI_OTHER: the caller must use
 * a full unwinder (libunwind) for that pc.
 *
 * The lookup reads the module in place (the caller's own process): the .eh_frame_hdr
 * binary-search table, then the FDE and its CIE, whose CFA programs run up to the pc.
 * Every range is checked with the caller's `readable` callback before it is read, so a
 * corrupt or truncated table yields CT_CFI_OTHER, never a wild read. No allocation, no
 * locks, no global state: safe from any thread.
 */
#ifndef CT_CFI_H
#define CT_CFI_H

#include <stddef.h>
#include <stdint.h>

/* DWARF register numbers (x86-64 psABI), the same as agent/events.h's CT_REG_*. */
enum { CT_CFI_RBP = 6, CT_CFI_RSP = 7, CT_CFI_RA = 16 };

enum {
	CT_CFI_OTHER = 0, /* no FDE, or not expressible as a row: use a full unwinder */
	CT_CFI_ROW,	  /* CFA = cfa_reg + cfa_off; ra at CFA + ra_off; rbp per rbp_saved */
	CT_CFI_END,	  /* return address (or rbp) undefined: the outermost frame */
};

typedef struct {
	uint8_t kind;	   /* CT_CFI_* */
	uint8_t cfa_reg;   /* CT_CFI_RSP or CT_CFI_RBP */
	uint8_t rbp_saved; /* 1: the caller's rbp is saved at CFA + rbp_off; 0: unchanged */
	int32_t cfa_off, ra_off, rbp_off;
} ct_cfi_row;

/* Whether [addr, addr + len) may be read. */
typedef int (*ct_cfi_readable_fn)(uintptr_t addr, size_t len);

/* The row for pc in the module whose .eh_frame_hdr is at runtime address eh_frame_hdr.
 * pc is the exact pc for an interrupted frame and the return address - 1 for a caller.
 * Returns row->kind. */
int ct_cfi_find(uintptr_t eh_frame_hdr, uintptr_t pc, ct_cfi_readable_fn readable, ct_cfi_row *row);

#endif
