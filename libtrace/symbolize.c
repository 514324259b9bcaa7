/*
 * symbolize.c — names, files, lines and inlined frames for profile addresses (see
 * symbolize.h): the module table, the per-address cache, JIT code, and the public API.
 *
 * For each location: runtime address → file offset (address − memory_start + file_offset)
 * → ELF virtual address through the PT_LOAD segment that holds that offset → libdwfl
 * module address (+ the module's bias). Then, in order of preference:
 *   1. DWARF (symdwarf.c): the subprogram and the chain of inlined subroutines holding the
 *      address, and the line table.
 *   2. ELF symbols (symelf.c: .symtab, else .dynsym), with file:line from the line table
 *      when there is one.
 *   3. For a module that was opened but has no symbol covering the address (code of a
 *      stripped library that it does not export), one frame per module, "[libx.so]", so
 *      that such code forms one row rather than one per address.
 *   4. "module+0xOFFSET" (module basename, file offset): the name for every location of a
 *      module that is missing, changed since the run (build id differs), or not ELF.
 * Code outside any file (anonymous executable memory: JIT compilers) is named from the
 * perf map its process wrote (perfmap.h), when one is found.
 * C++ and Rust names are demangled (demangle.h).
 *
 * Caches: one libdwfl handle per (module path, build id); one resolved frame list per
 * (module, file offset), shared by all profiles run through the same symbolizer; one
 * subprogram index per compile unit. Strings are interned in the symbolizer and again
 * (by ct_profile_add_function) in each profile.
 */
#include "libtrace/symbolize.h"
#include "libtrace/safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "libtrace/demangle.h"
#include "libtrace/locname.h"
#include "libtrace/symbolize_impl.h"
#include "libtrace/vec.h"

static char *debuginfo_path;

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

/* ---- names ----------------------------------------------------------------------------- */

const char *ct_sym_intern(ct_symbolizer *s, const char *str)
{
	return ct_intern_str(&s->strs, str);
}

const char *ct_sym_human_name(ct_symbolizer *s, const char *sysname)
{
	char *d = ct_demangle(sysname);
	const char *r = ct_sym_intern(s, d ? d : sysname);
	free(d);
	return r;
}

/* ---- modules --------------------------------------------------------------------------- */

