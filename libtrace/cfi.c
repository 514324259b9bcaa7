/*
 * cfi.c — unwind rows from .eh_frame (contract in cfi.h).
 *
 * The path of a lookup: .eh_frame_hdr (version 1, a sorted table of datarel|sdata4
 * pairs: initial location, FDE address) → binary search for the last FDE starting at or
 * before the pc → the FDE's range check → its CIE (augmentation "z…": the FDE pointer
 * encoding, personality, LSDA, signal frame) → the CIE's initial instructions, then the
 * FDE's, run until the location passes the pc. Only three registers are tracked — the
 * CFA's base, rbp and the return address — since those are what a row holds; a rule on
 * any other register is irrelevant unless the CFA is based on it, which is CT_CFI_OTHER.
 */
#include "libtrace/cfi.h"

#include <string.h>

/* DW_EH_PE_* pointer encodings. */
#define PE_OMIT 0xff
#define PE_FORMAT 0x0f
#define PE_APPL 0x70
#define PE_PCREL 0x10
#define PE_DATAREL 0x30

#define MAX_REMEMBER 8 /* DW_CFA_remember_state nesting we follow */

typedef struct {
	uintptr_t p, end;
	int bad; /* a read ran past end, or an encoding we do not know */
} rd;

static uint64_t rd_fixed(rd *r, size_t n)
{
	if (r->bad || r->end - r->p < n) {
		r->bad = 1;
		return 0;
	}
	uint64_t v = 0;
	memcpy(&v, (const void *)r->p, n); /* little-endian host */
	r->p += n;
	return v;
}

/* Skips n bytes (a DWARF block or an augmentation), or marks the reader bad. */
static void rd_skip(rd *r, uint64_t n)
{
	if (n > r->end - r->p)
		r->bad = 1;
	else
		r->p += n;
}

static uint64_t rd_uleb(rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = (uint8_t)rd_fixed(r, 1);
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80) || r->bad)
			return v;
	}
	r->bad = 1;
	return 0;
}

static int64_t rd_sleb(rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = (uint8_t)rd_fixed(r, 1);
		v |= (uint64_t)(b & 0x7f) << shift;
		if (r->bad)
			return 0;
		if (!(b & 0x80)) {
			if (shift + 7 < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << (shift + 7);
			return (int64_t)v;
		}
	}
	r->bad = 1;
	return 0;
}

/* An encoded pointer (DW_EH_PE_*); datarel is the base of datarel values. The indirect
 * bit (0x80) changes nothing here: we skip personality pointers, never follow them. */
static uintptr_t rd_ptr(rd *r, uint8_t enc, uintptr_t datarel)
{
	uintptr_t at = r->p;
	uint64_t v;
	switch (enc & PE_FORMAT) {
	case 0x00: /* absptr */
	case 0x04: /* udata8 */
	case 0x0c: /* sdata8 */
		v = rd_fixed(r, 8);
		break;
	case 0x01:
		v = rd_uleb(r);
		break;
	case 0x02:
		v = rd_fixed(r, 2);
		break;
	case 0x03:
		v = rd_fixed(r, 4);
		break;
	case 0x09:
		v = (uint64_t)rd_sleb(r);
		break;
	case 0x0a:
		v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2);
		break;
	case 0x0b:
		v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4);
		break;
	default:
		r->bad = 1;
		return 0;
	}
	switch (enc & PE_APPL) {
	case 0x00:
		return v;
	case PE_PCREL:
		return at + v;
	case PE_DATAREL:
		return datarel + v;
	default:
		r->bad = 1;
		return 0;
	}
}

/* A reader over one CIE or FDE record at addr, checked readable; 0 when it is not. The
 * record's body is [r->p, r->end), starting with its CIE id / CIE pointer. */
static int rd_record(rd *r, uintptr_t addr, ct_cfi_readable_fn readable)
{
	uint32_t len;
	if (!readable(addr, 4))
		return 0;
	memcpy(&len, (const void *)addr, 4);
	if (len == 0 || len == 0xffffffffu || len > (1u << 24) || !readable(addr + 4, len))
		return 0; /* terminator, 64-bit DWARF (never in .eh_frame here), or corrupt */
	*r = (rd){.p = addr + 4, .end = addr + 4 + len};
	return 1;
}

