/*
 * out.c — turning the agent's aggregates into pprof files in the output directory.
 *
 * Every profile gets one Mapping per executable segment the process ever had loaded
 * (path, file offset, GNU build id — what a symbolizer needs), the engine/loss comments,
 * and the recording's wall start time and duration. Locations carry runtime addresses
 * only: symbolization happens outside the target (DESIGN.md).
 *
 * Anonymous executable memory (JIT code: Node, the JVM, LuaJIT) gets a "//anon" Mapping
 * per region, read from /proc/self/maps when the files are written, so that the
 * symbolizer can name its addresses from the perf map the JIT wrote (perfmap.h).
 *
 * Stack convention: hook stacks hold return addresses only; a stack unwound from a CPU
 * sample ends with a 0 sentinel (cpu.c) and its first pc is the exact interrupted pc.
 * Return addresses are written as address - 1 so they point into the call instruction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/fdguard.h"
#include "agent/internal.h"
#include "libtrace/clock.h"
#include "libtrace/pprof.h"

/* Anonymous code regions of the profile being built (profiles are built one at a time, on
 * the thread writing the files): what /proc/self/maps shows when the profile starts, plus a
 * page for each address that no module and no such region holds — code a JIT unmapped
 * before exit (Node disposes of its heap first). Their mappings follow the modules'. */
enum { MAX_ANON = 256, ANON_PAGE = 4096 };
static struct {
	uintptr_t start, end;
	uint32_t mapping; /* its id in the profile */
} anon[MAX_ANON];
static int nanon;

static uint32_t anon_add(ct_profile *p, uintptr_t lo, uintptr_t hi)
{
	if (nanon == MAX_ANON)
		return 0;
	ct_mapping mp = {
		.memory_start = lo, .memory_limit = hi, .filename = "//anon", .build_id = ""};
	uint32_t id = ct_profile_add_mapping(p, &mp);
	if (id == UINT32_MAX)
		return 0;
	anon[nanon].start = lo;
	anon[nanon].end = hi;
	anon[nanon++].mapping = id;
	return id;
}

/* The executable regions of /proc/self/maps that no file backs (JIT code), as last read:
 * the exit path writes its profiles one after another, and one read serves them all. */
static struct {
	uintptr_t lo, hi;
} seen[MAX_ANON];
static int nseen;
static uint64_t seen_at; /* ct_now() of the read */
static pid_t seen_pid;	 /* by this process: a forked child reads its own */
#define ANON_REUSE_NS 200000000u

static void anon_read(void)
{
	nseen = 0;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f) && nseen < MAX_ANON) {
		unsigned long lo, hi;
		char perms[8];
		int path = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path) < 3 ||
		    perms[2] != 'x')
			continue;
		const char *name = path ? line + path : "";
		if (*name == '\n' || *name == 0 || strncmp(name, "[anon", 5) == 0) {
			seen[nseen].lo = lo;
			seen[nseen++].hi = hi;
		}
	}
	fclose(f);
}

/* Adds the anonymous code regions to p. */
static void anon_scan(ct_profile *p)
{
	nanon = 0;
	uint64_t now = ct_now();
	if (seen_pid != getpid() || now - seen_at > ANON_REUSE_NS) {
		anon_read();
		seen_at = now;
		seen_pid = getpid();
	}
	for (int i = 0; i < nseen; i++)
		anon_add(p, seen[i].lo, seen[i].hi);
}

ct_profile *ct_out_profile_new(void)
{
	ct_profile *p = ct_profile_new();
	if (!p)
		return NULL;
	int n;
	const ct_module *m = ct_modules_all(&n);
	for (int i = 0; i < n; i++) {
		ct_mapping mp = {
			.memory_start = m[i].start,
			.memory_limit = m[i].end,
			.file_offset = m[i].file_offset,
			.filename = m[i].path,
			.build_id = m[i].build_id,
		};
		ct_profile_add_mapping(p, &mp);
	}
	anon_scan(p);
	char c[400];
	snprintf(c, sizeof(c), "ctrace: engine %s: %s", ct_engine_name(ct_engine_get()),
		 ct_engine_reason);
	ct_profile_add_comment(p, c);
	p->time_nanos = (int64_t)ct_start_clock.wall_ns;
	uint64_t end = ct_stop_mono ? ct_stop_mono : ct_now();
	p->duration_nanos = (int64_t)(end - ct_start_clock.mono_ns);
	return p;
}

