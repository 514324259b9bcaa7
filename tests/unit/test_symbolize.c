/*
 * test_symbolize.c — the symbolizer against real programs built at test time.
 *
 * A fixture compiles small C and C++ programs and libraries with the system compiler
 * (-g -O2): an inlined function, a namespace with a template, a stripped library, one
 * with its debug info in a separate file, one rebuilt after its build id was recorded,
 * and a Rust program in both of rustc's manglings (legacy and v0). JIT code is named from
 * a synthetic perf map.
 * Each test lays a module out the way the loader would (a mapping of its executable
 * segment at an arbitrary base), puts locations at the addresses `nm` and `objdump` give
 * for known functions, symbolizes, and checks names, file:line and inline frames.
 */
#include "libtrace/symbolize.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/proffix.h"

#include <check.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

#define PROG_C                                                                                     \
	"#include <stdio.h>\n" /* 1 */                                                             \
	"__attribute__((noinline)) void sink(int v) { __asm__ volatile(\"\" : : \"r\"(v)); }\n"    \
	"static inline __attribute__((always_inline)) void inl_leaf(int v)\n" /* 3 */              \
	"{\n"								      /* 4 */              \
	"\tsink(v * 7);\n"						      /* 5 */              \
	"}\n"								      /* 6 */              \
	"__attribute__((noinline)) void outer(int v)\n"			      /* 7 */              \
	"{\n"								      /* 8 */              \
	"\tinl_leaf(v);\n"						      /* 9 */              \
	"\tinl_leaf(v + 1);\n"						      /* 10 */             \
	"}\n"								      /* 11 */             \
	"int main(int argc, char **argv)\n"				      /* 12 */             \
	"{\n"								      /* 13 */             \
	"\t(void)argv;\n"						      /* 14 */             \
	"\touter(argc);\n"						      /* 15 */             \
	"\treturn 0;\n"							      /* 16 */             \
	"}\n"

#define CXX_SRC                                                                                    \
	"namespace geo {\n"							   /* 1 */         \
	"template <typename T> struct Box {\n"					   /* 2 */         \
	"\tT v;\n"								   /* 3 */         \
	"\t__attribute__((noinline)) T get() const;\n"				   /* 4 */         \
	"};\n"									   /* 5 */         \
	"template <typename T> T Box<T>::get() const { return v * 2 + 1; }\n"	   /* 6 */         \
	"template struct Box<int>;\n"						   /* 7 */         \
	"__attribute__((noinline)) int area(int w, int h) { return w * h + 3; }\n" /* 8 */         \
	"}\n"									   /* 9 */         \
	"extern \"C\" int cx_entry(int x) { geo::Box<int> b{x}; return b.get() + geo::area(x, "    \
	"x); }\n"

#define STRIPPED_C                                                                                 \
	"__attribute__((noinline, noipa)) static int hidden_fn(int x) { return x * 5 + 2; }\n"     \
	"int exported_fn(int x) { return hidden_fn(x) + 1; }\n"

#define RUST_SRC                                                                                   \
	"pub struct Wrapper<T> { v: T }\n"                                                         \
	"impl<T: Copy> Wrapper<T> {\n"                                                             \
	"    #[inline(never)] pub fn get(&self) -> T { self.v }\n"                                 \
	"}\n"                                                                                      \
	"#[inline(never)] fn hot(n: u64) -> u64 {\n"                                               \
	"    let mut x = n; for i in 0..n { x = x.wrapping_mul(31).wrapping_add(i); } x\n"         \
	"}\n"                                                                                      \
	"fn main() {\n"                                                                            \
	"    let w = Wrapper { v: std::env::args().count() as u32 };\n"                            \
	"    println!(\"{}\", hot(w.get() as u64));\n"                                             \
	"}\n"

#define CHG_A "int changing(int x) { return x + 1; }\n"
#define CHG_B "int changing(int x) { return x * 3 + 7; }\nint other(int y) { return y; }\n"

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_symbolize: command failed: %s\n", cmd);
		exit(1);
	}
}

static void write_file(const char *name, const char *text)
{
	ct_check_write_file(dir, name, text);
}

static bool have(const char *tool)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

enum { NFUNC = 2400 }; /* functions in libbig.so: about 107 KB of code */

