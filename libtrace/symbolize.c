/*
 * symbolize.c — names, files, lines and inlined frames for profile addresses, with libdw.
 *
 * For each location: runtime address → file offset (address − memory_start + file_offset)
 * → ELF virtual address through the PT_LOAD segment that holds that offset → libdwfl
 * module address (+ the module's bias). Then, in order of preference:
 *   1. DWARF: the compile unit holding the address, the subprogram holding it (from a
 *      per-CU sorted index of subprogram ranges, built once per CU: dwarf_getscopes would
 *      rescan the whole CU for every address), the chain of inlined subroutines under it,
 *      and the line table. Frame k's line is the call site (DW_AT_call_file/line) of
 *      frame k−1; the innermost frame's comes from the line table.
 *   2. ELF symbols (.symtab, else .dynsym, from a sorted index of the table libdwfl
 *      picked), with file:line from the line table when there is one.
 *   3. "module+0xOFFSET" (module basename, file offset): also the name for every location
 *      of a module that is missing, changed since the run (build id differs), or not ELF.
 * C++ names are demangled with libstdc++'s __cxa_demangle, loaded with dlopen on first
 * need so that ctrace does not link libstdc++; without it names stay mangled, and so do
 * names too long to be real (the demangler recurses on hostile input).
 *
 * Caches: one libdwfl handle per (module path, build id); one resolved frame list per
 * (module, file offset), shared by all profiles run through the same symbolizer; one
 * subprogram index per compile unit. Strings are interned in the symbolizer and again
 * (by ct_profile_add_function) in each profile.
 */
#include "libtrace/symbolize.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "libtrace/intern.h"
#include "libtrace/vec.h"

enum {
	MAX_FRAMES = 64,	   /* inlined frames kept per location */
	MAX_DIE_DEPTH = 32,	   /* nesting followed in a DIE tree (bounds hostile DWARF) */
	MAX_DIES_PER_CU = 1 << 22, /* DIEs visited when indexing one CU */
	MAX_RANGES_PER_DIE = 4096,
	MAX_UNITS = 1 << 20, /* compile units indexed in one module */
	MAX_SYMS = 1 << 24,  /* symbols indexed in one module */
	MAX_DEMANGLE = 4096, /* longest name given to the demangler */
};

/* How a location was resolved: drives the mapping's has_* flags. */
enum {
	HOW_FALLBACK = 0,
	HOW_SYMBOL = 1, /* function name from an ELF symbol */
	HOW_LINES = 2,	/* file:line from the line table */
	HOW_DWARF = 4,	/* function from DWARF, inline frames considered */
};

enum mod_state { MOD_OK, MOD_SPECIAL, MOD_UNUSABLE };

/* An open-addressing map from a 64-bit key to a 32-bit value. */
struct u64map {
	uint64_t *keys;
	uint32_t *vals; /* value + 1; 0 marks an empty slot */
	uint32_t cap, n;
};

struct frame {
	const char *name, *sysname, *file; /* interned in the symbolizer */
	int64_t line, start_line;
};

struct addr_entry {
	uint32_t first; /* index of the innermost frame in ct_symbolizer.frames */
	uint16_t n;
	uint16_t how;
};

struct fn_range {
	Dwarf_Addr lo, hi;
	Dwarf_Die die;
};

struct range_list {
	struct fn_range *r;
	size_t n, cap;
};

struct seg {
	uint64_t offset, vaddr, filesz, memsz;
};

struct sym {
	uint64_t addr, size; /* module addresses */
	const char *name;    /* in the ELF file's string table */
	int rank;	     /* among symbols at one address the highest wins */
};

struct module {
	char *path, *build_id; /* the key */
	enum mod_state state;
	const char *label; /* interned: basename, or the special name */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	struct seg *segs;
	size_t nsegs;
	struct u64map addrs; /* file offset → index in ct_symbolizer.entries */
	struct u64map cus;   /* CU DIE offset → index in funcs */
	struct range_list *funcs;
	size_t nfuncs, capfuncs;
	struct range_list cu_ranges; /* own CU index, used when .debug_aranges is missing */
	bool cu_ranges_built;
	struct sym *syms; /* function symbols sorted by address, built on first use */
	size_t nsyms;
	bool syms_built;
	struct module *next;
};

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

