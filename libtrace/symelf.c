/*
 * symelf.c — the symbolizer's ELF symbol tables (see symbolize_impl.h): a sorted index of
 * the function symbols of the table libdwfl picked (.symtab, else .dynsym for a stripped
 * module, or the MiniDebugInfo table), built on first use; dwfl_module_addrinfo would scan
 * the whole table for every address.
 */
#include <gelf.h>
#include <stdlib.h>

#include "libtrace/symbolize_impl.h"
#include "libtrace/vec.h"

/* Sorts by address; at one address sizeless symbols first, then by rank, so that the last
 * symbol at an address is the preferred one. */
static int sym_cmp(const void *a, const void *b)
{
	const struct ct_sym_elfsym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((x->size != 0) != (y->size != 0))
		return x->size != 0 ? 1 : -1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Builds the module's function symbol index (.symtab, or .dynsym when stripped: whichever
 * libdwfl found). dwfl_module_addrinfo would scan the whole table for every address. */
static void build_syms(struct ct_sym_module *m)
{
	m->syms_built = true;
	int n = dwfl_module_getsymtab(m->mod);
	if (n <= 1)
		return;
	if (n > CT_SYM_MAX_SYMS)
		n = CT_SYM_MAX_SYMS;
	m->syms = malloc((size_t)n * sizeof(*m->syms));
	if (!m->syms)
		return;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name =
			dwfl_module_getsym_info(m->mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !name[0] || shndx == SHN_UNDEF || shndx == SHN_ABS ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
			continue;
		int bind = GELF_ST_BIND(sym.st_info);
		m->syms[m->nsyms++] = (struct ct_sym_elfsym){
			addr, sym.st_size, name, bind == STB_GLOBAL ? 2 : bind == STB_WEAK};
	}
	if (m->nsyms)
		qsort(m->syms, m->nsyms, sizeof(*m->syms), sym_cmp);
}

const char *ct_sym_starting_at(struct ct_sym_module *m, uint64_t a)
{
	if (!m->syms_built)
		build_syms(m);
	size_t lo = CT_VEC_UPPER_BOUND(m->syms, m->nsyms, addr, a);
	for (size_t i = lo; i > 0 && m->syms[i - 1].addr == a; i--)
		if (m->syms[i - 1].size)
			return m->syms[i - 1].name;
	return NULL;
}

const char *ct_sym_lookup(struct ct_sym_module *m, uint64_t a)
{
	if (!m->syms_built)
		build_syms(m);
	size_t lo = CT_VEC_UPPER_BOUND(m->syms, m->nsyms, addr, a);
	for (size_t i = lo, tries = 0; i > 0 && tries < 8; i--, tries++) {
		const struct ct_sym_elfsym *sy = &m->syms[i - 1];
		if (sy->size && a - sy->addr < sy->size)
			return sy->name;
	}
	return lo > 0 && m->syms[lo - 1].size == 0 ? m->syms[lo - 1].name : NULL;
}