/* What a CIE tells its FDEs. */
typedef struct {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	uint8_t has_aug_len; /* "z": FDEs carry an augmentation length */
	uint8_t signal;	     /* "S": frames of this CIE are signal frames */
	uintptr_t ops, ops_end;
} cie;

static int parse_cie(uintptr_t addr, ct_cfi_readable_fn readable, cie *c)
{
	rd r;
	if (!rd_record(&r, addr, readable) || rd_fixed(&r, 4) != 0)
		return 0;
	uint8_t version = (uint8_t)rd_fixed(&r, 1);
	if (version != 1 && version != 3)
		return 0;
	char aug[8];
	size_t na = 0;
	for (;;) {
		char ch = (char)rd_fixed(&r, 1);
		if (r.bad || na == sizeof(aug))
			return 0;
		aug[na++] = ch;
		if (!ch)
			break;
	}
	memset(c, 0, sizeof(*c));
	c->code_align = rd_uleb(&r);
	c->data_align = rd_sleb(&r);
	c->ra_reg = version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r);
	c->fde_enc = 0; /* absptr */
	if (aug[0] == 'z') {
		c->has_aug_len = 1;
		uint64_t alen = rd_uleb(&r);
		rd_skip(&r, alen);
		if (r.bad)
			return 0;
		uintptr_t aug_end = r.p;
		r.p -= alen;
		for (const char *a = aug + 1; *a && !r.bad; a++) {
			if (*a == 'R') {
				c->fde_enc = (uint8_t)rd_fixed(&r, 1);
			} else if (*a == 'P') {
				uint8_t penc = (uint8_t)rd_fixed(&r, 1);
				rd_ptr(&r, penc, 0);
			} else if (*a == 'L') {
				rd_fixed(&r, 1);
			} else if (*a == 'S') {
				c->signal = 1;
			} else if (*a != 'B' && *a != 'G') {
				break; /* unknown: the length lets us skip the rest */
			}
		}
		r.p = aug_end;
	} else if (aug[0]) {
		return 0; /* "eh" and other pre-"z" augmentations */
	}
	c->ops = r.p;
	c->ops_end = r.end;
	return !r.bad && c->code_align && c->ra_reg == CT_CFI_RA;
}

/* Register rules we track (rbp, rsp, ra); any other register's rules are skipped. */
enum { R_SAME, R_UNDEF, R_OFFSET, R_OTHER };
enum { T_RBP, T_RSP, T_RA, NTRACK };

typedef struct {
	uint8_t how;
	int64_t off; /* R_OFFSET: saved at CFA + off */
} rule;

typedef struct {
	uint64_t cfa_reg;
	int64_t cfa_off;
	int cfa_other; /* CFA by expression */
	rule r[NTRACK];
} state;

/* v * align, wrapping like the hardware: a corrupt table may overflow, and make_row then
 * refuses the row (its offsets must fit 32 bits) instead of the program having UB. */
static int64_t scaled(int64_t v, int64_t align)
{
	return (int64_t)((uint64_t)v * (uint64_t)align);
}

static int track(uint64_t reg)
{
	return reg == CT_CFI_RBP ? T_RBP : reg == CT_CFI_RSP ? T_RSP : reg == CT_CFI_RA ? T_RA : -1;
}

static void set_rule(state *s, uint64_t reg, uint8_t how, int64_t off)
{
	int t = track(reg);
	if (t >= 0)
		s->r[t] = (rule){how, off};
}

/* Applies one instruction that only changes the row (a register or CFA rule), at r after
 * its opcode op. 0, or -1 for an opcode that is not one of them (or unknown). */
