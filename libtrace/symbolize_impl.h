/*
 * symbolize_impl.h — private to the symbolizer (symbolize.h): its module table and caches,
 * shared by symbolize.c (modules, the cache, the public API), symdwarf.c (DWARF) and
 * symelf.c (ELF symbol tables). Nothing else includes it.
 */
#ifndef CT_SYMBOLIZE_IMPL_H
#define CT_SYMBOLIZE_IMPL_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "libtrace/idmap.h"
#include "libtrace/intern.h"
#include "libtrace/perfmap.h"
#include "libtrace/symbolize.h"

enum {
	CT_SYM_MAX_FRAMES = 64,	   /* inlined frames kept per location */
	CT_SYM_MAX_DIE_DEPTH = 32, /* nesting followed in a DIE tree (bounds hostile DWARF) */
	CT_SYM_MAX_DIES_PER_CU = 1 << 22, /* DIEs visited when indexing one CU */
	CT_SYM_MAX_RANGES_PER_DIE = 4096,
	CT_SYM_MAX_UNITS = 1 << 20, /* compile units indexed in one module */
	CT_SYM_MAX_SYMS = 1 << 24,  /* symbols indexed in one module */
};

/* How a location was resolved: drives the mapping's has_* flags. */
enum {
	CT_SYM_HOW_FALLBACK = 0,
	CT_SYM_HOW_SYMBOL = 1, /* function name from an ELF symbol (or a perf map) */
	CT_SYM_HOW_LINES = 2,  /* file:line from the line table */
	CT_SYM_HOW_DWARF = 4,  /* function from DWARF, inline frames considered */
};

enum ct_sym_mod_state { CT_SYM_MOD_OK, CT_SYM_MOD_SPECIAL, CT_SYM_MOD_UNUSABLE };

struct ct_sym_frame {
	const char *name, *sysname, *file; /* interned in the symbolizer */
	int64_t line, start_line;
};

struct ct_sym_entry {
	uint32_t first; /* index of the innermost frame in ct_symbolizer.frames */
	uint16_t n;
	uint16_t how;
};

struct ct_sym_range {
	Dwarf_Addr lo, hi;
	Dwarf_Die die;
};

struct ct_sym_ranges {
	struct ct_sym_range *r;
	size_t n, cap;
};

struct ct_sym_seg {
	uint64_t offset, vaddr, filesz, memsz;
};

struct ct_sym_elfsym {
	uint64_t addr, size; /* module addresses */
	const char *name;    /* in the ELF file's string table */
	int rank;	     /* among symbols at one address the highest wins */
};

struct ct_sym_module {
	char *path, *build_id; /* the key */
	enum ct_sym_mod_state state;
	const char *label; /* interned: basename, or the special name */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	struct ct_sym_seg *segs;
	size_t nsegs;
	ct_idmap addrs; /* file offset + 1 → index in ct_symbolizer.entries */
	ct_idmap cus;	/* CU DIE offset → index in funcs */
	struct ct_sym_ranges *funcs;
	size_t nfuncs, capfuncs;
	struct ct_sym_ranges cu_ranges; /* own CU index, used when .debug_aranges is missing */
	bool cu_ranges_built;
	struct ct_sym_elfsym *syms; /* function symbols sorted by address, built on first use */
	size_t nsyms;
	bool syms_built;
	struct ct_sym_module *next;
};

struct ct_symbolizer {
	FILE *warn;
	struct ct_sym_module *modules;
	ct_intern strs;
	struct ct_sym_frame *frames;
	size_t nframes, capframes;
	struct ct_sym_entry *entries;
	size_t nentries, capentries;
	/* JIT code: where perf maps are looked for, and the one loaded (perfmap.h) */
	char *perfmap_dir;
	long perfmap_pid;
	ct_perfmap *perfmap;
	bool perfmap_tried;
};

/* symbolize.c: s's copy of str (equal strings, equal pointers); NULL on ENOMEM. */
const char *ct_sym_intern(ct_symbolizer *s, const char *str);

/* symbolize.c: the human form of a symbol name, interned: demangled when it is a C++ or
 * Rust name (demangle.h), else the name itself. NULL on ENOMEM. */
const char *ct_sym_human_name(ct_symbolizer *s, const char *sysname);

/* symbolize.c: appends f to s->frames. 0, or -ENOMEM (also when a name of f is NULL: an
 * interning that failed). */
int ct_sym_push_frame(ct_symbolizer *s, const struct ct_sym_frame *f);

/* symdwarf.c: frames from DWARF for module address maddr, pushed to s->frames innermost
 * first; *how gets CT_SYM_HOW_* bits. 0 with no frame pushed when DWARF does not know
 * the address; -ENOMEM. */
int ct_sym_resolve_dwarf(ct_symbolizer *s, struct ct_sym_module *m, Dwarf_Addr maddr, int *how);

/* symdwarf.c: the line table's file (interned) and line for module address maddr. */
bool ct_sym_line_at(ct_symbolizer *s, struct ct_sym_module *m, Dwarf_Addr maddr, const char **file,
		    int64_t *line);

/* symdwarf.c: frees the module's DWARF indexes. */
void ct_sym_dwarf_free(struct ct_sym_module *m);

/* symelf.c: the name of the function symbol holding module address a, or NULL. A sized
 * symbol must cover a; a sizeless one (hand-written assembly) covers up to the next one. */
const char *ct_sym_lookup(struct ct_sym_module *m, uint64_t a);
/* The name of a function symbol that starts exactly at a, or NULL. */
const char *ct_sym_starting_at(struct ct_sym_module *m, uint64_t a);

#endif