struct ct_symbolizer {
	FILE *warn;
	struct module *modules;
	ct_intern strs;
	struct frame *frames;
	size_t nframes, capframes;
	struct addr_entry *entries;
	size_t nentries, capentries;
	void *libstdcxx;
	demangle_fn demangle;
	bool demangle_tried;
};

static char *debuginfo_path;

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

/* ---- small containers ---------------------------------------------------------------- */

static uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

/* The slot of key: its own, or the empty one where it would go. cap is a power of 2. */
static uint32_t u64map_slot(const struct u64map *m, uint64_t key)
{
	uint32_t i = (uint32_t)mix64(key) & (m->cap - 1);
	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static bool u64map_get(const struct u64map *m, uint64_t key, uint32_t *val)
{
	if (!m->cap)
		return false;
	uint32_t i = u64map_slot(m, key);
	if (!m->vals[i])
		return false;
	*val = m->vals[i] - 1;
	return true;
}

static int u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct u64map nm = {.cap = m->cap ? m->cap * 2 : 64};
		nm.keys = malloc(nm.cap * sizeof(*nm.keys));
		nm.vals = calloc(nm.cap, sizeof(*nm.vals));
		if (!nm.keys || !nm.vals) {
			free(nm.keys);
			free(nm.vals);
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < m->cap; i++) {
			if (m->vals[i]) {
				uint32_t j = u64map_slot(&nm, m->keys[i]);
				nm.keys[j] = m->keys[i];
				nm.vals[j] = m->vals[i];
			}
		}
		nm.n = m->n;
		free(m->keys);
		free(m->vals);
		*m = nm;
	}
	uint32_t i = u64map_slot(m, key);
	if (!m->vals[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val + 1;
	return 0;
}

static void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
}

/* Interns s in the symbolizer; NULL only on ENOMEM. */
static const char *intern(struct ct_symbolizer *s, const char *str)
{
	return ct_intern_str(&s->strs, str);
}

/* ---- names ----------------------------------------------------------------------------- */

/* The human form of a symbol name, interned: demangled when it is an Itanium C++ name
 * and libstdc++ can be loaded, else the name itself. */
static const char *human_name(struct ct_symbolizer *s, const char *sysname)
{
	if (strncmp(sysname, "_Z", 2) != 0 || strnlen(sysname, MAX_DEMANGLE) == MAX_DEMANGLE)
		return intern(s, sysname);
	if (!s->demangle_tried) {
		s->demangle_tried = true;
		s->libstdcxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (s->libstdcxx)
			s->demangle = (demangle_fn)dlsym(s->libstdcxx, "__cxa_demangle");
	}
	if (!s->demangle)
		return intern(s, sysname);
	int status = -1;
	char *d = s->demangle(sysname, NULL, NULL, &status);
	const char *r = intern(s, status == 0 && d ? d : sysname);
	free(d);
	return r;
}

static const char *die_string(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute attr;
	return dwarf_formstring(dwarf_attr_integrate(die, name, &attr));
}

/* Fills f's names from a subprogram or inlined-subroutine DIE. False when it has none. */
static bool die_names(struct ct_symbolizer *s, Dwarf_Die *die, struct frame *f)
{
	const char *link = die_string(die, DW_AT_linkage_name);
	if (!link)
		link = die_string(die, DW_AT_MIPS_linkage_name);
	const char *plain = die_string(die, DW_AT_name);
	if (!link && !plain)
		return false;
	f->sysname = intern(s, link ? link : plain);
	f->name = link ? human_name(s, link) : f->sysname;
	int line = 0;
	f->start_line = dwarf_decl_line(die, &line) == 0 && line > 0 ? line : 0;
	return f->sysname && f->name;
}

/* ---- modules --------------------------------------------------------------------------- */

