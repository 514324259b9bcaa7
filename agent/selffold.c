/*
 * selffold.c — folding the agent's own frames of CPU samples into one `[ctrace]` leaf
 * (rules in selffold.h).
 *
 * Agent code is recognised by address: libctrace.so's and libunwind's executable segments,
 * found once with dl_iterate_phdr, so a stack without agent frames costs a few compares
 * per frame. Only stacks with an agent frame look further: the modules of the frames
 * leaf-side of it (the module table) and the names of the function a hook called, cached
 * per pc. Names come from the modules' dynamic symbol tables in memory (dynsym.h), not
 * from dladdr and dlsym: those take the loader's lock, which a library constructor holds
 * while it runs, and the collector folds while it holds the module guard that the
 * constructor's dlclose waits for (a deadlock, ~1 run in 5 of a constructor that dlcloses).
 */
#include <link.h>
#include <string.h>

#include "agent/dynsym.h"
#include "agent/internal.h"
#include "agent/selffold.h"

/* The `[ctrace]` function: never called, it only gives the folded frame a name that
 * symbolizers read from the ELF symbol table. Its own section keeps it out of the
 * compile unit's DWARF ranges. .Lsf_frame is the same address under a name C can use. */
__asm__(".pushsection .text.ctrace_frame,\"ax\",@progbits\n"
	".type \"[ctrace]\", @function\n"
	".Lsf_frame:\n"
	"\"[ctrace]\":\n"
	"\tnop\n"
	"\tnop\n"
	"\tud2\n"
	".size \"[ctrace]\", . - \"[ctrace]\"\n"
	".popsection\n");
extern const char sf_frame[] __asm__(".Lsf_frame") __attribute__((visibility("hidden")));

#define SF_RANGES 4
#define SF_CACHE 1024 /* power of two */
#define SF_LIBS 16

enum { SF_PROG, SF_AGENT, SF_SYS };

/* Collector thread only (set on its first fold). */
static struct {
	uintptr_t lo, hi;
} sf_ranges[SF_RANGES];
static int sf_nranges, sf_ready;
/* The agent's exported functions, and the C library modules' (sf_is_sys_module) tables,
 * the latter looked for again when the module table has grown since the last look. */
static ct_dynsym sf_self;
static ct_dynsym sf_libs[SF_LIBS];
static int sf_nlibs, sf_mods_seen;
static struct {
	uintptr_t pc;
	uint8_t cls, real; /* SF_*; for SF_SYS: whether it is a function the agent wraps */
} sf_cache[SF_CACHE];

uintptr_t ct_selffold_pc(void)
{
	return (uintptr_t)sf_frame + 1; /* inside, whether read as exact or as pc - 1 */
}

static int sf_is_sys_module(const char *path);

static int sf_add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t self = (uintptr_t)arg;
	const char *base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	for (int i = 0; i < info->dlpi_phnum && sf_nranges < SF_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (self >= lo && self < hi)
			ct_dynsym_open(&sf_self, info);
		if ((self >= lo && self < hi) || strncmp(base, "libunwind", 9) == 0) {
			sf_ranges[sf_nranges].lo = lo;
			sf_ranges[sf_nranges++].hi = hi;
		}
	}
	return 0;
}

/* dl_iterate_phdr callback: the tables of C library modules not yet known. */
static int sf_add_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (sf_nlibs == SF_LIBS || !sf_is_sys_module(info->dlpi_name))
		return 0;
	for (int i = 0; i < sf_nlibs; i++)
		if (sf_libs[i].base == info->dlpi_addr)
			return 0;
	if (ct_dynsym_open(&sf_libs[sf_nlibs], info) == 0)
		sf_nlibs++;
	return 0;
}

void ct_selffold_init(void)
{
	sf_nranges = sf_nlibs = 0;
	dl_iterate_phdr(sf_add_module, (void *)(uintptr_t)sf_add_module);
	ct_modules_all(&sf_mods_seen);
	dl_iterate_phdr(sf_add_lib, NULL);
	sf_ready = 1;
}

