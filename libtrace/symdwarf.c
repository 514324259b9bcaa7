/*
 * symdwarf.c — the symbolizer's DWARF side (see symbolize_impl.h): for a module address,
 * the compile unit holding it (from .debug_aranges, or an index of every unit's ranges
 * when a compiler such as clang did not emit them), the subprogram holding it (a per-CU
 * sorted index of subprogram ranges, built once per CU: dwarf_getscopes would rescan the
 * whole CU for every address), the chain of inlined subroutines under it, and the line
 * table. Frame k's line is the call site (DW_AT_call_file/line) of frame k−1; the
 * innermost frame's comes from the line table.
 */
#include <dwarf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/symbolize_impl.h"
#include "libtrace/vec.h"

static const char *die_string(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute attr;
	return dwarf_formstring(dwarf_attr_integrate(die, name, &attr));
}

/* Fills f's names from a subprogram or inlined-subroutine DIE. False when it has none. */
static bool die_names(ct_symbolizer *s, Dwarf_Die *die, struct ct_sym_frame *f)
{
	const char *link = die_string(die, DW_AT_linkage_name);
	if (!link)
		link = die_string(die, DW_AT_MIPS_linkage_name);
	const char *plain = die_string(die, DW_AT_name);
	if (!link && !plain)
		return false;
	f->sysname = ct_sym_intern(s, link ? link : plain);
	f->name = link ? ct_sym_human_name(s, link) : f->sysname;
	int line = 0;
	f->start_line = dwarf_decl_line(die, &line) == 0 && line > 0 ? line : 0;
	return f->sysname && f->name;
}

