/*
 * pprof_hostile.c — writes the hostile pprof profiles the report tests feed to
 * `ctrace report` (tests/integration/test_report_hostile.sh):
 *
 *   pprof_hostile names OUT.pb.gz        every string a report prints (function, system and
 *                                        file names, the mapping's file, label keys and
 *                                        values, sample types, comments) carrying control
 *                                        characters (ESC sequences, BEL, CR, DEL, a raw
 *                                        C1 CSI byte), ';' and line breaks, next to valid
 *                                        UTF-8 (C++ and Rust names in Greek and CJK)
 *   pprof_hostile lock-names OUT.pb.gz   the same names in a block profile (contentions
 *                                        and delay, the sample types the lock report reads)
 *   pprof_hostile types N OUT.pb.gz      N sample types, three stacks
 *   pprof_hostile reasons N OUT.pb.gz    a block profile of N samples, each with its own
 *                                        `reason` and `lock` label
 *   pprof_hostile repeat N OUT.pb.gz     N identical samples (one stack, one label), the
 *                                        wire format streamed straight into gzip: a few
 *                                        hundred KB that decode to N samples
 *
 * The first three build a ct_profile and write it with ct_pprof_write_file; `repeat`
 * writes the message by hand, so that the generator itself needs no memory for N.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "libtrace/pprof.h"

static void die(const char *what)
{
	fprintf(stderr, "pprof_hostile: %s\n", what);
	exit(1);
}

static void write_or_die(const ct_profile *p, const char *out)
{
	if (ct_pprof_write_file(p, out) != 0)
		die("cannot write the profile");
}

/* Strings that try to drive a terminal: colour, window title, clear screen, bell, a
 * carriage return over the line, DEL, and 0x9b (CSI on terminals taking 8-bit C1). */
#define EVIL_FN "evil\x1b[31mRED\x1b[0m\x1b]0;pwned\x07"
#define EVIL_FILE "src/\x1b[2Jfile\r.c"
#define EVIL_MAP "/lib/\x1b[5mlibevil\x7f.so"
#define EVIL_LABEL                                                                                 \
	"val\x1b[1mue\x9b"                                                                         \
	"31m"

static void names(const char *out, bool lock)
{
	ct_profile *p = ct_profile_new();
	if (!p)
		die("out of memory");
	ct_profile_add_sample_type(p, lock ? "contentions" : "samples", "count");
	ct_profile_add_sample_type(p, lock ? "delay" : "cpu\x1b[7m", "nanoseconds");
	ct_profile_add_comment(p, "comment \x1b[8mhidden\x1b[0m");
	ct_mapping m = {.memory_start = 0x400000,
			.memory_limit = 0x500000,
			.filename = EVIL_MAP,
			.has_functions = true};
	uint32_t map = ct_profile_add_mapping(p, &m);
	const char *fns[] = {EVIL_FN, "semi;colon\nnewline", "ns::καλημέρα<世界>", "main"};
	uint32_t locs[5];
	for (int i = 0; i < 4; i++) {
		uint32_t f = ct_profile_add_function(p, fns[i], fns[i], EVIL_FILE, 1);
		ct_line l = {f, 10 + i};
		locs[i] = ct_profile_add_location(p, map, 0x400100 + 0x100 * (uint64_t)i, &l, 1);
	}
	/* a frame without lines: named after its mapping, module+0xOFFSET */
	locs[4] = ct_profile_add_location(p, map, 0x400900, NULL, 0);
	ct_label labels[2] = {{.key = "reason", .str = EVIL_LABEL},
			      {.key = "lock", .str = "0x1\x1b[31m"}};
	int64_t v[2] = {5, 50000000};
	ct_profile_add_sample(p, locs, 4, v, labels, 2);
	int64_t w[2] = {3, 30000000};
	ct_profile_add_sample(p, &locs[4], 1, w, NULL, 0);
	write_or_die(p, out);
	ct_profile_free(p);
}

/* Three stacks j = 0, 1, 2 (main, main;a, main;b): stack j has the value (k + 1) * (j + 1)
 * in column k unless (j + k) % 3 == 0, so the nodes' masks differ and span every group of
 * 16 columns. */
