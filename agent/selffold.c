/*
 * selffold.c — folding the agent's own frames of CPU samples into one `[ctrace]` leaf
 * (rules in selffold.h).
 *
 * Agent code is recognised by address: libctrace.so's and libunwind's executable segments,
 * found once with dl_iterate_phdr, so a stack without agent frames costs a few compares
 * per frame. Only stacks with an agent frame look further: the modules of the frames
 * leaf-side of it (the module table) and the name of the function a hook called (dladdr,
 * and dlsym to see whether the agent interposes that name), both cached per pc.
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "agent/forkguard.h"
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

enum { SF_PROG, SF_AGENT, SF_SYS };

/* Collector thread only (set on its first fold). */
static struct {
	uintptr_t lo, hi;
} sf_ranges[SF_RANGES];
static int sf_nranges, sf_ready;
static struct {
	uintptr_t pc;
	uint8_t cls, real; /* SF_*; for SF_SYS: whether it is a function the agent wraps */
} sf_cache[SF_CACHE];

uintptr_t ct_selffold_pc(void)
{
	return (uintptr_t)sf_frame + 1; /* inside, whether read as exact or as pc - 1 */
}

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
		if ((self >= lo && self < hi) || strncmp(base, "libunwind", 9) == 0) {
			sf_ranges[sf_nranges].lo = lo;
			sf_ranges[sf_nranges++].hi = hi;
		}
	}
	return 0;
}

void ct_selffold_init(void)
{
	sf_nranges = 0;
	dl_iterate_phdr(sf_add_module, (void *)(uintptr_t)sf_add_module);
	sf_ready = 1;
}

static inline int sf_is_agent(uintptr_t pc)
{
	for (int i = 0; i < sf_nranges; i++)
		if (pc >= sf_ranges[i].lo && pc < sf_ranges[i].hi)
			return 1;
	return 0;
}

/* Whether the C library function at addr is the real one of a function the agent
 * interposes under the name `name`: the agent defines name, and the definition after
 * the agent's is addr. */
static int sf_wrapped(const char *name, uintptr_t addr)
{
	void *f = dlsym(RTLD_DEFAULT, name);
	return f && sf_is_agent((uintptr_t)f) && (uintptr_t)ct_real(name) == addr;
}

/* Whether the C library function at addr, whose symbol dladdr named `name`, is one the
 * agent wraps: by that name or its public one (glibc's dladdr may name free __libc_free
 * and write __write: leading underscores and a "libc_" prefix are dropped in turn). */
static int sf_real_call(const char *name, uintptr_t addr)
{
	for (;;) {
		if (sf_wrapped(name, addr))
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

/* The class of a pc that is not the agent's (exact: a sample's leaf, else a return
 * address), and for a C library function whether it is one the agent wraps. Cached per
 * pc. */
static int sf_class(uintptr_t pc, int exact, int *real)
{
	size_t h = (size_t)((pc * 0x9e3779b97f4a7c15u) >> (64 - 10)) & (SF_CACHE - 1);
	if (sf_cache[h].pc != pc) {
		const ct_module *m = ct_modules_find(pc);
		uint8_t cls = m && sf_is_sys_module(m->path) ? SF_SYS : SF_PROG, r = 0;
		Dl_info info;
		ct_forkguard_enter(); /* the loader's lock must not cross a fork */
		/* A return address may lie just past its function: look up the call. */
		if (cls == SF_SYS && dladdr((void *)(pc - !exact), &info) && info.dli_sname)
			r = (uint8_t)sf_real_call(info.dli_sname, (uintptr_t)info.dli_saddr);
		ct_forkguard_exit();
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
