/*
 * fuzz_cfi.c — libFuzzer target: the unwind-row reader (libtrace/cfi.h) on arbitrary
 * bytes taken as a module's .eh_frame_hdr followed by its .eh_frame (the seeds are those
 * two sections of real shared objects, dumped as one memory image). Rows are asked for
 * the pcs the search table names and for a few others; every read must stay inside the
 * image (the `readable` callback bounds it, ASan checks the rest) and a row must be one
 * an unwinder can use.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/cfi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uintptr_t lo, hi;

static int readable(uintptr_t addr, size_t len)
{
	return addr >= lo && addr <= hi && len <= hi - addr;
}

static void ask(uintptr_t pc)
{
	ct_cfi_row row;
	memset(&row, 0xa5, sizeof(row));
	int kind = ct_cfi_find(lo, pc, readable, &row);
	if (kind != CT_CFI_OTHER && kind != CT_CFI_ROW && kind != CT_CFI_END)
		abort();
	if (kind == CT_CFI_ROW &&
	    (row.kind != kind || (row.cfa_reg != CT_CFI_RSP && row.cfa_reg != CT_CFI_RBP))) {
		fprintf(stderr, "fuzz_cfi: bad row for pc %#lx\n", (unsigned long)pc);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	lo = (uintptr_t)buf;
	hi = lo + size;
	/* The table (datarel sdata4 pairs at hdr + 12): each function's start, and a pc in it. */
	for (size_t i = 0; i < 32 && 12 + 8 * i + 4 <= size; i++) {
		int32_t v;
		memcpy(&v, buf + 12 + 8 * i, 4);
		ask(lo + (uintptr_t)(intptr_t)v);
		ask(lo + (uintptr_t)(intptr_t)v + 5);
	}
	ask(lo - 1);
	ask(lo + size / 2);
	ask(0);
	free(buf);
	return 0;
}