static void warn_module(struct ct_symbolizer *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn_module(struct ct_symbolizer *s, const char *fmt, ...)
{
	if (!s->warn)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("ctrace: warning: ", s->warn);
	vfprintf(s->warn, fmt, ap);
	fputs("; not symbolized\n", s->warn);
	va_end(ap);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash[1] ? slash + 1 : path;
}

/* Loads the PT_LOAD segments and the build id, and checks the latter. */
static void module_check(struct ct_symbolizer *s, struct module *m)
{
	Elf *elf = dwfl_module_getelf(m->mod, &m->bias);
	size_t nph = 0;
	if (!elf || elf_getphdrnum(elf, &nph) != 0) {
		warn_module(s, "%s: %s", m->path, elf ? elf_errmsg(-1) : dwfl_errmsg(-1));
		m->state = MOD_UNUSABLE;
		return;
	}
	m->segs = calloc(nph ? nph : 1, sizeof(*m->segs));
	if (!m->segs) {
		m->state = MOD_UNUSABLE;
		return;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			m->segs[m->nsegs++] =
				(struct seg){ph.p_offset, ph.p_vaddr, ph.p_filesz, ph.p_memsz};
	}

	if (!m->build_id[0])
		return; /* the run recorded none: nothing to check against */
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(m->mod, &bits, &vaddr);
	char disk[2 * 64 + 1] = "none";
	if (len > 0 && len <= 64) {
		for (int i = 0; i < len; i++)
			snprintf(disk + 2 * i, 3, "%02x", bits[i]);
	}
	if (strcasecmp(disk, m->build_id) != 0) {
		warn_module(s, "%s changed since the run (build id %s \u2260 %s)", m->path,
			    m->build_id, disk);
		m->state = MOD_UNUSABLE;
	}
}

static void module_open(struct ct_symbolizer *s, struct module *m)
{
	if (!m->path[0] || m->path[0] == '[') { /* [vdso], [kernel], [heap], unknown */
		m->state = MOD_SPECIAL;
		return;
	}
	m->state = MOD_UNUSABLE;
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		warn_module(s, "cannot open %s: %s", m->path, strerror(errno));
		return;
	}
	m->dwfl = dwfl_begin(&offline_callbacks);
	if (!m->dwfl) {
		close(fd);
		warn_module(s, "%s: %s", m->path, dwfl_errmsg(-1));
		return;
	}
	dwfl_report_begin(m->dwfl);
	m->mod = dwfl_report_elf(m->dwfl, m->label, m->path, fd, 0, false);
	if (!m->mod) {
		close(fd);
		warn_module(s, "%s: %s", m->path, dwfl_errmsg(-1));
		return;
	}
	dwfl_report_end(m->dwfl, NULL, NULL);
	m->state = MOD_OK;
	module_check(s, m);
}

/* The module for mapping mp, opened (and warned about) on first use. NULL on ENOMEM. */
static struct module *module_get(struct ct_symbolizer *s, const ct_mapping *mp)
{
	for (struct module *m = s->modules; m; m = m->next) {
		if (strcmp(m->path, mp->filename) == 0 &&
		    strcasecmp(m->build_id, mp->build_id) == 0)
			return m;
	}
	struct module *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->path = strdup(mp->filename);
	m->build_id = strdup(mp->build_id);
	m->label = intern(s, !mp->filename[0]	      ? "[unknown]"
			     : mp->filename[0] == '[' ? mp->filename
						      : base_name(mp->filename));
	if (!m->path || !m->build_id || !m->label) {
		free(m->path);
		free(m->build_id);
		free(m);
		return NULL;
	}
	m->next = s->modules;
	s->modules = m;
	module_open(s, m);
	return m;
}

static void module_free(struct module *m)
{
	if (m->dwfl)
		dwfl_end(m->dwfl);
	for (size_t i = 0; i < m->nfuncs; i++)
		free(m->funcs[i].r);
	free(m->funcs);
	free(m->cu_ranges.r);
	free(m->syms);
	u64map_free(&m->addrs);
	u64map_free(&m->cus);
	free(m->segs);
	free(m->path);
	free(m->build_id);
	free(m);
}

/* ---- DWARF ----------------------------------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int add_ranges(struct range_list *rl, Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	for (int i = 0; i < MAX_RANGES_PER_DIE; i++) {
		off = dwarf_ranges(die, off, &base, &lo, &hi);
		if (off <= 0)
			break;
		if (hi <= lo)
			continue;
		if (CT_VEC_RESERVE(rl->r, rl->cap, rl->n + 1))
			return -ENOMEM;
		rl->r[rl->n++] = (struct fn_range){lo, hi, *die};
	}
	return 0;
}

/* The entry of a sorted range list holding pc, or NULL. Ranges rarely overlap (nested
 * functions, hostile input): a few entries before the candidate are checked too. */
static struct fn_range *range_find(const struct range_list *rl, Dwarf_Addr pc)
{
	size_t lo = 0, hi = rl->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rl->r[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, tries = 0; i > 0 && tries < 8; i--, tries++) {
		if (pc < rl->r[i - 1].hi)
			return &rl->r[i - 1];
	}
	return NULL;
}