static inline int sf_is_agent(uintptr_t pc)
{
	for (int i = 0; i < sf_nranges; i++)
		if (pc >= sf_ranges[i].lo && pc < sf_ranges[i].hi)
			return 1;
	return 0;
}

/* Whether `name`, a name of the C library function at value, is a function the agent
 * interposes whose real definition is that one (any version of it): by that name or its
 * public one (free is also __libc_free and write __write: leading underscores and a
 * "libc_" prefix are dropped in turn). */
static int sf_real_call(const char *name, uintptr_t value, void *arg)
{
	const ct_dynsym *lib = arg;
	for (;;) {
		if (ct_dynsym_find(&sf_self, name, 0) && ct_dynsym_find(lib, name, value))
			return 1;
		if (*name == '_')
			name++;
		else if (strncmp(name, "libc_", 5) == 0)
			name += 5;
		else
			return 0;
	}
}

/* The C library and loader modules whose functions the agent calls for its own work. */
static int sf_is_sys_module(const char *path)
{
	static const char *const sys[] = {"libc.so", "ld-linux",   "linux-vdso", "[vdso]",
					  "libm.so", "libpthread", "libdl.so",	 "librt.so"};
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (strncmp(base, sys[i], strlen(sys[i])) == 0)
			return 1;
	return 0;
}

/* The table of the C library module loaded at base, or NULL. */
static const ct_dynsym *sf_lib(uintptr_t base)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < sf_nlibs; i++)
			if (sf_libs[i].base == base)
				return &sf_libs[i];
		int n;
		ct_modules_all(&n);
		if (pass || n == sf_mods_seen)
			break;
		sf_mods_seen = n;
		dl_iterate_phdr(sf_add_lib, NULL);
	}
	return NULL;
}

/* The class of a pc that is not the agent's (exact: a sample's leaf, else a return
 * address), and for a C library function whether it is one the agent wraps. Cached per
 * pc. */
static int sf_class(uintptr_t pc, int exact, int *real)
{
	size_t h = (size_t)((pc * 0x9e3779b97f4a7c15u) >> (64 - 10)) & (SF_CACHE - 1);
	if (sf_cache[h].pc != pc) {
		const ct_module *m = ct_modules_find(pc);
		uint8_t cls = m && sf_is_sys_module(m->path) ? SF_SYS : SF_PROG, r = 0;
		/* A return address may lie just past its function: look up the call. */
		if (cls == SF_SYS) {
			const ct_dynsym *lib = sf_lib(m->base);
			r = (uint8_t)(lib &&
				      ct_dynsym_at(lib, pc - !exact, sf_real_call, (void *)lib));
		}
		sf_cache[h].pc = pc;
		sf_cache[h].cls = cls;
		sf_cache[h].real = r;
	}
	*real = sf_cache[h].real;
	return sf_cache[h].cls;
}

/* Copies pcs[from..n) to pcs[to..) without agent frames; returns the new depth. */
static int sf_drop_agent(uintptr_t *pcs, int to, int from, int n)
{
	for (int i = from; i < n; i++)
		if (!sf_is_agent(pcs[i]))
			pcs[to++] = pcs[i];
	return to;
}

int ct_selffold(uintptr_t *pcs, int n)
{
	if (!sf_ready)
		ct_selffold_init();
	int a = 0;
	while (a < n && !sf_is_agent(pcs[a]))
		a++;
	if (a == n)
		return n;
	/* Leaf-side of the first agent frame: only C library code the agent called for its
	 * own work (then the agent's cost), or the program's (a real call, program code). */
	int real = 0, own = 1;
	for (int i = 0; i < a && own; i++)
		own = sf_class(pcs[i], i == 0, &real) == SF_SYS;
	if (own && !(a > 0 && real)) {
		int b = a;
		while (b < n && sf_is_agent(pcs[b]))
			b++;
		pcs[0] = ct_selffold_pc();
		return sf_drop_agent(pcs, 1, b, n);
	}
	return sf_drop_agent(pcs, a, a, n);
}