/* Id of the mapping holding pc (0: none): loaded modules first (id = index + 1), then
 * closed ones, then anonymous code. */
static uint32_t mapping_for(ct_profile *p, const void *ctx, uint64_t pc)
{
	(void)ctx;
	int n;
	const ct_module *m = ct_modules_all(&n);
	int found = -1;
	for (int i = 0; i < n; i++)
		if (pc >= m[i].start && pc < m[i].end) {
			found = i;
			if (m[i].loaded)
				break;
		}
	if (found >= 0)
		return (uint32_t)found + 1;
	for (int i = 0; i < nanon; i++)
		if (pc >= anon[i].start && pc < anon[i].end)
			return anon[i].mapping;
	uintptr_t page = pc & ~(uintptr_t)(ANON_PAGE - 1);
	return anon_add(p, page, page + ANON_PAGE);
}

int ct_out_add_pcs(ct_profile *p, const uintptr_t *pcs, int n, bool leaf_exact,
		   const int64_t *values, const ct_label *labels, uint32_t nlabels)
{
	uint64_t pc64[CT_STACK_MAX_DEPTH];
	uint32_t k = 0;
	for (int i = 0; i < n && k < CT_STACK_MAX_DEPTH; i++)
		pc64[k++] = pcs[i];
	/* The capture stopped at CT_MAX_FRAMES: the root side is missing, and says so. */
	return ct_profile_add_pc_sample(p, pc64, k, leaf_exact, n >= CT_MAX_FRAMES, mapping_for,
					NULL, values, labels, nlabels);
}

int ct_out_add_stack(ct_profile *p, uint32_t stack_id, const int64_t *values,
		     const ct_label *labels, uint32_t nlabels)
{
	const uintptr_t *pcs;
	int n = ct_stack_get(stack_id, &pcs);
	bool sample = n > 0 && pcs[n - 1] == 0;
	/* A stack interned with the program's labels (agent/ann.h) adds them. */
	uint32_t set = ct_stack_labels(stack_id);
	ct_label all[CT_ANN_DEPTH + 8];
	if (set && nlabels <= 8) {
		memcpy(all, labels, nlabels * sizeof(ct_label));
		nlabels += ct_ann_set_labels(set, all + nlabels, CT_ANN_DEPTH);
		labels = all;
	}
	return ct_out_add_pcs(p, pcs, sample ? n - 1 : n, sample, values, labels, nlabels);
}

static int mkdir_p(const char *dir)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(buf, 0777) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, 0777) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A process's own folder (DIR/<pid>, made by the agent) must be a directory of ours (or
 * root's: made before a switch of user), not a symlink planted to send our files (renamed
 * over whatever has their names) somewhere else, nor one another user made. The top
 * directory is the user's choice: it may be a symlink to a directory. */
static char top[sizeof(ct_cfg.out_dir)]; /* the run's directory: set by the first call */

const char *ct_out_top(void)
{
	return top;
}

int ct_out_dir_create(void)
{
	if (!*top)
		snprintf(top, sizeof(top), "%s", ct_cfg.out_dir);
	int is_top = strcmp(top, ct_cfg.out_dir) == 0;
	int r = mkdir_p(ct_cfg.out_dir);
	struct stat st;
	if (r == 0 && (is_top ? stat(ct_cfg.out_dir, &st) : lstat(ct_cfg.out_dir, &st)) < 0)
		r = -errno;
	/* Ours: made by this process, or by it as root before it switched user (idhooks.c
	 * then handed it over, or made it writable with the sticky bit when it could not). */
	if (r == 0 && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	else if (r == 0 && !is_top && st.st_uid != geteuid() && st.st_uid != 0)
		r = -EACCES;
	if (r == -ENOTDIR || r == -EACCES)
		ct_log("%s is not a directory of ours: not writing there", ct_cfg.out_dir);
	return r;
}

/* Opens DIR/name.tmp.<pid>.<n> for writing, created new (O_EXCL | O_NOFOLLOW: never an
 * existing file or a planted symlink); *tmp receives its path. NULL when it cannot. */
FILE *ct_out_create(const char *name, char *tmp, size_t tmplen)
{
	if (ct_out_dir_create() < 0)
		return NULL;
	for (unsigned n = 0; n < 100; n++) {
		snprintf(tmp, tmplen, "%s/%s.tmp.%d.%u", ct_cfg.out_dir, name, (int)getpid(), n);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno == ENOENT && n == 0 && ct_out_dir_create() == 0)
			fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return NULL;
		FILE *f = fdopen(fd, "w");
		if (!f) {
			close(fd);
			unlink(tmp);
		}
		return f;
	}
	return NULL;
}