static void types(unsigned long n, const char *out)
{
	ct_profile *p = ct_profile_new();
	int64_t *v = calloc(n ? n : 1, sizeof(*v));
	if (!p || !v)
		die("out of memory");
	for (unsigned long i = 0; i < n; i++) {
		char t[32];
		snprintf(t, sizeof(t), "type%lu", i);
		ct_profile_add_sample_type(p, t, "count");
	}
	const char *fns[] = {"main", "a", "b"};
	uint32_t locs[3];
	for (int i = 0; i < 3; i++) {
		ct_line l = {ct_profile_add_function(p, fns[i], fns[i], "main.c", 1), 1};
		locs[i] = ct_profile_add_location(p, 0, 0x1000 + 0x10 * (uint64_t)i, &l, 1);
	}
	for (unsigned j = 0; j < 3; j++) {
		for (unsigned long k = 0; k < n; k++)
			v[k] = (j + k) % 3 ? (int64_t)(k + 1) * (j + 1) : 0;
		uint32_t stack[2] = {locs[j], locs[0]};
		ct_profile_add_sample(p, j ? stack : &locs[0], j ? 2 : 1, v, NULL, 0);
	}
	write_or_die(p, out);
	free(v);
	ct_profile_free(p);
}

static void reasons(unsigned long n, const char *out)
{
	ct_profile *p = ct_profile_new();
	if (!p)
		die("out of memory");
	ct_profile_add_sample_type(p, "contentions", "count");
	ct_profile_add_sample_type(p, "delay", "nanoseconds");
	uint32_t f = ct_profile_add_function(p, "wait_here", "wait_here", "w.c", 1);
	ct_line l = {f, 1};
	uint32_t loc = ct_profile_add_location(p, 0, 0x1000, &l, 1);
	for (unsigned long i = 0; i < n; i++) {
		char r[32], k[32];
		snprintf(r, sizeof(r), "reason%lu", i);
		snprintf(k, sizeof(k), "0x%lx", 0x1000 + i);
		ct_label labels[2] = {{.key = "reason", .str = r}, {.key = "lock", .str = k}};
		int64_t v[2] = {1, 1000 * ((int64_t)i + 1)};
		ct_profile_add_sample(p, &loc, 1, v, labels, 2);
	}
	write_or_die(p, out);
	ct_profile_free(p);
}

/* ---- repeat: the wire format by hand ---- */

static size_t varint(uint8_t *b, uint64_t v)
{
	size_t n = 0;
	for (; v >= 0x80; v >>= 7)
		b[n++] = (uint8_t)(v | 0x80);
	b[n++] = (uint8_t)v;
	return n;
}

/* Field f (wire type LEN) holding body[0, len). */
static void put_len(gzFile z, unsigned f, const uint8_t *body, size_t len)
{
	uint8_t h[12];
	size_t n = varint(h, (uint64_t)f << 3 | 2);
	n += varint(h + n, len);
	if (gzwrite(z, h, (unsigned)n) != (int)n ||
	    (len && gzwrite(z, body, (unsigned)len) != (int)len))
		die("cannot write");
}

static void put_string(gzFile z, const char *s)
{
	put_len(z, 6, (const uint8_t *)s, strlen(s));
}

static void repeat(unsigned long long n, const char *out)
{
	gzFile z = gzopen(out, "wb9");
	if (!z)
		die("cannot open the output");
	/* strings: "", samples, count, main, thread, worker */
	const char *strs[] = {"", "samples", "count", "main", "thread", "worker"};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		put_string(z, strs[i]);
	const uint8_t type[] = {0x08, 1, 0x10, 2};			     /* samples/count */
	const uint8_t fn[] = {0x08, 1, 0x10, 3};			     /* id 1, name main */
	const uint8_t loc[] = {0x08, 1, 0x18, 0x80, 0x20, 0x22, 2, 0x08, 1}; /* id 1 */
	/* location 1, value 1, label thread=worker */
	const uint8_t sample[] = {0x0a, 1, 1, 0x12, 1, 1, 0x1a, 4, 0x08, 4, 0x10, 5};
	put_len(z, 1, type, sizeof(type));
	put_len(z, 5, fn, sizeof(fn));
	put_len(z, 4, loc, sizeof(loc));
	for (unsigned long long i = 0; i < n; i++)
		put_len(z, 2, sample, sizeof(sample));
	if (gzclose(z) != Z_OK)
		die("cannot write");
}

int main(int argc, char **argv)
{
	if (argc == 3 && (strcmp(argv[1], "names") == 0 || strcmp(argv[1], "lock-names") == 0))
		names(argv[2], argv[1][0] == 'l');
	else if (argc == 4 && strcmp(argv[1], "types") == 0)
		types(strtoul(argv[2], NULL, 10), argv[3]);
	else if (argc == 4 && strcmp(argv[1], "reasons") == 0)
		reasons(strtoul(argv[2], NULL, 10), argv[3]);
	else if (argc == 4 && strcmp(argv[1], "repeat") == 0)
		repeat(strtoull(argv[2], NULL, 10), argv[3]);
	else
		die("usage: pprof_hostile names|lock-names OUT | types N OUT | reasons N OUT | "
		    "repeat N "
		    "OUT");
	return 0;
}