static void write_big(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/big.c", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	for (int i = 0; i < NFUNC; i++)
		fprintf(f,
			"__attribute__((noinline)) unsigned f%d(unsigned x) { for (int i = 0; i < "
			"(int)(x & 15); i++) x = x * %d + (x >> 3) - %d; return x; }\n",
			i, 2 * i + 3, i);
	fclose(f);
}

/* Builds every module, two compilers at a time. */
static void build_fixture(void)
{
	ct_check_tmpdir(dir, sizeof(dir), "symtest");
	write_file("prog.c", PROG_C);
	write_file("cx.cc", CXX_SRC);
	write_file("stripped.c", STRIPPED_C);
	write_file("chg_a.c", CHG_A);
	write_file("chg_b.c", CHG_B);
	write_file("rs.rs", RUST_SRC);
	write_big();
	sh("cd %s && set -e; "
	   "(cc -g -O2 -shared -fPIC -o libbig.so big.c && nm -S libbig.so > big.nm) & big=$!; "
	   "cc -g -O2 -o prog prog.c; "
	   "g++ -g -O2 -shared -fPIC -o libcx.so cx.cc; "
	   "cc -g -O2 -shared -fPIC -o libstripped.so stripped.c; "
	   "nm libstripped.so > stripped.nm; strip libstripped.so; "
	   "cp prog.c sep.c; cc -g -O2 -o sep sep.c; objcopy --only-keep-debug sep sep.debug; "
	   "strip --strip-debug sep; objcopy --add-gnu-debuglink=sep.debug sep; "
	   "cc -g -O2 -shared -fPIC -o libchg.so chg_a.c; "
	   "if command -v clang >/dev/null; then cp prog.c cl.c; clang -g -O2 -o cl cl.c; fi; "
	   "if command -v rustc >/dev/null; then "
	   "rustc -g -C symbol-mangling-version=v0 -o rs_v0 rs.rs; "
	   "RUSTC_BOOTSTRAP=1 rustc -g -Z unstable-options -C symbol-mangling-version=legacy "
	   "-o rs_legacy rs.rs; fi; "
	   "wait $big",
	   dir);
}

/* ---- reading the modules ----------------------------------------------------------------- */

struct modinfo {
	uint64_t off, vaddr, filesz; /* the executable PT_LOAD */
	char build_id[129];
};

static void mod_info(const char *name, struct modinfo *mi)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(mi, 0, sizeof(*mi));
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(elf);
	size_t n;
	ck_assert_int_eq(elf_getphdrnum(elf, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			mi->off = ph.p_offset;
			mi->vaddr = ph.p_vaddr;
			mi->filesz = ph.p_filesz;
		}
	}
	const void *bits;
	ssize_t len = dwelf_elf_gnu_build_id(elf, &bits);
	for (ssize_t i = 0; i < len && i < 64; i++)
		snprintf(mi->build_id + 2 * i, 3, "%02x", ((const unsigned char *)bits)[i]);
	elf_end(elf);
	close(fd);
	ck_assert_uint_gt(mi->filesz, 0);
}

/* The value of symbol sym (exact name, or name followed by '.' for GCC clones) in an `nm`
 * listing of file (a module, or a saved listing ending in .nm). */
static uint64_t nm_addr(const char *file, const char *sym)
{
	char cmd[256], line[512];
	if (strstr(file, ".nm"))
		snprintf(cmd, sizeof(cmd), "cat %s/%s", dir, file);
	else
		snprintf(cmd, sizeof(cmd), "nm %s/%s", dir, file);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	uint64_t addr = 0;
	while (fgets(line, sizeof(line), f)) {
		char name[400], type;
		unsigned long long v;
		if (sscanf(line, "%llx %c %399s", &v, &type, name) != 3)
			continue;
		size_t len = strlen(sym);
		if (strncmp(name, sym, len) == 0 && (name[len] == 0 || name[len] == '.'))
			addr = v;
	}
	pclose(f);
	ck_assert_msg(addr != 0, "no symbol %s in %s", sym, file);
	return addr;
}

/* The value of the first symbol of file whose name contains part and starts with prefix;
 * *name gets a copy of the name (caller frees). */