static void warn_module(ct_symbolizer *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn_module(ct_symbolizer *s, const char *fmt, ...)
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

/* Loads the PT_LOAD segments and the build id, and checks the latter. */
static void module_check(ct_symbolizer *s, struct ct_sym_module *m)
{
	Elf *elf = dwfl_module_getelf(m->mod, &m->bias);
	size_t nph = 0;
	if (!elf || elf_getphdrnum(elf, &nph) != 0) {
		warn_module(s, "%s: %s", m->path, elf ? elf_errmsg(-1) : dwfl_errmsg(-1));
		m->state = CT_SYM_MOD_UNUSABLE;
		return;
	}
	m->segs = calloc(nph ? nph : 1, sizeof(*m->segs));
	if (!m->segs) {
		m->state = CT_SYM_MOD_UNUSABLE;
		return;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			m->segs[m->nsegs++] = (struct ct_sym_seg){ph.p_offset, ph.p_vaddr,
								  ph.p_filesz, ph.p_memsz};
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
		m->state = CT_SYM_MOD_UNUSABLE;
	}
}

static void module_open(ct_symbolizer *s, struct ct_sym_module *m)
{
	/* [vdso], [kernel], [heap], anonymous memory ("//anon" as perf names it), unknown */
	if (!m->path[0] || m->path[0] == '[' || strcmp(m->path, "//anon") == 0) {
		m->state = CT_SYM_MOD_SPECIAL;
		return;
	}
	m->state = CT_SYM_MOD_UNUSABLE;
	int fd = ct_open_regular(m->path);
	if (fd < 0) {
		warn_module(s, "cannot open %s: %s", m->path,
			    errno == EINVAL ? "not a regular file" : strerror(errno));
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
	m->state = CT_SYM_MOD_OK;
	module_check(s, m);
}

/* The module for mapping mp, opened (and warned about) on first use. NULL on ENOMEM. */
static struct ct_sym_module *module_get(ct_symbolizer *s, const ct_mapping *mp)
{
	for (struct ct_sym_module *m = s->modules; m; m = m->next) {
		if (strcmp(m->path, mp->filename) == 0 &&
		    strcasecmp(m->build_id, mp->build_id) == 0)
			return m;
	}
	struct ct_sym_module *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->path = strdup(mp->filename);
	m->build_id = strdup(mp->build_id);
	const char *f = mp->filename;
	m->label = ct_sym_intern(s, !f[0]		       ? "[unknown]"
				    : strcmp(f, "//anon") == 0 ? "[anon]"
				    : f[0] == '['	       ? f
							       : ct_path_base(f));
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

static void module_free(struct ct_sym_module *m)
{
	if (m->dwfl)
		dwfl_end(m->dwfl);
	ct_sym_dwarf_free(m);
	free(m->syms);
	ct_idmap_free(&m->addrs);
	free(m->segs);
	free(m->path);
	free(m->build_id);
	free(m);
}

/* ---- resolving one address --------------------------------------------------------------- */

int ct_sym_push_frame(ct_symbolizer *s, const struct ct_sym_frame *f)
{
	if (!f->name || !f->sysname || !f->file)
		return -ENOMEM;
	if (CT_VEC_RESERVE(s->frames, s->capframes, s->nframes + 1))
		return -ENOMEM;
	s->frames[s->nframes++] = *f;
	return 0;
}

/* Pushes a frame named name (also its system name), without source. */
static int push_named(ct_symbolizer *s, const char *name)
{
	const char *n = ct_sym_intern(s, name);
	return ct_sym_push_frame(s, &(struct ct_sym_frame){n, n, ct_sym_intern(s, ""), 0, 0});
}

/* The PT_LOAD segment of an opened module holding file offset off (its file bytes first,
 * then its memory image), or NULL. */
static const struct ct_sym_seg *segment_of(const struct ct_sym_module *m, uint64_t off)
{
	for (size_t i = 0; i < m->nsegs; i++) {
		if (off >= m->segs[i].offset && off - m->segs[i].offset < m->segs[i].filesz)
			return &m->segs[i];
	}
	for (size_t i = 0; i < m->nsegs; i++) {
		if (off >= m->segs[i].offset && off - m->segs[i].offset < m->segs[i].memsz)
			return &m->segs[i];
	}
	return NULL;
}

/* Frames for module address maddr of an opened module: DWARF, else the symbol table, else
 * the module's own grouped frame. */
static int resolve_in_module(ct_symbolizer *s, struct ct_sym_module *m, Dwarf_Addr maddr, int *how)
{
	size_t first = s->nframes;
	if (ct_sym_resolve_dwarf(s, m, maddr, how))
		return -ENOMEM;
	if (s->nframes > first)
		return 0;
	const char *sname = ct_sym_lookup(m, maddr);
	/* A caller's address is its return address - 1. In no function, but one byte before
	 * a function's first: the frame was entered by a jump, not a call — a signal handler's
	 * return into __restore_rt, a coroutine's into __start_context. */
	if (!sname)
		sname = ct_sym_starting_at(m, maddr + 1);
	if (!sname) {
		char label[CT_LOCNAME_MAX];
		snprintf(label, sizeof(label), "[%s]", m->label);
		return push_named(s, label);
	}
	struct ct_sym_frame f = {.sysname = ct_sym_intern(s, sname),
				 .name = ct_sym_human_name(s, sname),
				 .file = ct_sym_intern(s, "")};
	if (ct_sym_line_at(s, m, maddr, &f.file, &f.line))
		*how |= CT_SYM_HOW_LINES;
	*how |= CT_SYM_HOW_SYMBOL;
	return ct_sym_push_frame(s, &f);
}

/* Resolves file offset off of module m into frames; returns the cache entry index, or
 * -ENOMEM. */
static int64_t resolve(ct_symbolizer *s, struct ct_sym_module *m, uint64_t off)
{
	uint64_t key = off + 1; /* ids are nonzero; an offset of 2^64 - 1 is not cached */
	uint32_t idx = key ? ct_idmap_get(&m->addrs, key) : UINT32_MAX;
	if (idx != UINT32_MAX)
		return idx;
	if (CT_VEC_RESERVE(s->entries, s->capentries, s->nentries + 1))
		return -ENOMEM;
	size_t first = s->nframes;
	int how = CT_SYM_HOW_FALLBACK;
	const struct ct_sym_seg *sg = m->state == CT_SYM_MOD_OK ? segment_of(m, off) : NULL;
	if (sg && resolve_in_module(s, m, off - sg->offset + sg->vaddr + m->bias, &how))
		return -ENOMEM;
	char buf[CT_LOCNAME_MAX];
	if (s->nframes == first &&
	    push_named(s, ct_module_offset_name(m->label, off, buf, sizeof(buf))))
		return -ENOMEM;
	s->entries[s->nentries] = (struct ct_sym_entry){
		(uint32_t)first, (uint16_t)(s->nframes - first), (uint16_t)how};
	if (key && ct_idmap_put(&m->addrs, key, (uint32_t)s->nentries))
		return -ENOMEM;
	return (int64_t)s->nentries++;
}

/* ---- JIT code: perf maps ---------------------------------------------------------------- */

/* Whether a mapping is anonymous memory, where JIT compilers put their code: no file
 * name, perf's "//anon", or the kernel's "[anon...]" names. */
static bool is_anonymous(const ct_mapping *mp)
{
	const char *f = mp->filename;
	return !f[0] || strcmp(f, "//anon") == 0 || strncmp(f, "[anon", 5) == 0;
}

/* The pid in dir/summary.txt ("pid=N"), or 0. */
static long summary_pid(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/summary.txt", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[256];
	long pid = 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "pid=", 4) == 0)
			pid = strtol(line + 4, NULL, 10);
	}
	fclose(f);
	return pid > 0 ? pid : 0;
}