static int range_cmp(const void *a, const void *b)
{
	const struct ct_sym_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int add_ranges(struct ct_sym_ranges *rl, Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	for (int i = 0; i < CT_SYM_MAX_RANGES_PER_DIE; i++) {
		off = dwarf_ranges(die, off, &base, &lo, &hi);
		if (off <= 0)
			break;
		if (hi <= lo)
			continue;
		if (CT_VEC_RESERVE(rl->r, rl->cap, rl->n + 1))
			return -ENOMEM;
		rl->r[rl->n++] = (struct ct_sym_range){lo, hi, *die};
	}
	return 0;
}

/* The entry of a sorted range list holding pc, or NULL. Ranges rarely overlap (nested
 * functions, hostile input): a few entries before the candidate are checked too. */
static struct ct_sym_range *range_find(const struct ct_sym_ranges *rl, Dwarf_Addr pc)
{
	size_t lo = CT_VEC_UPPER_BOUND(rl->r, rl->n, lo, pc);
	for (size_t i = lo, tries = 0; i > 0 && tries < 8; i--, tries++) {
		if (pc < rl->r[i - 1].hi)
			return &rl->r[i - 1];
	}
	return NULL;
}

/* Adds the subprograms under parent (descending into namespaces and classes). */
static int collect_funcs(struct ct_sym_ranges *rl, Dwarf_Die *parent, int depth, size_t *budget)
{
	Dwarf_Die child;
	if (depth > CT_SYM_MAX_DIE_DEPTH || dwarf_child(parent, &child) != 0)
		return 0;
	do {
		if (!*budget)
			return 0;
		--*budget;
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
			if (add_ranges(rl, &child))
				return -ENOMEM;
			break;
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_module:
			if (collect_funcs(rl, &child, depth + 1, budget))
				return -ENOMEM;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

/* The subprogram index of the CU cudie, built on first use. NULL on ENOMEM. */
static struct ct_sym_ranges *cu_funcs(struct ct_sym_module *m, Dwarf_Die *cudie)
{
	uint64_t key = dwarf_dieoffset(cudie);
	uint32_t idx = ct_idmap_get(&m->cus, key);
	if (idx != UINT32_MAX)
		return &m->funcs[idx];
	if (CT_VEC_RESERVE(m->funcs, m->capfuncs, m->nfuncs + 1))
		return NULL;
	struct ct_sym_ranges *rl = &m->funcs[m->nfuncs];
	*rl = (struct ct_sym_ranges){0};
	size_t budget = CT_SYM_MAX_DIES_PER_CU;
	if (collect_funcs(rl, cudie, 0, &budget) ||
	    ct_idmap_put(&m->cus, key, (uint32_t)m->nfuncs)) {
		free(rl->r);
		return NULL;
	}
	m->nfuncs++;
	if (rl->n)
		qsort(rl->r, rl->n, sizeof(*rl->r), range_cmp);
	return rl;
}

/* The CU holding module address maddr, from .debug_aranges (libdwfl) or, when those are
 * missing (clang's default), from an index of every CU's ranges. *pc gets the DWARF
 * address. */
static bool find_cu(struct ct_sym_module *m, Dwarf_Addr maddr, Dwarf_Die *cudie, Dwarf_Addr *pc)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, maddr, &bias);
	/* libdwfl stretches each .debug_aranges entry to the next one: where the table covers
	 * only some units (a Go binary's lists its cgo C files alone), an address of another
	 * unit lands in the C unit before it. Taken only when the unit says it holds pc. */
	if (cu && (dwarf_hasattr(cu, DW_AT_low_pc) || dwarf_hasattr(cu, DW_AT_ranges)) &&
	    dwarf_haspc(cu, maddr - bias) <= 0)
		cu = NULL;
	if (cu) {
		*cudie = *cu;
		*pc = maddr - bias;
		return true;
	}
	Dwarf *dw = dwfl_module_getdwarf(m->mod, &bias);
	if (!dw)
		return false;
	if (!m->cu_ranges_built) {
		m->cu_ranges_built = true;
		Dwarf_CU *unit = NULL;
		Dwarf_Die die;
		uint8_t unit_type;
		Dwarf_Half version;
		for (size_t i = 0; i < CT_SYM_MAX_UNITS; i++) {
			if (dwarf_get_units(dw, unit, &unit, &version, &unit_type, &die, NULL) != 0)
				break;
			if (unit_type == DW_UT_compile && add_ranges(&m->cu_ranges, &die))
				break;
		}
		if (m->cu_ranges.n)
			qsort(m->cu_ranges.r, m->cu_ranges.n, sizeof(*m->cu_ranges.r), range_cmp);
	}
	struct ct_sym_range *r = range_find(&m->cu_ranges, maddr - bias);
	if (!r)
		return false;
	*cudie = r->die;
	*pc = maddr - bias;
	return true;
}

static bool has_pc_attrs(Dwarf_Die *die)
{
	return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

/* Appends to chain the inlined subroutines under parent that hold pc, outermost first,
 * looking through lexical blocks. */
static void inline_chain(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *chain, int *n, int depth)
{
	Dwarf_Die child;
	if (depth > CT_SYM_MAX_DIE_DEPTH || *n >= CT_SYM_MAX_FRAMES ||
	    dwarf_child(parent, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block)
			continue;
		if (!has_pc_attrs(&child)) {
			if (tag != DW_TAG_lexical_block)
				continue;
			int before = *n;
			inline_chain(&child, pc, chain, n, depth + 1);
			if (*n > before)
				return;
			continue;
		}
		if (dwarf_haspc(&child, pc) <= 0)
			continue;
		if (tag == DW_TAG_inlined_subroutine)
			chain[(*n)++] = child;
		inline_chain(&child, pc, chain, n, depth + 1);
		return;
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* A source path from CU cudie's line table, interned: a relative one (a DWARF 5 directory
 * relative to the compilation directory, which libdw leaves as is) is joined to the CU's
 * absolute DW_AT_comp_dir, so that viewers can find the file from anywhere. */
static const char *src_path(ct_symbolizer *s, Dwarf_Die *cudie, const char *name)
{
	Dwarf_Attribute attr;
	const char *dir =
		name[0] == '/' ? NULL : dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
	if (!dir || dir[0] != '/')
		return ct_sym_intern(s, name);
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	char *joined;
	if (asprintf(&joined, "%s/%s", dir, name) < 0)
		return NULL;
	const char *r = ct_sym_intern(s, joined);
	free(joined);
	return r;
}

/* The call site of an inlined subroutine, as file (interned) and line. */
static void call_site(ct_symbolizer *s, Dwarf_Die *inl, const char **file, int64_t *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word w = 0;
	*line = dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &w) == 0 ? (int64_t)w : 0;
	*file = ct_sym_intern(s, "");
	Dwarf_Die cu;
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &w) != 0 ||
	    !dwarf_diecu(inl, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 ||
	    w >= nfiles)
		return;
	const char *name = dwarf_filesrc(files, w, NULL, NULL);
	if (name)
		*file = src_path(s, &cu, name);
}

/* The line table's file (interned) and line for DWARF address pc of CU cudie. */
static bool src_line(ct_symbolizer *s, Dwarf_Die *cudie, Dwarf_Addr pc, const char **file,
		     int64_t *line)
{
	Dwarf_Line *dl = dwarf_getsrc_die(cudie, pc);
	const char *src = dl ? dwarf_linesrc(dl, NULL, NULL) : NULL;
	int lineno = 0;
	if (!src || dwarf_lineno(dl, &lineno) != 0)
		return false;
	*file = src_path(s, cudie, src);
	*line = lineno > 0 ? lineno : 0;
	return true;
}

int ct_sym_resolve_dwarf(ct_symbolizer *s, struct ct_sym_module *m, Dwarf_Addr maddr, int *how)
{
	Dwarf_Die cudie;
	Dwarf_Addr pc;
	if (!find_cu(m, maddr, &cudie, &pc))
		return 0;
	struct ct_sym_ranges *rl = cu_funcs(m, &cudie);
	if (!rl)
		return -ENOMEM;
	struct ct_sym_range *fr = range_find(rl, pc);
	if (!fr)
		return 0;
	Dwarf_Die chain[CT_SYM_MAX_FRAMES];
	int n = 1;
	chain[0] = fr->die;
	inline_chain(&fr->die, pc, chain, &n, 0);

	const char *file = ct_sym_intern(s, "");
	int64_t line = 0;
	if (src_line(s, &cudie, pc, &file, &line))
		*how |= CT_SYM_HOW_LINES;
	for (int i = n - 1; i >= 0; i--) {
		struct ct_sym_frame f = {.file = file, .line = line};
		bool named = die_names(s, &chain[i], &f);
		if (!named)
			f.name = f.sysname = ct_sym_intern(s, "??");
		if (i == 0 && (!named || strncmp(f.sysname, "_Z", 2) != 0)) {
			/* DWARF without a (linkage) name, e.g. clang -gline-tables-only: take the
			 * symbol table's name when it is mangled or DWARF had none. */
			const char *sname = ct_sym_lookup(m, maddr);
			if (sname && sname[0] && (!named || strncmp(sname, "_Z", 2) == 0)) {
				f.sysname = ct_sym_intern(s, sname);
				f.name = ct_sym_human_name(s, sname);
			}
		}
		if (ct_sym_push_frame(s, &f))
			return -ENOMEM;
		if (i > 0)
			call_site(s, &chain[i], &file, &line);
	}
	*how |= CT_SYM_HOW_DWARF | CT_SYM_HOW_SYMBOL;
	return 0;
}

bool ct_sym_line_at(ct_symbolizer *s, struct ct_sym_module *m, Dwarf_Addr maddr, const char **file,
		    int64_t *line)
{
	Dwarf_Die cudie;
	Dwarf_Addr pc;
	return find_cu(m, maddr, &cudie, &pc) && src_line(s, &cudie, pc, file, line);
}

void ct_sym_dwarf_free(struct ct_sym_module *m)
{
	for (size_t i = 0; i < m->nfuncs; i++)
		free(m->funcs[i].r);
	free(m->funcs);
	free(m->cu_ranges.r);
	ct_idmap_free(&m->cus);
}