static int rule_op(const cie *c, rd *r, uint8_t op, state *s, const state *init)
{
	uint64_t reg;
	switch (op) {
	case 0x05: /* offset_extended */
		reg = rd_uleb(r);
		set_rule(s, reg, R_OFFSET, scaled((int64_t)rd_uleb(r), c->data_align));
		return 0;
	case 0x06: /* restore_extended */
		reg = rd_uleb(r);
		if (track(reg) >= 0)
			s->r[track(reg)] = init->r[track(reg)];
		return 0;
	case 0x07: /* undefined */
		set_rule(s, rd_uleb(r), R_UNDEF, 0);
		return 0;
	case 0x08: /* same_value */
		set_rule(s, rd_uleb(r), R_SAME, 0);
		return 0;
	case 0x09: /* register */
		reg = rd_uleb(r);
		rd_uleb(r);
		set_rule(s, reg, R_OTHER, 0);
		return 0;
	case 0x0c: /* def_cfa */
		s->cfa_reg = rd_uleb(r);
		s->cfa_off = (int64_t)rd_uleb(r);
		s->cfa_other = 0;
		return 0;
	case 0x0d: /* def_cfa_register */
		s->cfa_reg = rd_uleb(r);
		return 0;
	case 0x0e: /* def_cfa_offset */
		s->cfa_off = (int64_t)rd_uleb(r);
		return 0;
	case 0x0f: /* def_cfa_expression */
		rd_skip(r, rd_uleb(r));
		s->cfa_other = 1;
		return 0;
	case 0x10: /* expression */
	case 0x16: /* val_expression */
		reg = rd_uleb(r);
		rd_skip(r, rd_uleb(r));
		set_rule(s, reg, R_OTHER, 0);
		return 0;
	case 0x11: /* offset_extended_sf */
		reg = rd_uleb(r);
		set_rule(s, reg, R_OFFSET, scaled(rd_sleb(r), c->data_align));
		return 0;
	case 0x12: /* def_cfa_sf */
		s->cfa_reg = rd_uleb(r);
		s->cfa_off = scaled(rd_sleb(r), c->data_align);
		s->cfa_other = 0;
		return 0;
	case 0x13: /* def_cfa_offset_sf */
		s->cfa_off = scaled(rd_sleb(r), c->data_align);
		return 0;
	case 0x14: /* val_offset */
	case 0x15: /* val_offset_sf */
		reg = rd_uleb(r);
		rd_uleb(r); /* the sleb's bytes are skipped the same way */
		set_rule(s, reg, R_OTHER, 0);
		return 0;
	case 0x2e: /* GNU_args_size */
		rd_uleb(r);
		return 0;
	case 0x2f: /* GNU_negative_offset_extended */
		reg = rd_uleb(r);
		set_rule(s, reg, R_OFFSET, scaled((int64_t)(0 - rd_uleb(r)), c->data_align));
		return 0;
	default:
		return -1;
	}
}

/* Runs the CFA program [ops, end) from location *loc until the next row would start past
 * pc (then *loc > pc) or the program ends. init is the CIE's row (DW_CFA_restore). Returns
 * 0, or -1 on an unknown or malformed instruction. */
static int run(const cie *c, uintptr_t ops, uintptr_t end, uintptr_t pc, uintptr_t *loc, state *s,
	       const state *init)
{
	rd r = {.p = ops, .end = end};
	state saved[MAX_REMEMBER];
	int nsaved = 0;
	while (r.p < r.end && !r.bad) {
		uint8_t op = (uint8_t)rd_fixed(&r, 1);
		uint64_t delta = 0;
		switch (op >> 6) {
		case 1: /* DW_CFA_advance_loc */
			delta = (op & 0x3f) * c->code_align;
			break;
		case 2: /* DW_CFA_offset */
			set_rule(s, op & 0x3f, R_OFFSET,
				 scaled((int64_t)rd_uleb(&r), c->data_align));
			continue;
		case 3: /* DW_CFA_restore */
			if (track(op & 0x3f) >= 0)
				s->r[track(op & 0x3f)] = init->r[track(op & 0x3f)];
			continue;
		default:
			break;
		}
		switch (op >> 6 ? 0x100 : op) {
		case 0x100: /* advance_loc, above */
			break;
		case 0x00: /* nop */
			continue;
		case 0x01: /* set_loc */
			delta = rd_ptr(&r, c->fde_enc, 0) - *loc;
			break;
		case 0x02:
		case 0x03:
		case 0x04: /* advance_loc1/2/4 */
			delta = rd_fixed(&r, op == 0x02 ? 1 : op == 0x03 ? 2 : 4) * c->code_align;
			break;
		case 0x0a: /* remember_state */
			if (nsaved == MAX_REMEMBER)
				return -1;
			saved[nsaved++] = *s;
			continue;
		case 0x0b: /* restore_state: the CFA rule is restored too, as GCC expects */
			if (!nsaved)
				return -1;
			*s = saved[--nsaved];
			continue;
		default:
			if (rule_op(c, &r, op, s, init) < 0)
				return -1;
			continue;
		}
		/* A location advance: the row in force at pc is the current one if the next
		 * row starts past it. */
		if (*loc + delta > pc) {
			*loc += delta;
			return 0;
		}
		*loc += delta;
	}
	return r.bad ? -1 : 0;
}