/* Loads the first perf map found: DIR/perf-PID.map, then /tmp/perf-PID.map. */
static void load_perfmap(ct_symbolizer *s)
{
	s->perfmap_tried = true;
	long pid = s->perfmap_pid;
	if (!pid && s->perfmap_dir)
		pid = summary_pid(s->perfmap_dir);
	if (!pid)
		return;
	char path[4096];
	for (int i = 0; i < 2 && !s->perfmap; i++) {
		if (i == 0 && !s->perfmap_dir)
			continue;
		snprintf(path, sizeof(path), "%s/perf-%ld.map", i == 0 ? s->perfmap_dir : "/tmp",
			 pid);
		if (access(path, R_OK) != 0)
			continue;
		ct_error err;
		if (ct_perfmap_load(path, &s->perfmap, &err) && s->warn)
			fprintf(s->warn, "ctrace: warning: %s; JIT code not symbolized\n", err.msg);
	}
}

int ct_symbolizer_set_perf_map(ct_symbolizer *s, const char *dir, long pid)
{
	char *d = dir ? strdup(dir) : NULL;
	if (dir && !d)
		return -ENOMEM;
	free(s->perfmap_dir);
	s->perfmap_dir = d;
	s->perfmap_pid = pid > 0 ? pid : 0;
	ct_perfmap_free(s->perfmap);
	s->perfmap = NULL;
	s->perfmap_tried = false;
	return 0;
}

/* The name the perf map gives runtime address addr, or NULL. */
static const char *jit_name(ct_symbolizer *s, uint64_t addr)
{
	if (!s->perfmap_tried)
		load_perfmap(s);
	return s->perfmap ? ct_perfmap_lookup(s->perfmap, addr) : NULL;
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
		struct ct_sym_module *m = s->modules;
		s->modules = m->next;
		module_free(m);
	}
	ct_intern_free(&s->strs);
	free(s->frames);
	free(s->entries);
	free(s->perfmap_dir);
	ct_perfmap_free(s->perfmap);
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

/* Gives location li of p its lines; *how gets CT_SYM_HOW_* bits. 0 or -ENOMEM. */
static int symbolize_location(ct_symbolizer *s, ct_profile *p, struct ct_sym_module **mods,
			      uint32_t li, int *how)
{
	const ct_location *l = &p->locations[li];
	const ct_mapping *mp = &p->mappings[l->mapping - 1];
	const char *jit = is_anonymous(mp) ? jit_name(s, l->address) : NULL;
	if (jit) {
		uint32_t fn = ct_profile_add_function(p, jit, jit, "", 0);
		*how |= CT_SYM_HOW_SYMBOL;
		return fn == UINT32_MAX ? -ENOMEM
					: ct_profile_set_lines(p, li, &(ct_line){fn, 0}, 1);
	}
	int64_t e =
		resolve(s, mods[l->mapping - 1], l->address - mp->memory_start + mp->file_offset);
	if (e < 0)
		return -ENOMEM;
	const struct ct_sym_entry *ae = &s->entries[e];
	ct_line lines[CT_SYM_MAX_FRAMES];
	for (uint16_t k = 0; k < ae->n; k++) {
		const struct ct_sym_frame *f = &s->frames[ae->first + k];
		uint32_t fn =
			ct_profile_add_function(p, f->name, f->sysname, f->file, f->start_line);
		if (fn == UINT32_MAX)
			return -ENOMEM;
		lines[k] = (ct_line){fn, f->line};
	}
	*how |= ae->how;
	return ct_profile_set_lines(p, li, lines, ae->n);
}

int ct_symbolizer_run(ct_symbolizer *s, ct_profile *p, ct_error *err)
{
	if (!ct_profile_needs_symbols(p))
		return 0;
	struct ct_sym_module **mods = calloc(p->nmappings ? p->nmappings : 1, sizeof(*mods));
	int *how = calloc(p->nmappings ? p->nmappings : 1, sizeof(*how));
	int rc = mods && how ? 0 : -ENOMEM;
	for (uint32_t i = 0; !rc && i < p->nmappings; i++) {
		if (!(mods[i] = module_get(s, &p->mappings[i])))
			rc = -ENOMEM;
	}
	for (uint32_t li = 0; !rc && li < p->nlocations; li++) {
		const ct_location *l = &p->locations[li];
		if (needs_symbols(l) && l->mapping <= p->nmappings)
			rc = symbolize_location(s, p, mods, li, &how[l->mapping - 1]);
	}
	for (uint32_t i = 0; !rc && i < p->nmappings; i++) {
		ct_mapping *mp = &p->mappings[i];
		/* Anonymous memory has no file to look in later: what the perf map did not name
		 * stays "[anon]", and pprof must not try to symbolize it again. */
		mp->has_functions |= (how[i] & CT_SYM_HOW_SYMBOL) != 0 || is_anonymous(mp);
		mp->has_filenames |= (how[i] & CT_SYM_HOW_LINES) != 0;
		mp->has_line_numbers |= (how[i] & CT_SYM_HOW_LINES) != 0;
		mp->has_inline_frames |= (how[i] & CT_SYM_HOW_DWARF) != 0;
	}
	free(mods);
	free(how);
	if (rc)
		return ct_error_set(err, ENOMEM, -1, "out of memory while symbolizing");
	return 0;
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