/* Adds the subprograms under parent (descending into namespaces and classes). */
static int collect_funcs(struct range_list *rl, Dwarf_Die *parent, int depth, size_t *budget)
{
	Dwarf_Die child;
	if (depth > MAX_DIE_DEPTH || dwarf_child(parent, &child) != 0)
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
static struct range_list *cu_funcs(struct module *m, Dwarf_Die *cudie)
{
	uint64_t key = dwarf_dieoffset(cudie);
	uint32_t idx;
	if (u64map_get(&m->cus, key, &idx))
		return &m->funcs[idx];
	if (CT_VEC_RESERVE(m->funcs, m->capfuncs, m->nfuncs + 1))
		return NULL;
	struct range_list *rl = &m->funcs[m->nfuncs];
	*rl = (struct range_list){0};
	size_t budget = MAX_DIES_PER_CU;
	if (collect_funcs(rl, cudie, 0, &budget) || u64map_put(&m->cus, key, (uint32_t)m->nfuncs)) {
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
static bool find_cu(struct module *m, Dwarf_Addr maddr, Dwarf_Die *cudie, Dwarf_Addr *pc)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, maddr, &bias);
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
		for (size_t i = 0; i < MAX_UNITS; i++) {
			if (dwarf_get_units(dw, unit, &unit, &version, &unit_type, &die, NULL) != 0)
				break;
			if (unit_type == DW_UT_compile && add_ranges(&m->cu_ranges, &die))
				break;
		}
		if (m->cu_ranges.n)
			qsort(m->cu_ranges.r, m->cu_ranges.n, sizeof(*m->cu_ranges.r), range_cmp);
	}
	struct fn_range *r = range_find(&m->cu_ranges, maddr - bias);
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
	if (depth > MAX_DIE_DEPTH || *n >= MAX_FRAMES || dwarf_child(parent, &child) != 0)
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
static const char *src_path(struct ct_symbolizer *s, Dwarf_Die *cudie, const char *name)
{
	Dwarf_Attribute attr;
	const char *dir =
		name[0] == '/' ? NULL : dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
	if (!dir || dir[0] != '/')
		return intern(s, name);
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	char *joined;
	if (asprintf(&joined, "%s/%s", dir, name) < 0)
		return NULL;
	const char *r = intern(s, joined);
	free(joined);
	return r;
}

/* The call site of an inlined subroutine, as file (interned) and line. */
static void call_site(struct ct_symbolizer *s, Dwarf_Die *inl, const char **file, int64_t *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word w = 0;
	*line = dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &w) == 0 ? (int64_t)w : 0;
	*file = intern(s, "");
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

/* ---- ELF symbols ------------------------------------------------------------------------- */

/* Sorts by address; at one address sizeless symbols first, then by rank, so that the last
 * symbol at an address is the preferred one. */
static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((x->size != 0) != (y->size != 0))
		return x->size != 0 ? 1 : -1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Builds the module's function symbol index (.symtab, or .dynsym when stripped: whichever
 * libdwfl found). dwfl_module_addrinfo would scan the whole table for every address. */
static void build_syms(struct module *m)
{
	m->syms_built = true;
	int n = dwfl_module_getsymtab(m->mod);
	if (n <= 1)
		return;
	if (n > MAX_SYMS)
		n = MAX_SYMS;
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
		m->syms[m->nsyms++] = (struct sym){addr, sym.st_size, name,
						   bind == STB_GLOBAL ? 2 : bind == STB_WEAK};
	}
	if (m->nsyms)
		qsort(m->syms, m->nsyms, sizeof(*m->syms), sym_cmp);
}

/* The name of the function symbol holding module address a, or NULL. A sized symbol must
 * cover a; a sizeless one (hand-written assembly) covers up to the next symbol. */
static const char *sym_lookup(struct module *m, uint64_t a)
{
	if (!m->syms_built)
		build_syms(m);
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, tries = 0; i > 0 && tries < 8; i--, tries++) {
		const struct sym *sy = &m->syms[i - 1];
		if (sy->size && a - sy->addr < sy->size)
			return sy->name;
	}
	return lo > 0 && m->syms[lo - 1].size == 0 ? m->syms[lo - 1].name : NULL;
}

