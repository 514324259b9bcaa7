/*
 * modules.c — the table of modules (executable and shared objects) of the process.
 *
 * Built from dl_iterate_phdr at start and refreshed when the unwinder meets a pc it does
 * not know or after dlopen/dlclose (ct_modules_dirty). Each entry is one executable
 * PT_LOAD segment with its file offset, the module's .eh_frame_hdr and GNU build id: what
 * the unwinder needs to find unwind tables without calling the loader per frame, and what
 * pprof mappings carry. Modules that were dlclosed stay in the table (loaded = 0) so that
 * samples taken in them are still written with a mapping and can be symbolized.
 * Only the collector thread (and the exit path, after it stopped) touches the table.
 */
#include <elf.h>
#include <limits.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/internal.h"
#include "libtrace/clock.h"

#define MAX_MODULES 4096

/* The table: built by the constructor, then refreshed and read by the collector thread only
 * (and by the exit path after the collector stopped). */
static ct_module mods[MAX_MODULES];
static int nmods;
/* Readable ranges (all PT_LOAD segments of loaded modules), rebuilt by refresh. */
static struct range {
	uintptr_t start, end;
} ranges[MAX_MODULES * 2];
static int nranges;
/* Shared by the program threads inside dlclose, exclusive while the collector reads module
 * memory (ct_modules_hold). Not the other way round: a dlclose holding it exclusively
 * across the real dlclose (which takes the loader's lock) deadlocked against a library
 * constructor, which runs under the loader's lock, calling dlclose on another thread.
 * Shared, any number of dlcloses go on at once; the lock must prefer readers (glibc's
 * default) so that one waiting for the loader's lock never queues the constructor's
 * dlclose behind the waiting collector. The collector, for its part, never waits for the
 * loader's lock while it holds this one (no dladdr/dlsym/dlopen in a drain). */
static pthread_rwlock_t unmap_lock = PTHREAD_RWLOCK_INITIALIZER;
/* Set while the collector waits for the lock. Reader preference alone starved it: with
 * threads that dlclose in a loop, one of them nearly always held the lock shared (most of
 * its dlclose is a wait for the loader's lock), and the collector waited for seconds while
 * the rings overflowed. So a dlclose that finds the collector waiting lets it go first —
 * but for at most HOLD_YIELD_NS: that dlclose may come from a constructor, under the
 * loader's lock that a holder waits for, and must not wait for the collector for good. */
static _Atomic uint32_t collector_waiting;
#define HOLD_YIELD_NS 2000000 /* 2 ms */
/* Depth of ct_modules_hold on this thread (nested holds lock once). */
static __thread int hold_depth __attribute__((tls_model("initial-exec")));
/* Relaxed everywhere: the hook sets it while it holds unmap_lock shared and the collector
 * reads it while it holds it exclusively (every drain), so the lock orders them. */
_Atomic int ct_modules_dirty = 1;

static void hex(char *out, size_t cap, const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";
	size_t i;
	for (i = 0; i < n && 2 * i + 2 < cap; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * i] = 0;
}

static void read_build_id(struct dl_phdr_info *info, char *out, size_t cap)
{
	out[0] = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			if (desc + nh->n_descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0) {
				hex(out, cap, desc, nh->n_descsz);
				return;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
}

static int find_slot(const char *path, uintptr_t start)
{
	for (int i = 0; i < nmods; i++)
		if (mods[i].start == start && strcmp(mods[i].path, path) == 0)
			return i;
	return -1;
}

/* A module loaded where a dlclosed one was (a plugin replaced by another): both stay in
 * the table with the same addresses, and a sample's pc, which does not say which of them
 * it was taken in, is written under the later one's mapping. Counted for summary.txt. */
static uint64_t reused;
static char reuse_first[160];

static void note_reuse(const char *path, uintptr_t start, uintptr_t end)
{
	for (int i = 0; i < nmods; i++)
		if (mods[i].loaded != 2 && mods[i].start < end && start < mods[i].end &&
		    strcmp(mods[i].path, path) != 0) {
			if (!reused++)
				snprintf(reuse_first, sizeof(reuse_first), "%.70s after %.70s",
					 path, mods[i].path);
			return;
		}
}

void ct_modules_warning(char *buf, size_t len)
{
	if (reused)
		ct_warning_add(
			buf, len,
			"%llu module(s) loaded at the addresses of one dlclosed before (%s): "
			"CPU samples in that range may be named from either",
			(unsigned long long)reused, reuse_first);
}

static int on_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	char path[512];
	const char *name = info->dlpi_name;
	if (!name || !*name) {
		/* The main program (or the vDSO, which has a name on glibc). */
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
		path[n > 0 ? n : 0] = 0;
	} else if (strncmp(name, "linux-vdso", 10) == 0 || strncmp(name, "linux-gate", 10) == 0) {
		snprintf(path, sizeof(path), "[vdso]");
	} else {
		snprintf(path, sizeof(path), "%s", name);
	}
	uintptr_t ehdr = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_EH_FRAME)
			ehdr = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && nranges < (int)(sizeof(ranges) / sizeof(ranges[0]))) {
			ranges[nranges].start = info->dlpi_addr + ph->p_vaddr;
			ranges[nranges].end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			nranges++;
		}
	}
	char bid[80];
	read_build_id(info, bid, sizeof(bid));
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
		uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
		int slot = find_slot(path, start);
		if (slot < 0) {
			if (nmods == MAX_MODULES)
				return 1;
			note_reuse(path, start, info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
			slot = nmods++;
		}
		ct_module *m = &mods[slot];
		m->start = start;
		m->end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		m->file_offset = ph->p_offset & ~(uint64_t)(page - 1);
		m->eh_frame_hdr = ehdr;
		m->base = info->dlpi_addr;
		snprintf(m->path, sizeof(m->path), "%s", path);
		snprintf(m->build_id, sizeof(m->build_id), "%s", bid);
		m->loaded = 2; /* seen in this pass */
	}
	return 0;
}

