/*
 * dynsym.h — a loaded module's dynamic symbol table, read from memory without the loader.
 *
 * dladdr and dlsym take the loader's lock, which a library constructor holds for as long as
 * it runs; the collector must not wait for it (modules.c, selffold.c). The tables read here
 * are the ones the loader itself uses: .dynsym and .dynstr, found through PT_DYNAMIC, with
 * the symbol count from the hash table. The module must stay mapped while a table is used
 * (the collector holds ct_modules_hold). Every address is checked to lie in the module's
 * mapped segments before it is read.
 */
#ifndef CT_AGENT_DYNSYM_H
#define CT_AGENT_DYNSYM_H

#include <link.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uintptr_t base; /* load bias */
	const ElfW(Sym) * sym;
	const char *str;
	size_t nsym, strsz;
} ct_dynsym;

/* Reads the table of the module dl_iterate_phdr describes. Returns 0, or -1 when it has
 * none that can be read (d is then empty: lookups find nothing). */
int ct_dynsym_open(ct_dynsym *d, const struct dl_phdr_info *info);

/* The value (runtime address) of the defined function `name` whose value is `at` when
 * at != 0 (any version of the name), or of the first defined function `name` when at == 0;
 * 0 when there is none. */
uintptr_t ct_dynsym_find(const ct_dynsym *d, const char *name, uintptr_t at);

/* Calls fn(name, value, arg) for each defined function whose extent holds addr, until fn
 * returns non-zero; returns that, or 0. */
int ct_dynsym_at(const ct_dynsym *d, uintptr_t addr,
		 int (*fn)(const char *name, uintptr_t value, void *arg), void *arg);

#endif