/* Word i of the search table (pairs of sdata4: initial location, FDE), datarel. */
static int32_t table_at(uintptr_t t, size_t i)
{
	int32_t v;
	memcpy(&v, (const void *)(t + 4 * i), 4);
	return v;
}

/* The FDE address for pc from the .eh_frame_hdr search table, or 0. */
static uintptr_t search_hdr(uintptr_t hdr, uintptr_t pc, ct_cfi_readable_fn readable)
{
	if (!readable(hdr, 4))
		return 0;
	const uint8_t *h = (const uint8_t *)hdr;
	if (h[0] != 1 || h[3] != 0x3b) /* version 1; table datarel|sdata4 */
		return 0;
	rd r = {.p = hdr + 4, .end = hdr + 4 + 16};
	if (!readable(r.p, 16))
		return 0;
	rd_ptr(&r, h[1], hdr); /* eh_frame_ptr */
	uint64_t count = h[2] == PE_OMIT ? 0 : rd_ptr(&r, h[2], hdr);
	if (r.bad || !count || count > (1u << 26) || !readable(r.p, count * 8))
		return 0;
	uintptr_t t = r.p;
	int64_t want = (int64_t)(pc - hdr);
	if (want < table_at(t, 0))
		return 0;
	size_t lo = 0, hi = count; /* entry lo starts at or before want, entry hi after */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (table_at(t, 2 * mid) <= want)
			lo = mid;
		else
			hi = mid;
	}
	return hdr + (intptr_t)table_at(t, 2 * lo + 1);
}

static int make_row(const state *s, const cie *c, ct_cfi_row *row)
{
	memset(row, 0, sizeof(*row));
	const rule *ra = &s->r[T_RA], *bp = &s->r[T_RBP], *sp = &s->r[T_RSP];
	if (ra->how == R_UNDEF || bp->how == R_UNDEF)
		return row->kind = CT_CFI_END;
	if (c->signal || s->cfa_other || (s->cfa_reg != CT_CFI_RSP && s->cfa_reg != CT_CFI_RBP) ||
	    ra->how != R_OFFSET || (bp->how != R_SAME && bp->how != R_OFFSET) ||
	    sp->how != R_SAME || s->cfa_off != (int32_t)s->cfa_off || ra->off != (int32_t)ra->off ||
	    bp->off != (int32_t)bp->off)
		return row->kind = CT_CFI_OTHER;
	row->cfa_reg = (uint8_t)s->cfa_reg;
	row->cfa_off = (int32_t)s->cfa_off;
	row->ra_off = (int32_t)ra->off;
	row->rbp_saved = bp->how == R_OFFSET;
	row->rbp_off = row->rbp_saved ? (int32_t)bp->off : 0;
	return row->kind = CT_CFI_ROW;
}

int ct_cfi_find(uintptr_t eh_frame_hdr, uintptr_t pc, ct_cfi_readable_fn readable, ct_cfi_row *row)
{
	memset(row, 0, sizeof(*row));
	uintptr_t fde = eh_frame_hdr ? search_hdr(eh_frame_hdr, pc, readable) : 0;
	rd r;
	if (!fde || !rd_record(&r, fde, readable))
		return CT_CFI_OTHER;
	uintptr_t id_at = r.p;
	uint32_t cie_ptr = (uint32_t)rd_fixed(&r, 4);
	cie c;
	if (!cie_ptr || !parse_cie(id_at - cie_ptr, readable, &c))
		return CT_CFI_OTHER;
	uintptr_t start = rd_ptr(&r, c.fde_enc, 0);
	uintptr_t range = rd_ptr(&r, c.fde_enc & PE_FORMAT, 0);
	if (c.has_aug_len)
		rd_skip(&r, rd_uleb(&r));
	if (r.bad || pc < start || pc - start >= range)
		return CT_CFI_OTHER;
	/* Registers start "same value" (callee-saved) and the CFA undefined until the CIE's
	 * program defines it (cfa_other until then). */
	state s = {.cfa_other = 1};
	uintptr_t loc = start;
	if (run(&c, c.ops, c.ops_end, pc, &loc, &s, &s) < 0)
		return CT_CFI_OTHER;
	state init = s;
	if (loc <= pc && run(&c, r.p, r.end, pc, &loc, &s, &init) < 0)
		return CT_CFI_OTHER;
	return make_row(&s, &c, row);
}