int ct_modules_refresh(void)
{
	nranges = 0;
	atomic_store_explicit(&ct_modules_dirty, 0, memory_order_relaxed);
	dl_iterate_phdr(on_phdr, NULL);
	for (int i = 0; i < nmods; i++)
		mods[i].loaded = mods[i].loaded == 2;
	return nmods;
}

const ct_module *ct_modules_find(uintptr_t pc)
{
	/* A pc outside every module is either in a module loaded since the last refresh or
	 * in code that is in none (JIT, a corrupt frame): refresh, but at most every 50 ms
	 * so that a stream of such pcs does not turn into a stream of dl_iterate_phdr. */
	static uint64_t last_refresh;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < nmods; i++)
			if (mods[i].loaded && pc >= mods[i].start && pc < mods[i].end)
				return &mods[i];
		uint64_t now = ct_now();
		if (pass == 1 || now - last_refresh < 50000000u)
			break;
		last_refresh = now;
		ct_modules_refresh();
	}
	return NULL;
}

const ct_module *ct_modules_all(int *n)
{
	*n = nmods;
	return mods;
}

int ct_modules_readable(uintptr_t addr, size_t len)
{
	for (int i = 0; i < nranges; i++)
		if (addr >= ranges[i].start && addr + len <= ranges[i].end)
			return 1;
	return 0;
}

/* A forked child has none of the threads that may have held the lock at the fork. */
static void unmap_lock_reset(void)
{
	pthread_rwlock_init(&unmap_lock, NULL);
	hold_depth = 0;
}

/* Before main.c's child handler (constructors with a priority run first; child handlers
 * run in registration order), which starts the child's collector. */
__attribute__((constructor(102))) static void modules_atfork(void)
{
	pthread_atfork(NULL, NULL, unmap_lock_reset);
}

void ct_modules_hold(void)
{
	if (hold_depth++ == 0) {
		atomic_store_explicit(&collector_waiting, 1, memory_order_relaxed);
		pthread_rwlock_wrlock(&unmap_lock);
		atomic_store_explicit(&collector_waiting, 0, memory_order_relaxed);
		syscall(SYS_futex, &collector_waiting, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	}
}
void ct_modules_release(void)
{
	if (--hold_depth == 0)
		pthread_rwlock_unlock(&unmap_lock);
}

/* Hook for dlclose: a closed module must not be read while the collector unwinds a sample
 * taken in it, so the real dlclose waits for the current unwinding batch. A nested
 * dlclose (from a destructor run by dlclose) does not lock again. */
static __thread int in_dlclose __attribute__((tls_model("initial-exec")));

CT_EXPORT int dlclose(void *handle)
{
	static int (*real)(void *);
	if (!real)
		real = (int (*)(void *))ct_real("dlclose");
	if (in_dlclose || ct_tls_guard)
		return real(handle);
	in_dlclose = 1;
	ct_tls_guard = 1; /* our own lock is not the program's contention */
	if (atomic_load_explicit(&collector_waiting, memory_order_relaxed)) {
		uint64_t until = ct_now() + HOLD_YIELD_NS, now;
		while (atomic_load_explicit(&collector_waiting, memory_order_relaxed) &&
		       (now = ct_now()) < until) {
			struct timespec left = {0, (long)(until - now)};
			syscall(SYS_futex, &collector_waiting, FUTEX_WAIT_PRIVATE, 1, &left, NULL,
				0);
		}
	}
	pthread_rwlock_rdlock(&unmap_lock);
	ct_tls_guard = 0;
	int r = real(handle);
	atomic_store_explicit(&ct_modules_dirty, 1, memory_order_relaxed);
	ct_tls_guard = 1;
	pthread_rwlock_unlock(&unmap_lock);
	ct_tls_guard = 0;
	in_dlclose = 0;
	return r;
}
