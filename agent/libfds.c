/*
 * libfds.c — keeps a library the agent loads (libunwind) away from the program's fds.
 *
 * libunwind validates addresses by writing one byte of memory into a pipe it opened once,
 * reading the previous byte back first; when the read fails it closes both numbers and
 * opens a new pipe. In a program that closed and reused those numbers this reads the
 * program's data, writes into its files and closes its fds. The library's GOT entries for
 * those functions are pointed at the wrappers below (a PLT hook on that one object,
 * nothing else in the process changes): every fd it opens is adopted by the guard
 * (fdguard.c, high number, identity kept), and it may read, write or close only an fd it
 * owns that is still its own; otherwise the call fails with EBADF and libunwind's own
 * error path opens a fresh pipe.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/fdguard.h"
#include "agent/unwcache.h"

/* Which guard slots the library itself opened: it may touch only those, never another fd
 * of the agent's (the trace file, the checkpoint journal) that took a number it once had. */
#define LIB_SLOTS 1100 /* the guard's slot count (fdguard.c MAX_SLOTS) */
static _Atomic unsigned char lib_owned[LIB_SLOTS];

static void lib_own(int s, int on)
{
	if (s >= 0 && s < LIB_SLOTS)
		atomic_store_explicit(&lib_owned[s], (unsigned char)on, memory_order_relaxed);
}

/* fd's slot when fd is one the library opened and still its own, else -1. */
static int lib_slot(int fd)
{
	int s = ct_fdg_owned(fd);
	return s >= 0 && s < LIB_SLOTS && atomic_load_explicit(&lib_owned[s], memory_order_relaxed)
		       ? s
		       : -1;
}

static int lib_pipe2(int fds[2], int flags)
{
	int p[2];
	if (syscall(SYS_pipe2, p, flags | O_CLOEXEC) < 0)
		return -1;
	int r = ct_fdg_adopt(p[0], CT_FDG_FILE), w = ct_fdg_adopt(p[1], CT_FDG_FILE);
	if (r < 0 || w < 0) {
		ct_fdg_release(r);
		ct_fdg_release(w);
		errno = EMFILE;
		return -1;
	}
	lib_own(r, 1);
	lib_own(w, 1);
	fds[0] = ct_fdg_get(r);
	fds[1] = ct_fdg_get(w);
	return 0;
}

static int lib_open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
	va_end(ap);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	int s = ct_fdg_adopt(fd, CT_FDG_FILE);
	if (s < 0) {
		errno = -s;
		return -1;
	}
	lib_own(s, 1);
	return ct_fdg_get(s);
}

static int lib_close(int fd)
{
	int s = lib_slot(fd);
	if (s < 0) {
		errno = EBADF; /* never the program's, nor another of the agent's */
		return -1;
	}
	lib_own(s, 0);
	ct_fdg_release(s);
	return 0;
}

/* Holds fd for one read or write (ct_fdg_pin) when it is one the library opened and still
 * its own: 1, else 0 with errno EBADF. */
static int lib_pin(int fd)
{
	int s = lib_slot(fd);
	int now = s < 0 ? -1 : ct_fdg_pin(s);
	if (now == fd)
		return 1;
	if (now >= 0)
		ct_fdg_unpin(); /* moved away since: the number is no longer ours */
	errno = EBADF;
	return 0;
}

static ssize_t lib_read(int fd, void *buf, size_t n)
{
	if (!lib_pin(fd))
		return -1;
	ssize_t r = read(fd, buf, n);
	ct_fdg_unpin();
	return r;
}

static ssize_t lib_write(int fd, const void *buf, size_t n)
{
	if (fd == STDERR_FILENO)
		return write(fd, buf, n);
	if (!lib_pin(fd))
		return -1;
	ssize_t r = write(fd, buf, n);
	ct_fdg_unpin();
	return r;
}

