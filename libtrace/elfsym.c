/*
 * elfsym.c — function symbols of an ELF file (see elfsym.h).
 *
 * The file is mapped read-only just long enough to copy out what lookups need: the
 * PT_LOAD segments (file offset ↔ link-time address), and for every STT_FUNC/IFUNC symbol
 * defined in a section its address, size and name, the names copied into one string
 * buffer. The symbols are sorted by address; a lookup is a binary search. .symtab comes
 * first so that its (more complete) name wins when both tables name one address.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libtrace/elfsym.h"
#include "libtrace/safefile.h"

#define MAX_LOADS 16
#define MAX_FILE (1ull << 32) /* refuse images past 4 GiB */

typedef struct {
	uint64_t addr, size;
	uint32_t name; /* offset into ct_elfsym.names */
	uint32_t order;
} sym;

typedef struct {
	uint64_t offset, vaddr, filesz;
} load;

struct ct_elfsym {
	load loads[MAX_LOADS];
	int nloads;
	sym *syms;
	size_t nsyms;
	char *names;
	size_t names_len;
};

static int in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int read_loads(ct_elfsym *s, const uint8_t *buf, size_t len, const Elf64_Ehdr *eh)
{
	if (eh->e_phnum && eh->e_phentsize != sizeof(Elf64_Phdr))
		return -EINVAL;
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
		return -EINVAL;
	for (unsigned i = 0; i < eh->e_phnum && s->nloads < MAX_LOADS; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD)
			s->loads[s->nloads++] = (load){
				.offset = ph.p_offset, .vaddr = ph.p_vaddr, .filesz = ph.p_filesz};
	}
	return 0;
}

/* Appends the function symbols of one symbol table section and copies its strings. */
static int read_table(ct_elfsym *s, const uint8_t *buf, size_t len, const Elf64_Shdr *shs,
		      unsigned nsh, unsigned idx)
{
	const Elf64_Shdr *sh = &shs[idx];
	if (sh->sh_link >= nsh || sh->sh_entsize != sizeof(Elf64_Sym))
		return -EINVAL;
	const Elf64_Shdr *st = &shs[sh->sh_link];
	if (!in_file(sh->sh_offset, sh->sh_size, len) || !in_file(st->sh_offset, st->sh_size, len))
		return -EINVAL;
	if (!st->sh_size || st->sh_size > UINT32_MAX - s->names_len)
		return 0;
	size_t n = sh->sh_size / sizeof(Elf64_Sym);
	sym *syms = realloc(s->syms, (s->nsyms + n) * sizeof(sym) + 1);
	if (!syms)
		return -ENOMEM;
	s->syms = syms;
	char *names = realloc(s->names, s->names_len + st->sh_size + 1);
	if (!names)
		return -ENOMEM;
	s->names = names;
	size_t base = s->names_len;
	memcpy(names + base, buf + st->sh_offset, st->sh_size);
	names[base + st->sh_size] = 0; /* every name ends inside the copy */
	s->names_len += st->sh_size + 1;
	for (size_t i = 0; i < n; i++) {
		Elf64_Sym e;
		memcpy(&e, buf + sh->sh_offset + i * sizeof(e), sizeof(e));
		int type = ELF64_ST_TYPE(e.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || e.st_shndx == SHN_UNDEF ||
		    !e.st_value || e.st_name >= st->sh_size || !names[base + e.st_name])
			continue;
		s->syms[s->nsyms] = (sym){.addr = e.st_value,
					  .size = e.st_size,
					  .name = (uint32_t)(base + e.st_name),
					  .order = (uint32_t)s->nsyms};
		s->nsyms++;
	}
	return 0;
}

static int by_addr(const void *a_, const void *b_)
{
	const sym *a = a_, *b = b_;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int parse(ct_elfsym *s, const uint8_t *buf, size_t len)
{
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return -EINVAL;
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -EINVAL;
	int r = read_loads(s, buf, len, &eh);
	if (r < 0)
		return r;
	if (!eh.e_shnum)
		return 0;
	if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), len))
		return -EINVAL;
	Elf64_Shdr *shs = malloc(eh.e_shnum * sizeof(Elf64_Shdr));
	if (!shs)
		return -ENOMEM;
	memcpy(shs, buf + eh.e_shoff, eh.e_shnum * sizeof(Elf64_Shdr));
	static const uint32_t order[] = {SHT_SYMTAB, SHT_DYNSYM};
	for (int t = 0; t < 2 && r == 0; t++)
		for (unsigned i = 0; i < eh.e_shnum && r == 0; i++)
			if (shs[i].sh_type == order[t])
				r = read_table(s, buf, len, shs, eh.e_shnum, i);
	free(shs);
	if (r == 0 && s->nsyms)
		qsort(s->syms, s->nsyms, sizeof(sym), by_addr);
	return r;
}

int ct_elfsym_load(const uint8_t *buf, size_t len, ct_elfsym **out)
{
	*out = NULL;
	ct_elfsym *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int r = parse(s, buf, len);
	if (r < 0) {
		ct_elfsym_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int ct_elfsym_open(const char *path, ct_elfsym **out)
{
	*out = NULL;
	int fd = ct_open_regular(path);
	if (fd < 0)
		return -errno;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > MAX_FILE)
		r = -EINVAL;
	void *map = MAP_FAILED;
	if (r == 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			r = -errno;
	}
	close(fd);
	if (r < 0)
		return r;
	r = ct_elfsym_load(map, (size_t)st.st_size, out);
	munmap(map, (size_t)st.st_size);
	return r;
}

void ct_elfsym_free(ct_elfsym *s)
{
	if (!s)
		return;
	free(s->syms);
	free(s->names);
	free(s);
}

size_t ct_elfsym_count(const ct_elfsym *s)
{
	return s->nsyms;
}

const char *ct_elfsym_lookup(const ct_elfsym *s, uint64_t off, uint64_t *start)
{
	uint64_t addr = 0;
	const load *l = NULL;
	for (int i = 0; i < s->nloads; i++)
		if (off >= s->loads[i].offset && off - s->loads[i].offset < s->loads[i].filesz) {
			l = &s->loads[i];
			addr = off - l->offset + l->vaddr;
			break;
		}
	if (!l || !s->nsyms)
		return NULL;
	size_t lo = 0, hi = s->nsyms; /* first symbol with addr > target */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const sym *f = &s->syms[lo - 1];
	/* The first of equal addresses: .symtab's name. */
	while (f > s->syms && f[-1].addr == f->addr)
		f--;
	/* A function outside the address's own segment does not hold it. */
	if (f->addr < l->vaddr || (f->size && addr - f->addr >= f->size))
		return NULL;
	if (start)
		*start = f->addr - l->vaddr + l->offset;
	return s->names + f->name;
}