/* Closes f and renames it into place as DIR/name (replacing a symlink there, never
 * following it). 0 or -errno; the temporary file never stays. */
int ct_out_commit(FILE *f, const char *tmp, const char *name)
{
	char path[4600];
	snprintf(path, sizeof(path), "%s/%s", ct_cfg.out_dir, name);
	int r = fclose(f) == 0 ? 0 : -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int reserve_slot = -1; /* constructor; exit path */

void ct_out_reserve_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	reserve_slot = fd < 0 ? -1 : ct_fdg_adopt(fd, CT_FDG_FILE);
}

void ct_out_release_fd(void)
{
	if (reserve_slot >= 0)
		ct_fdg_release(reserve_slot);
	reserve_slot = -1;
}

/* Write failures (disk full, file size limit, permissions), reported in summary.txt so
 * that `ctrace record` can say which files are missing and why. */
static char write_errors[1024]; /* the thread writing the files at exit */

const char *ct_out_errors(void)
{
	return write_errors;
}

void ct_out_fail(const char *name, const char *why)
{
	size_t used = strlen(write_errors);
	snprintf(write_errors + used, sizeof(write_errors) - used, "cannot write %s: %s\n", name,
		 why);
}

int ct_out_write(ct_profile *p, const char *name)
{
	char path[4600];
	snprintf(path, sizeof(path), "%s/%s", ct_cfg.out_dir, name);
	int r = ct_out_dir_create();
	if (r == 0)
		r = ct_pprof_write_file(p, path);
	if (r < 0) {
		ct_log("cannot write %s: %s", path, strerror(-r));
		ct_out_fail(name, strerror(-r));
	}
	ct_profile_free(p);
	return r;
}

/* DIR/.children: opened (appending) by a process that records into a folder of its own,
 * before it could drop privileges; a child it forks inherits the descriptor. Held by the
 * fd guard. */
static int children_slot = -1;

void ct_out_child_note(const char *what)
{
	if (children_slot >= 0 && ct_fdg_check(children_slot) < 0)
		children_slot = -1;
	if (children_slot < 0 && *top) {
		char path[sizeof(top) + 16];
		snprintf(path, sizeof(path), "%s/%s", top, CT_FILE_CHILDREN);
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
		children_slot = fd < 0 ? -1 : ct_fdg_adopt(fd, CT_FDG_FILE);
	}
	if (children_slot < 0)
		return;
	char line[600];
	const char *rel = ct_cfg.out_dir + strlen(top);
	int n = snprintf(line, sizeof(line), "%d %s\n", (int)getpid(), what);
	if (strncmp(what, "start ", 6) == 0)
		n = snprintf(line, sizeof(line), "%d start %s %s\n", (int)getpid(),
			     *rel == '/' ? rel + 1 : ".", what + 6);
	if (n >= (int)sizeof(line)) {
		n = (int)sizeof(line);
		line[n - 1] = '\n';
	}
	/* One write with O_APPEND: lines of processes writing at once never interleave. The
	 * number pinned (fdguard.h): never the program's file, should it dup2 over ours. */
	int fd = ct_fdg_pin(children_slot);
	ssize_t w = fd < 0 ? -1 : write(fd, line, (size_t)n);
	if (fd >= 0)
		ct_fdg_unpin();
	if (w != n)
		ct_log("cannot append to %s", CT_FILE_CHILDREN);
}

void ct_log(const char *fmt, ...)
{
	if (!ct_cfg.verbose)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	char pre[32];
	int m = snprintf(pre, sizeof(pre), "ctrace[%d]: ", (int)getpid());
	if (write(2, pre, (size_t)m) < 0 || write(2, buf, (size_t)n) < 0)
		return;
}

void ct_warning_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t at = strnlen(buf, len);
	if (at && at + 2 < len) {
		memcpy(buf + at, "; ", 3);
		at += 2;
	}
	if (at + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
}
