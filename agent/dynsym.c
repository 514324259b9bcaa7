/*
 * dynsym.c — a loaded module's dynamic symbol table, read from memory (rules in dynsym.h).
 */
#include <elf.h>
#include <string.h>

#include "agent/dynsym.h"

/* Whether [addr, addr+len) lies in one of the module's loaded segments. */
static int in_module(const struct dl_phdr_info *info, uintptr_t addr, size_t len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && addr >= lo && len <= ph->p_memsz &&
		    addr - lo <= ph->p_memsz - len)
			return 1;
	}
	return 0;
}

/* The number of symbols, from the GNU hash table: one past the last symbol of the chain
 * that starts at the highest bucket (symbols below symoffset are not hashed). */
static size_t gnu_count(const struct dl_phdr_info *info, uintptr_t at)
{
	const uint32_t *h = (const uint32_t *)at;
	if (!in_module(info, at, 16))
		return 0;
	uint32_t nbucket = h[0], symoffset = h[1], bloom = h[2];
	uintptr_t buckets = at + 16 + (uintptr_t)bloom * sizeof(ElfW(Addr));
	if (bloom > (1u << 24) || nbucket > (1u << 24) ||
	    !in_module(info, buckets, (size_t)nbucket * 4))
		return 0;
	uint32_t last = 0;
	for (uint32_t b = 0; b < nbucket; b++)
		if (((const uint32_t *)buckets)[b] > last)
			last = ((const uint32_t *)buckets)[b];
	if (last < symoffset)
		return symoffset;
	uintptr_t chain = buckets + (size_t)nbucket * 4;
	for (uint32_t i = last;; i++) {
		uintptr_t c = chain + (size_t)(i - symoffset) * 4;
		if (!in_module(info, c, 4))
			return 0;
		if (*(const uint32_t *)c & 1)
			return (size_t)i + 1;
	}
}

int ct_dynsym_open(ct_dynsym *d, const struct dl_phdr_info *info)
{
	memset(d, 0, sizeof(*d));
	const ElfW(Dyn) *dyn = NULL;
	size_t dynsz = 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
			dynsz = info->dlpi_phdr[i].p_memsz;
		}
	if (!dyn || !in_module(info, (uintptr_t)dyn, dynsz))
		return -1;
	uintptr_t sym = 0, str = 0, hash = 0, gnu = 0;
	size_t strsz = 0;
	/* The loader relocates these entries in place where .dynamic is writable; the vDSO's
	 * and some others' stay offsets from the load bias. */
	for (size_t i = 0; i < dynsz / sizeof(*dyn) && dyn[i].d_tag != DT_NULL; i++) {
		uintptr_t v = dyn[i].d_un.d_ptr;
		if (v < info->dlpi_addr)
			v += info->dlpi_addr;
		switch (dyn[i].d_tag) {
		case DT_SYMTAB:
			sym = v;
			break;
		case DT_STRTAB:
			str = v;
			break;
		case DT_HASH:
			hash = v;
			break;
		case DT_GNU_HASH:
			gnu = v;
			break;
		case DT_STRSZ:
			strsz = dyn[i].d_un.d_val;
			break;
		default:
			break;
		}
	}
	size_t n = 0;
	if (hash && in_module(info, hash, 8))
		n = ((const uint32_t *)hash)[1];
	else if (gnu)
		n = gnu_count(info, gnu);
	if (!sym || !str || !n || n > (1u << 24) || !in_module(info, sym, n * sizeof(ElfW(Sym))) ||
	    !in_module(info, str, strsz))
		return -1;
	d->base = info->dlpi_addr;
	d->sym = (const ElfW(Sym) *)sym;
	d->str = (const char *)str;
	d->nsym = n;
	d->strsz = strsz;
	return 0;
}

/* The name of a defined function symbol, or NULL (another kind, undefined, or a name not
 * ended inside .dynstr). */
static const char *func_name(const ct_dynsym *d, const ElfW(Sym) * s)
{
	int type = ELF64_ST_TYPE(s->st_info);
	if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s->st_shndx == SHN_UNDEF ||
	    !s->st_value || s->st_name >= d->strsz)
		return NULL;
	const char *name = d->str + s->st_name;
	return memchr(name, 0, d->strsz - s->st_name) ? name : NULL;
}

uintptr_t ct_dynsym_find(const ct_dynsym *d, const char *name, uintptr_t at)
{
	for (size_t i = 0; i < d->nsym; i++) {
		const char *s = func_name(d, &d->sym[i]);
		uintptr_t v = d->base + d->sym[i].st_value;
		if (s && strcmp(s, name) == 0 && (!at || v == at))
			return v;
	}
	return 0;
}

int ct_dynsym_at(const ct_dynsym *d, uintptr_t addr,
		 int (*fn)(const char *name, uintptr_t value, void *arg), void *arg)
{
	for (size_t i = 0; i < d->nsym; i++) {
		const ElfW(Sym) *s = &d->sym[i];
		uintptr_t v = d->base + s->st_value;
		const char *name;
		if (addr >= v && addr - v < (s->st_size ? s->st_size : 1) &&
		    (name = func_name(d, s)) != NULL) {
			int r = fn(name, v, arg);
			if (r)
				return r;
		}
	}
	return 0;
}