/* The line table's file (interned) and line for DWARF address pc of CU cudie. */
static bool src_line(struct ct_symbolizer *s, Dwarf_Die *cudie, Dwarf_Addr pc, const char **file,
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

/* ---- resolving one address --------------------------------------------------------------- */

static int push_frame(struct ct_symbolizer *s, const struct frame *f)
{
	if (!f->name || !f->sysname || !f->file)
		return -ENOMEM;
	if (CT_VEC_RESERVE(s->frames, s->capframes, s->nframes + 1))
		return -ENOMEM;
	s->frames[s->nframes++] = *f;
	return 0;
}

static int push_fallback(struct ct_symbolizer *s, const struct module *m, uint64_t off)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, m->label, off);
	const char *name = intern(s, buf);
	return push_frame(s, &(struct frame){name, name, intern(s, ""), 0, 0});
}

/* Frames from DWARF for module address maddr; *how gets HOW_* bits. 0 with no frames
 * pushed when DWARF does not know the address. */
static int resolve_dwarf(struct ct_symbolizer *s, struct module *m, Dwarf_Addr maddr, int *how)
{
	Dwarf_Die cudie;
	Dwarf_Addr pc;
	if (!find_cu(m, maddr, &cudie, &pc))
		return 0;
	struct range_list *rl = cu_funcs(m, &cudie);
	if (!rl)
		return -ENOMEM;
	struct fn_range *fr = range_find(rl, pc);
	if (!fr)
		return 0;
	Dwarf_Die chain[MAX_FRAMES];
	int n = 1;
	chain[0] = fr->die;
	inline_chain(&fr->die, pc, chain, &n, 0);

	const char *file = intern(s, "");
	int64_t line = 0;
	if (src_line(s, &cudie, pc, &file, &line))
		*how |= HOW_LINES;
	for (int i = n - 1; i >= 0; i--) {
		struct frame f = {.file = file, .line = line};
		bool named = die_names(s, &chain[i], &f);
		if (!named)
			f.name = f.sysname = intern(s, "??");
		if (i == 0 && (!named || strncmp(f.sysname, "_Z", 2) != 0)) {
			/* DWARF without a (linkage) name, e.g. clang -gline-tables-only: take the
			 * symbol table's name when it is mangled or DWARF had none. */
			const char *sname = sym_lookup(m, maddr);
			if (sname && sname[0] && (!named || strncmp(sname, "_Z", 2) == 0)) {
				f.sysname = intern(s, sname);
				f.name = human_name(s, sname);
			}
		}
		if (push_frame(s, &f))
			return -ENOMEM;
		if (i > 0)
			call_site(s, &chain[i], &file, &line);
	}
	*how |= HOW_DWARF | HOW_SYMBOL;
	return 0;
}

/* Resolves file offset off of module m into frames; returns the cache entry index, or
 * -ENOMEM. */
static int64_t resolve(struct ct_symbolizer *s, struct module *m, uint64_t off)
{
	uint32_t idx;
	if (u64map_get(&m->addrs, off, &idx))
		return idx;
	if (CT_VEC_RESERVE(s->entries, s->capentries, s->nentries + 1))
		return -ENOMEM;
	size_t first = s->nframes;
	int how = HOW_FALLBACK;
	const struct seg *sg = NULL;
	if (m->state == MOD_OK) {
		for (size_t i = 0; i < m->nsegs && !sg; i++) {
			if (off >= m->segs[i].offset && off - m->segs[i].offset < m->segs[i].filesz)
				sg = &m->segs[i];
		}
		for (size_t i = 0; i < m->nsegs && !sg; i++) {
			if (off >= m->segs[i].offset && off - m->segs[i].offset < m->segs[i].memsz)
				sg = &m->segs[i];
		}
	}
	if (sg) {
		Dwarf_Addr maddr = off - sg->offset + sg->vaddr + m->bias;
		if (resolve_dwarf(s, m, maddr, &how))
			return -ENOMEM;
		if (s->nframes == first) {
			const char *sname = sym_lookup(m, maddr);
			if (sname) {
				struct frame f = {.sysname = intern(s, sname),
						  .name = human_name(s, sname),
						  .file = intern(s, "")};
				Dwarf_Die cudie;
				Dwarf_Addr pc;
				if (find_cu(m, maddr, &cudie, &pc) &&
				    src_line(s, &cudie, pc, &f.file, &f.line))
					how |= HOW_LINES;
				if (push_frame(s, &f))
					return -ENOMEM;
				how |= HOW_SYMBOL;
			}
		}
	}
	if (s->nframes == first && push_fallback(s, m, off))
		return -ENOMEM;
	s->entries[s->nentries] =
		(struct addr_entry){(uint32_t)first, (uint16_t)(s->nframes - first), (uint16_t)how};
	if (u64map_put(&m->addrs, off, (uint32_t)s->nentries))
		return -ENOMEM;
	return (int64_t)s->nentries++;
}