static uint64_t nm_find(const char *file, const char *prefix, const char *part, char **name)
{
	char cmd[256], line[1024];
	snprintf(cmd, sizeof(cmd), "nm %s/%s", dir, file);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	uint64_t addr = 0;
	*name = NULL;
	while (!addr && fgets(line, sizeof(line), f)) {
		char sym[900], type;
		unsigned long long v;
		if (sscanf(line, "%llx %c %899s", &v, &type, sym) == 3 &&
		    (type == 't' || type == 'T') && strncmp(sym, prefix, strlen(prefix)) == 0 &&
		    strstr(sym, part)) {
			addr = v;
			*name = strdup(sym);
		}
	}
	pclose(f);
	ck_assert_msg(addr != 0, "no symbol %s...%s... in %s", prefix, part, file);
	return addr;
}

/* The addresses of the call instructions in function fn of file that call callee. */
static size_t call_sites(const char *file, const char *fn, const char *callee, uint64_t *out,
			 size_t max)
{
	char cmd[256], line[512], pat[128];
	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn %s/%s", dir, file);
	snprintf(pat, sizeof(pat), "<%s>", callee);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	bool in = false;
	size_t n = 0;
	char head[128];
	snprintf(head, sizeof(head), "<%s>:", fn);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '>') && strstr(line, ">:"))
			in = strstr(line, head) != NULL;
		else if (in && n < max && (strstr(line, "call") || strstr(line, "jmp")) &&
			 strstr(line, pat))
			out[n++] = strtoull(line, NULL, 16);
	}
	pclose(f);
	return n;
}

/* ---- building profiles -------------------------------------------------------------------- */

enum { BASE = 0x7f1234560000ULL };

/* A profile with one mapping of name's executable segment at BASE, recorded build id bid
 * (NULL: the module's own). */
static ct_profile *profile_for(const char *name, const char *bid, struct modinfo *mi,
			       uint32_t *mapping)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	mod_info(name, mi);
	ct_profile *p = pfix_new(0);
	ct_mapping m = {.memory_start = BASE + (mi->vaddr & ~0xfffULL),
			.memory_limit = BASE + mi->vaddr + mi->filesz,
			.file_offset = mi->off & ~0xfffULL,
			.filename = path,
			.build_id = bid ? bid : mi->build_id};
	*mapping = ct_profile_add_mapping(p, &m);
	ck_assert_uint_ne(*mapping, 0);
	return p;
}

/* A location at ELF virtual address vaddr of the module mapped at BASE. */
static uint32_t loc_at(ct_profile *p, uint32_t mapping, uint64_t vaddr)
{
	uint32_t l = ct_profile_add_location(p, mapping, BASE + vaddr, NULL, 0);
	ck_assert_uint_ne(l, UINT32_MAX);
	return l;
}