static long lib_syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_close)
		return lib_close((int)a[0]);
	if (nr != SYS_write && nr != SYS_read)
		return syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (!lib_pin((int)a[0]))
		return -1;
	long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	ct_fdg_unpin();
	return r;
}

static const struct {
	const char *name;
	void *fn;
} wrappers[] = {
	{"pipe2", (void *)lib_pipe2},
	{"open", (void *)lib_open},
	{"close", (void *)lib_close},
	{"read", (void *)lib_read},
	{"write", (void *)lib_write},
	{"syscall", (void *)lib_syscall},
	/* not fds: its per-thread trace caches, recycled (unwcache.h) */
	{"mmap", (void *)ct_unwcache_mmap},
	{"munmap", (void *)ct_unwcache_munmap},
};

typedef struct {
	uintptr_t base, relro_lo, relro_hi;
} relro_q;

static int find_relro(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	relro_q *q = arg;
	if (info->dlpi_addr != q->base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
			q->relro_lo = q->base + info->dlpi_phdr[i].p_vaddr;
			q->relro_hi = q->relro_lo + info->dlpi_phdr[i].p_memsz;
		}
	return 1;
}

/* Points one GOT slot at fn, lifting RELRO protection for the write if it applies. */
static void set_slot(const relro_q *q, void **slot, void *fn)
{
	uintptr_t a = (uintptr_t)slot;
	long pg = sysconf(_SC_PAGESIZE);
	void *page = (void *)(a & ~(uintptr_t)(pg - 1));
	int ro = a >= q->relro_lo && a < q->relro_hi;
	if (ro && mprotect(page, (size_t)pg, PROT_READ | PROT_WRITE) < 0)
		return;
	__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
	if (ro)
		mprotect(page, (size_t)pg, PROT_READ);
}

static void patch_relocs(const relro_q *q, const ElfW(Rela) * r, size_t bytes,
			 const ElfW(Sym) * symtab, const char *strtab)
{
	for (size_t i = 0; i < bytes / sizeof(*r); i++) {
		unsigned type = ELF64_R_TYPE(r[i].r_info);
		if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
			continue;
		const char *name = strtab + symtab[ELF64_R_SYM(r[i].r_info)].st_name;
		for (size_t w = 0; w < sizeof(wrappers) / sizeof(wrappers[0]); w++)
			if (strcmp(name, wrappers[w].name) == 0)
				set_slot(q, (void **)(q->base + r[i].r_offset), wrappers[w].fn);
	}
}

int ct_fdg_patch_library(void *handle)
{
	struct link_map *lm;
	if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0)
		return -ENOENT;
	relro_q q = {.base = lm->l_addr};
	dl_iterate_phdr(find_relro, &q);
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *jmprel = NULL, *rela = NULL;
	size_t jmpsz = 0, relasz = 0;
	/* glibc relocates these entries in place on x86_64; an unrelocated one is an offset. */
#define ADDR(d) ((d)->d_un.d_ptr < q.base ? q.base + (d)->d_un.d_ptr : (d)->d_un.d_ptr)
	for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			symtab = (const ElfW(Sym) *)ADDR(d);
		else if (d->d_tag == DT_STRTAB)
			strtab = (const char *)ADDR(d);
		else if (d->d_tag == DT_JMPREL)
			jmprel = (const ElfW(Rela) *)ADDR(d);
		else if (d->d_tag == DT_PLTRELSZ)
			jmpsz = d->d_un.d_val;
		else if (d->d_tag == DT_RELA)
			rela = (const ElfW(Rela) *)ADDR(d);
		else if (d->d_tag == DT_RELASZ)
			relasz = d->d_un.d_val;
	}
#undef ADDR
	if (!symtab || !strtab)
		return -ENOEXEC;
	if (jmprel)
		patch_relocs(&q, jmprel, jmpsz, symtab, strtab);
	if (rela)
		patch_relocs(&q, rela, relasz, symtab, strtab);
	return 0;
}