/* ---- public ------------------------------------------------------------------------------ */

ct_symbolizer *ct_symbolizer_new(FILE *warn)
{
	/* Every open module keeps a descriptor or two (file, debug file): a program with
	 * hundreds of libraries would exceed the usual soft limit of 1024. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ct_symbolizer *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->warn = warn;
	ct_intern_init(&s->strs, true);
	return s;
}

void ct_symbolizer_free(ct_symbolizer *s)
{
	if (!s)
		return;
	while (s->modules) {
		struct module *m = s->modules;
		s->modules = m->next;
		module_free(m);
	}
	ct_intern_free(&s->strs);
	free(s->frames);
	free(s->entries);
	if (s->libstdcxx)
		dlclose(s->libstdcxx);
	free(s);
}

static bool needs_symbols(const ct_location *l)
{
	return l->mapping && l->address && !l->nlines;
}

bool ct_profile_needs_symbols(const ct_profile *p)
{
	for (uint32_t i = 0; i < p->nlocations; i++) {
		if (needs_symbols(&p->locations[i]))
			return true;
	}
	return false;
}

int ct_symbolizer_run(ct_symbolizer *s, ct_profile *p, ct_error *err)
{
	if (!ct_profile_needs_symbols(p))
		return 0;
	struct module **mods = calloc(p->nmappings ? p->nmappings : 1, sizeof(*mods));
	int *how = calloc(p->nmappings ? p->nmappings : 1, sizeof(*how));
	int rc = 0;
	if (!mods || !how)
		goto nomem;
	for (uint32_t i = 0; i < p->nmappings; i++) {
		if (!(mods[i] = module_get(s, &p->mappings[i])))
			goto nomem;
	}
	for (uint32_t li = 0; li < p->nlocations; li++) {
		const ct_location *l = &p->locations[li];
		if (!needs_symbols(l) || l->mapping > p->nmappings)
			continue;
		uint32_t mi = l->mapping - 1;
		const ct_mapping *mp = &p->mappings[mi];
		int64_t e = resolve(s, mods[mi], l->address - mp->memory_start + mp->file_offset);
		if (e < 0)
			goto nomem;
		const struct addr_entry *ae = &s->entries[e];
		ct_line lines[MAX_FRAMES];
		for (uint16_t k = 0; k < ae->n; k++) {
			const struct frame *f = &s->frames[ae->first + k];
			uint32_t fn = ct_profile_add_function(p, f->name, f->sysname, f->file,
							      f->start_line);
			if (fn == UINT32_MAX)
				goto nomem;
			lines[k] = (ct_line){fn, f->line};
		}
		if (ct_profile_set_lines(p, li, lines, ae->n))
			goto nomem;
		how[mi] |= ae->how;
	}
	for (uint32_t i = 0; i < p->nmappings; i++) {
		ct_mapping *mp = &p->mappings[i];
		mp->has_functions |= (how[i] & HOW_SYMBOL) != 0;
		mp->has_filenames |= (how[i] & HOW_LINES) != 0;
		mp->has_line_numbers |= (how[i] & HOW_LINES) != 0;
		mp->has_inline_frames |= (how[i] & HOW_DWARF) != 0;
	}
	goto out;
nomem:
	rc = ct_error_set(err, ENOMEM, -1, "out of memory while symbolizing");
out:
	free(mods);
	free(how);
	return rc;
}

int ct_symbolize_profile(ct_profile *p, FILE *warn, ct_error *err)
{
	if (!ct_profile_needs_symbols(p))
		return 0;
	ct_symbolizer *s = ct_symbolizer_new(warn);
	if (!s)
		return ct_error_set(err, ENOMEM, -1, "out of memory while symbolizing");
	int rc = ct_symbolizer_run(s, p, err);
	ct_symbolizer_free(s);
	return rc;
}