static const ct_function *fn_of(const ct_profile *p, uint32_t loc, uint32_t line)
{
	ck_assert_uint_lt(line, p->locations[loc].nlines);
	return &p->functions[p->locations[loc].lines[line].function];
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void symbolize(ct_profile *p, char **warnings)
{
	size_t len;
	FILE *w = open_memstream(warnings, &len);
	ck_assert_ptr_nonnull(w);
	ct_error err;
	ck_assert(ct_profile_needs_symbols(p));
	ck_assert_int_eq(ct_symbolize_profile(p, w, &err), 0);
	fclose(w);
	ck_assert(!ct_profile_needs_symbols(p));
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- tests -------------------------------------------------------------------------------- */

START_TEST(plain_function)
{
	struct modinfo mi;
	uint32_t m;
	ct_profile *p = profile_for("prog", NULL, &mi, &m);
	uint64_t sink = nm_addr("prog", "sink");
	uint32_t a = loc_at(p, m, sink);
	uint64_t main_fn = nm_addr("prog", "main");
	uint32_t b = loc_at(p, m, main_fn);
	uint32_t c = loc_at(p, m, main_fn + 1);
	uint32_t outside = loc_at(p, m, 0x7fff0000); /* in no segment of the file */
	char *w;
	symbolize(p, &w);
	ck_assert_str_eq(w, "");
	ck_assert_uint_eq(p->locations[a].nlines, 1);
	const ct_function *f = fn_of(p, a, 0);
	ck_assert_str_eq(f->name, "sink");
	ck_assert_str_eq(f->system_name, "sink");
	ck_assert_msg(ends_with(f->filename, "/prog.c"), "file %s", f->filename);
	ck_assert_int_eq(p->locations[a].lines[0].line, 2);
	ck_assert_int_eq(f->start_line, 2);
	/* one Function per function */
	ck_assert_str_eq(fn_of(p, b, 0)->name, "main");
	char want[64];
	snprintf(want, sizeof(want), "prog+0x%" PRIx64, 0x7fff0000 - mi.vaddr + mi.off);
	ck_assert_str_eq(fn_of(p, outside, 0)->name, want);
	ck_assert_uint_eq(p->locations[b].lines[0].function, p->locations[c].lines[0].function);
	ck_assert_uint_ne(p->locations[a].lines[0].function, p->locations[b].lines[0].function);
	ck_assert(p->mappings[0].has_functions);
	ck_assert(p->mappings[0].has_filenames);
	ck_assert(p->mappings[0].has_line_numbers);
	free(w);
	ct_profile_free(p);
}
END_TEST

static void check_inlined(const char *module, const char *src)
{
	struct modinfo mi;
	uint32_t m;
	ct_profile *p = profile_for(module, NULL, &mi, &m);
	uint64_t sites[4];
	size_t n = call_sites(module, "outer", "sink", sites, 4);
	ck_assert_uint_ge(n, 1);
	uint32_t locs[4];
	for (size_t i = 0; i < n; i++)
		locs[i] = loc_at(p, m, sites[i] + 1);
	char *w;
	symbolize(p, &w);
	ck_assert_str_eq(w, "");
	for (size_t i = 0; i < n; i++) {
		const ct_location *l = &p->locations[locs[i]];
		ck_assert_uint_eq(l->nlines, 2);
		ck_assert_str_eq(fn_of(p, locs[i], 0)->name, "inl_leaf");
		ck_assert_int_eq(l->lines[0].line, 5);
		ck_assert_str_eq(fn_of(p, locs[i], 1)->name, "outer");
		ck_assert_msg(l->lines[1].line == 9 || l->lines[1].line == 10, "call line %" PRId64,
			      l->lines[1].line);
		ck_assert(ends_with(fn_of(p, locs[i], 0)->filename, src));
		ck_assert(ends_with(fn_of(p, locs[i], 1)->filename, src));
	}
	ck_assert(p->mappings[0].has_inline_frames);
	free(w);
	ct_profile_free(p);
}

START_TEST(inlined_frames)
{
	check_inlined("prog", "/prog.c");
}
END_TEST

START_TEST(cxx_demangled)
{
	struct modinfo mi;
	uint32_t m;
	ct_profile *p = profile_for("libcx.so", NULL, &mi, &m);
	uint32_t get = loc_at(p, m, nm_addr("libcx.so", "_ZNK3geo3BoxIiE3getEv") + 2);
	uint32_t area = loc_at(p, m, nm_addr("libcx.so", "_ZN3geo4areaEii"));
	uint32_t entry = loc_at(p, m, nm_addr("libcx.so", "cx_entry"));
	char *w;
	symbolize(p, &w);
	ck_assert_str_eq(w, "");
	ck_assert_str_eq(fn_of(p, get, 0)->name, "geo::Box<int>::get() const");
	ck_assert_str_eq(fn_of(p, get, 0)->system_name, "_ZNK3geo3BoxIiE3getEv");
	ck_assert(ends_with(fn_of(p, get, 0)->filename, "/cx.cc"));
	ck_assert_int_eq(p->locations[get].lines[0].line, 6);
	ck_assert_str_eq(fn_of(p, area, 0)->name, "geo::area(int, int)");
	ck_assert_str_eq(fn_of(p, area, 0)->system_name, "_ZN3geo4areaEii");
	ck_assert_int_eq(p->locations[area].lines[0].line, 8);
	ck_assert_str_eq(fn_of(p, entry, 0)->name, "cx_entry");
	free(w);
	ct_profile_free(p);
}
END_TEST

START_TEST(stripped_fallbacks)
{
	struct modinfo mi;
	uint32_t m;
	ct_profile *p = profile_for("libstripped.so", NULL, &mi, &m);
	uint64_t hidden = nm_addr("stripped.nm", "hidden_fn");
	uint32_t exp = loc_at(p, m, nm_addr("stripped.nm", "exported_fn") + 1);
	uint32_t hid = loc_at(p, m, hidden);
	uint32_t hid2 = loc_at(p, m, hidden + 1);
	char *w;
	symbolize(p, &w);
	ck_assert_str_eq(w, "");
	ck_assert_uint_eq(p->locations[exp].nlines, 1);
	ck_assert_str_eq(fn_of(p, exp, 0)->name, "exported_fn");
	ck_assert_str_eq(fn_of(p, exp, 0)->filename, "");
	ck_assert_int_eq(p->locations[exp].lines[0].line, 0);
	/* Code no .dynsym symbol covers is grouped by module: one function, not one per
	 * address. */
	ck_assert_str_eq(fn_of(p, hid, 0)->name, "[libstripped.so]");
	ck_assert_uint_eq(p->locations[hid].lines[0].function,
			  p->locations[hid2].lines[0].function);
	ck_assert(p->mappings[0].has_functions);
	ck_assert(!p->mappings[0].has_line_numbers);
	free(w);
	ct_profile_free(p);
}
END_TEST

START_TEST(separate_debug_file)
{
	check_inlined("sep", "/sep.c");
}
END_TEST

START_TEST(clang_without_aranges)
{
	if (!have("clang"))
		return;
	struct modinfo mi;
	uint32_t m;
	ct_profile *p = profile_for("cl", NULL, &mi, &m);
	uint32_t a = loc_at(p, m, nm_addr("cl", "sink"));
	char *w;
	symbolize(p, &w);
	ck_assert_str_eq(fn_of(p, a, 0)->name, "sink");
	ck_assert_msg(ends_with(fn_of(p, a, 0)->filename, "/cl.c"), "%s", fn_of(p, a, 0)->filename);
	ck_assert_int_eq(p->locations[a].lines[0].line, 2);
	free(w);
	ct_profile_free(p);
}
END_TEST

START_TEST(changed_module)
{
	struct modinfo before;
	mod_info("libchg.so", &before);
	uint64_t fn = nm_addr("libchg.so", "changing");
	sh("cd %s && cc -g -O2 -shared -fPIC -o libchg.so chg_b.c", dir);
	struct modinfo mi;
	uint32_t m;
	ct_profile *p = profile_for("libchg.so", before.build_id, &mi, &m);
	ck_assert_str_ne(before.build_id, mi.build_id);
	uint32_t a = loc_at(p, m, fn);
	uint32_t b = loc_at(p, m, fn + 4);
	char *w;
	symbolize(p, &w);
	ck_assert_int_eq(count_lines(w), 1);
	ck_assert_msg(strstr(w, "ctrace: warning: ") == w, "%s", w);
	ck_assert_msg(strstr(w, "/libchg.so changed since the run (build id "), "%s", w);
	ck_assert_msg(strstr(w, before.build_id) && strstr(w, mi.build_id), "%s", w);
	ck_assert_msg(strstr(w, "not symbolized"), "%s", w);
	char want[64];
	snprintf(want, sizeof(want), "libchg.so+0x%" PRIx64, fn - mi.vaddr + mi.off);
	ck_assert_str_eq(fn_of(p, a, 0)->name, want);
	ck_assert_str_ne(fn_of(p, b, 0)->name, "changing");
	ck_assert(!p->mappings[0].has_functions);
	free(w);
	ct_profile_free(p);
}
END_TEST

START_TEST(missing_and_special)
{
	ct_profile *p = ct_profile_new();
	ck_assert_ptr_nonnull(p);
	ct_mapping gone = {.memory_start = 0x10000,
			   .memory_limit = 0x20000,
			   .file_offset = 0x1000,
			   .filename = "/nonexistent/libgone.so",
			   .build_id = "abcd"};
	ct_mapping vdso = {.memory_start = 0x7fff0000,
			   .memory_limit = 0x7fff2000,
			   .filename = "[vdso]",
			   .build_id = ""};
	uint32_t mg = ct_profile_add_mapping(p, &gone);
	uint32_t mv = ct_profile_add_mapping(p, &vdso);
	uint32_t a = ct_profile_add_location(p, mg, 0x10010, NULL, 0);
	uint32_t b = ct_profile_add_location(p, mg, 0x10020, NULL, 0);
	uint32_t c = ct_profile_add_location(p, mv, 0x7fff0123, NULL, 0);
	/* a location that already has lines is left alone */
	uint32_t f = ct_profile_add_function(p, "given", "given", "x.c", 1);
	ct_line given = {f, 7};
	uint32_t d = ct_profile_add_location(p, mv, 0x7fff0200, &given, 1);
	char *w;
	symbolize(p, &w);
	ck_assert_int_eq(count_lines(w), 1);
	ck_assert_str_eq(w, "ctrace: warning: cannot open /nonexistent/libgone.so: No such file "
			    "or directory; not symbolized\n");
	ck_assert_str_eq(fn_of(p, a, 0)->name, "libgone.so+0x1010");
	ck_assert_str_eq(fn_of(p, b, 0)->name, "libgone.so+0x1020");
	ck_assert_str_eq(fn_of(p, c, 0)->name, "[vdso]+0x123");
	ck_assert_str_eq(fn_of(p, d, 0)->name, "given");
	ck_assert_int_eq(p->locations[d].lines[0].line, 7);
	free(w);
	ct_profile_free(p);
}
END_TEST

/* One symbolizer over several profiles warns once per module. */
START_TEST(shared_symbolizer)
{
	size_t len;
	char *w;
	FILE *wf = open_memstream(&w, &len);
	ct_symbolizer *s = ct_symbolizer_new(wf);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 3; i++) {
		struct modinfo mi;
		uint32_t m;
		ct_profile *p = profile_for("prog", "00112233", &mi, &m);
		loc_at(p, m, nm_addr("prog", "main"));
		ct_error err;
		ck_assert_int_eq(ct_symbolizer_run(s, p, &err), 0);
		ck_assert(!ct_profile_needs_symbols(p));
		ct_profile_free(p);
	}
	ct_symbolizer_free(s);
	fclose(wf);
	ck_assert_int_eq(count_lines(w), 1);
	free(w);
}
END_TEST

/* 100k distinct locations over the 2400 functions of one large compile unit. */
START_TEST(many_locations)
{
	enum { NLOC = 100000 };
	char path[128], line[256];
	FILE *f;
	static uint64_t fa[NFUNC], fs[NFUNC];
	static char names[NFUNC][16];
	static uint16_t want[NLOC]; /* the function of each location */
	size_t nf = 0;
	snprintf(path, sizeof(path), "%s/big.nm", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (nf < NFUNC && fgets(line, sizeof(line), f)) {
		unsigned long long a, sz;
		char type, name[64];
		if (sscanf(line, "%llx %llx %c %63s", &a, &sz, &type, name) == 4 &&
		    name[0] == 'f' && sz > 0 && strlen(name) < sizeof(names[0])) {
			strcpy(names[nf], name);
			fa[nf] = a;
			fs[nf++] = sz;
		}
	}
	fclose(f);
	ck_assert_uint_eq(nf, NFUNC);
	struct modinfo mi;
	uint32_t m;
	ct_profile *p = profile_for("libbig.so", NULL, &mi, &m);
	/* every byte of every function, up to NLOC distinct addresses */
	for (size_t i = 0; i < NFUNC && p->nlocations < NLOC; i++) {
		for (uint64_t off = 0; off < fs[i] && p->nlocations < NLOC; off++)
			want[loc_at(p, m, fa[i] + off)] = (uint16_t)i;
	}
	ck_assert_uint_eq(p->nlocations, NLOC);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *w;
	symbolize(p, &w);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	fprintf(stderr, "test_symbolize: %u locations in %.0f ms\n", p->nlocations, ms);
	for (uint32_t i = 0; i < p->nlocations; i++)
		ck_assert_msg(strcmp(fn_of(p, i, 0)->name, names[want[i]]) == 0 &&
				      p->locations[i].lines[0].line > 0,
			      "loc %u: %s, want %s", i, fn_of(p, i, 0)->name, names[want[i]]);
	ck_assert_double_lt(ms, 20000);
	free(w);
	ct_profile_free(p);
}
END_TEST

/* The name the symbolizer gives the function of file whose symbol contains part. */
static char *rust_name(const char *file, const char *prefix, const char *part)
{
	struct modinfo mi;
	uint32_t m;
	ct_profile *p = profile_for(file, NULL, &mi, &m);
	char *sym;
	uint32_t l = loc_at(p, m, nm_find(file, prefix, part, &sym) + 1);
	char *w;
	symbolize(p, &w);
	ck_assert_str_eq(fn_of(p, l, 0)->system_name, sym);
	char *name = strdup(fn_of(p, l, 0)->name);
	free(sym);
	free(w);
	ct_profile_free(p);
	return name;
}

START_TEST(rust_demangled)
{
	if (!have("rustc")) {
		fprintf(stderr, "test_symbolize: no rustc, Rust names not tested\n");
		return;
	}
	/* Legacy mangling: hash dropped, $LT$/$GT$ escapes and .. resolved. */
	char *n = rust_name("rs_legacy", "_ZN", "3hot17h");
	ck_assert_str_eq(n, "rs::hot");
	free(n);
	n = rust_name("rs_legacy", "_ZN", "3get17h");
	ck_assert_str_eq(n, "rs::Wrapper<T>::get");
	free(n);
	/* v0 mangling: instantiated generics, no crate disambiguator. */
	n = rust_name("rs_v0", "_R", "3hot");
	ck_assert_str_eq(n, "rs::hot");
	free(n);
	n = rust_name("rs_v0", "_R", "7Wrapper");
	ck_assert_str_eq(n, "<rs::Wrapper<u32>>::get");
	free(n);
}
END_TEST

/* A mapping of anonymous memory (JIT code) named from the perf map found in the profile's
 * directory: addresses inside a region get its name, others stay module+offset names. */
START_TEST(jit_perf_map)
{
	char jdir[128];
	snprintf(jdir, sizeof(jdir), "%s/jit", dir);
	sh("mkdir -p %s && printf 'pid=4242\\nengine=perf\\n' > %s/summary.txt && "
	   "printf '10000000 40 LazyCompile:*hot /app/x.js:3\\n10000040 0x20 Stub:CEntry\\n"
	   "10000000 10 Builtin:replaced\\n' > %s/perf-4242.map",
	   jdir, jdir, jdir);
	ct_profile *p = pfix_new(0);
	ct_mapping mp = {.memory_start = 0x10000000,
			 .memory_limit = 0x10001000,
			 .filename = "//anon",
			 .build_id = ""};
	uint32_t m = ct_profile_add_mapping(p, &mp);
	uint32_t a = loc_at(p, m, 0x10000020 - BASE), b = loc_at(p, m, 0x10000050 - BASE),
		 c = loc_at(p, m, 0x10000800 - BASE), d = loc_at(p, m, 0x10000004 - BASE);
	size_t len;
	char *w;
	FILE *wf = open_memstream(&w, &len);
	ct_symbolizer *s = ct_symbolizer_new(wf);
	ck_assert_int_eq(ct_symbolizer_set_perf_map(s, jdir, 0), 0);
	ct_error err;
	ck_assert_int_eq(ct_symbolizer_run(s, p, &err), 0);
	ct_symbolizer_free(s);
	fclose(wf);
	ck_assert_str_eq(w, "");
	ck_assert_str_eq(fn_of(p, a, 0)->name, "LazyCompile:*hot /app/x.js:3");
	ck_assert_str_eq(fn_of(p, b, 0)->name, "Stub:CEntry");
	ck_assert_str_eq(fn_of(p, c, 0)->name, "[anon]+0x800");
	ck_assert_str_eq(fn_of(p, d, 0)->name, "Builtin:replaced"); /* the later line wins */
	ck_assert(p->mappings[0].has_functions);
	free(w);
	ct_profile_free(p);
}
END_TEST

int main(void)
{
	build_fixture();
	Suite *s = suite_create("symbolize");
	CT_CHECK_TCASE(s, "core", 120, plain_function, inlined_frames, cxx_demangled,
		       stripped_fallbacks, separate_debug_file, clang_without_aranges,
		       changed_module, missing_and_special, shared_symbolizer, many_locations,
		       rust_demangled, jit_perf_map);
	int status = ct_check_run(s);
	ct_check_rm_rf(dir);
	return status;
}
