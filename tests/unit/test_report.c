/*
 * test_report.c — the report views on profiles built in memory: call tree invariants
 * (every parent at least the sum of its children, root equal to the total, pre-order
 * numbering), flat/cum totals and their ordering, filters, sample-type selection, folded
 * stacks that round-trip the total, escaping of hostile names in SVG/HTML, the HTML page's
 * packed tree (decoded back and compared node by node) and its resolution pruning (totals
 * stay exact), diffs, and value formatting.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/escape.h"
#include "libtrace/flame.h"
#include "libtrace/folded.h"
#include "libtrace/report.h"
#include "libtrace/report_text.h"
#include "libtrace/units.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/proffix.h"

/* A profile with two sample types (samples/count, cpu/nanoseconds) and functions
 * main, run, hash, sort, leaf, with labels "thread" (string) and "size" (number). */
static ct_profile *p;
static uint32_t fn[8];

static uint32_t loc_of(uint32_t f)
{
	ct_line l = {.function = fn[f], .line = 10 + f};
	return ct_profile_add_location(p, 0, 0, &l, 1);
}

/* Adds a sample: stack given root first (as names index into fn), n samples. */
static void add(const int *stack, int depth, int64_t n, const char *thread, int64_t size)
{
	uint32_t locs[16];
	for (int i = 0; i < depth; i++)
		locs[depth - 1 - i] = loc_of((uint32_t)stack[i]); /* leaf first */
	int64_t v[2] = {n, n * 10000000};
	ct_label l[2] = {{.key = "thread", .str = thread}, {.key = "size", .num = size}};
	ck_assert_int_eq(ct_profile_add_sample(p, locs, (uint32_t)depth, v, l, 2), 0);
}

enum { MAIN, RUN, HASH, SORT, LEAF, NFN };
static const char *const names[NFN] = {"main", "run", "hash", "sort", "leaf"};

static void setup(void)
{
	p = ct_profile_new();
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "samples", "count"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "cpu", "nanoseconds"), 0);
	for (int i = 0; i < NFN; i++) {
		char file[32];
		snprintf(file, sizeof(file), "/src/%s.c", names[i]);
		fn[i] = ct_profile_add_function(p, names[i], "", file, 1);
	}
	/* main;run;hash 5   main;run;sort;leaf 3   main;run;hash 2 (merged)   main 1
	 * main;run;run;hash 4 (recursion) */
	add((int[]){MAIN, RUN, HASH}, 3, 5, "worker", 64);
	add((int[]){MAIN, RUN, SORT, LEAF}, 4, 3, "main", 128);
	add((int[]){MAIN, RUN, HASH}, 3, 2, "main", 64);
	add((int[]){MAIN}, 1, 1, "main", 1);
	add((int[]){MAIN, RUN, RUN, HASH}, 4, 4, "worker", 64);
}

static void teardown(void)
{
	ct_profile_free(p);
	p = NULL;
}

static int64_t total(int col)
{
	int64_t s = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		s += p->samples[i].values[col];
	return s;
}

static const ct_top_entry *find_top(const ct_tree *t, const ct_top_entry *e, uint32_t n,
				    const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(t->frames[e[i].frame].name, name) == 0)
			return &e[i];
	return NULL;
}

/* Finds the node for a root-first path of names, or CT_TREE_NONE. */
static uint32_t node_at(const ct_tree *t, const char *const *path, int depth)
{
	uint32_t n = 0;
	for (int d = 0; d < depth; d++) {
		uint32_t c = t->nodes[n].first_child;
		while (c != CT_TREE_NONE && strcmp(t->frames[t->nodes[c].frame].name, path[d]))
			c = t->nodes[c].next_sibling;
		if (c == CT_TREE_NONE)
			return CT_TREE_NONE;
		n = c;
	}
	return n;
}

static void check_invariants(const ct_tree *t)
{
	for (uint32_t c = 0; c < t->ncols; c++) {
		for (uint32_t i = 0; i < t->nnodes; i++) {
			const ct_tree_node *n = &t->nodes[i];
			int64_t kids = 0;
			for (uint32_t k = n->first_child; k != CT_TREE_NONE;
			     k = t->nodes[k].next_sibling) {
				ck_assert_uint_eq(t->nodes[k].parent, i);
				ck_assert_uint_eq(t->nodes[k].depth, n->depth + 1);
				kids += t->cum[(size_t)k * t->ncols + c];
			}
			ck_assert_int_ge(t->cum[(size_t)i * t->ncols + c], kids);
			ck_assert_int_eq(t->cum[(size_t)i * t->ncols + c] - kids,
					 t->self[(size_t)i * t->ncols + c]);
			ck_assert_uint_gt(n->end, i);
			ck_assert_uint_le(n->end, t->nnodes);
			if (i) {
				ck_assert_uint_lt(n->parent, i);
				ck_assert_uint_le(n->end, t->nodes[n->parent].end);
			}
		}
	}
	ck_assert_uint_eq(t->nodes[0].end, t->nnodes);
}

/* The tree of q, unfiltered; building it must succeed. */
static ct_tree *tree_of(const ct_profile *q)
{
	ct_tree *t;
	ck_assert_int_eq(ct_tree_from_profile(q, NULL, &t), 0);
	return t;
}

/* What ct_folded_write prints for column col of t (malloc'd). */
static char *folded(const ct_tree *t, uint32_t col)
{
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ck_assert_int_eq(ct_folded_write(f, t, col), 0);
	return ct_check_mem_close(&mem);
}

START_TEST(tree_sums)
{
	ct_tree *t = tree_of(p);
	ck_assert_uint_eq(t->ncols, 2);
	ck_assert_int_eq(ct_tree_total(t, 0), total(0));
	ck_assert_int_eq(ct_tree_total(t, 1), total(1));
	ck_assert_int_eq(ct_tree_total(t, 0), 15);
	check_invariants(t);
	/* merged stacks: main;run;hash = 5 + 2 */
	const char *path[] = {"main", "run", "hash"};
	uint32_t n = node_at(t, path, 3);
	ck_assert_uint_ne(n, CT_TREE_NONE);
	ck_assert_int_eq(t->cum[n * 2], 7);
	/* children sorted by name: run's children are hash, run, sort */
	uint32_t run = node_at(t, path, 2), k = t->nodes[run].first_child;
	ck_assert_str_eq(t->frames[t->nodes[k].frame].name, "hash");
	k = t->nodes[k].next_sibling;
	ck_assert_str_eq(t->frames[t->nodes[k].frame].name, "run");
	k = t->nodes[k].next_sibling;
	ck_assert_str_eq(t->frames[t->nodes[k].frame].name, "sort");
	/* file and first line of a frame */
	ck_assert_str_eq(t->frames[t->nodes[k].frame].file, "/src/sort.c");
	ck_assert_int_eq(t->frames[t->nodes[k].frame].line, 13);
	ck_assert_uint_eq(t->nsamples, 5);
	ct_tree_free(t);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(tree_random_stacks)
{
	/* Many random stacks over few functions (so prefixes are shared, stacks repeat and
	 * some are prefixes of others, and several locations name one function): the tree
	 * has one node per distinct prefix, every stack's value at its leaf, children in
	 * name order. */
	enum { NSAMP = 400, MAXD = 7 };
	uint32_t locs2[NFN];
	for (int i = 0; i < NFN; i++) {
		ct_line l = {.function = fn[i], .line = 99};
		locs2[i] = ct_profile_add_location(p, 0, 0, &l, 1); /* a twin of loc_of(i) */
	}
	static char prefixes[NSAMP * MAXD + 8][MAXD * 8];
	uint32_t np = 0, seed = 12345;
	static int stacks[NSAMP][MAXD], depths[NSAMP];
	for (int i = 0; i < NSAMP; i++) {
		uint32_t locs[MAXD];
		int d = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % MAXD;
		char path[MAXD * 8] = "";
		for (int k = 0; k < d; k++) {
			int f = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 3 + (k ? 1 : 0);
			stacks[i][k] = f;
			locs[d - 1 - k] = (seed >> 20) & 1 ? locs2[f] : loc_of((uint32_t)f);
			strcat(path, names[f]);
			strcat(path, ";");
			strcpy(prefixes[np++], path);
		}
		depths[i] = d;
		int64_t v[2] = {i % 5, 1};
		ck_assert_int_eq(ct_profile_add_sample(p, locs, (uint32_t)d, v, NULL, 0), 0);
	}
	static const char *const fixture[] = {"main;",
					      "main;run;",
					      "main;run;hash;",
					      "main;run;sort;",
					      "main;run;sort;leaf;",
					      "main;run;run;",
					      "main;run;run;hash;"};
	for (size_t i = 0; i < sizeof(fixture) / sizeof(*fixture); i++)
		strcpy(prefixes[np++], fixture[i]);
	qsort(prefixes, np, sizeof(prefixes[0]), cmp_str);
	uint32_t distinct = 0;
	for (uint32_t i = 0; i < np; i++)
		distinct += i == 0 || strcmp(prefixes[i], prefixes[i - 1]) != 0;
	ct_tree *t = tree_of(p);
	check_invariants(t);
	ck_assert_uint_eq(t->nnodes, distinct + 1); /* and the root */
	ck_assert_int_eq(ct_tree_total(t, 1), total(1));
	for (uint32_t i = 0; i < t->nnodes; i++)
		for (uint32_t a = t->nodes[i].first_child, b;
		     a != CT_TREE_NONE && (b = t->nodes[a].next_sibling) != CT_TREE_NONE; a = b)
			ck_assert_int_lt(strcmp(t->frames[t->nodes[a].frame].name,
						t->frames[t->nodes[b].frame].name),
					 0);
	for (int i = 0; i < NSAMP; i++) {
		const char *path[MAXD];
		for (int k = 0; k < depths[i]; k++)
			path[k] = names[stacks[i][k]];
		ck_assert_uint_ne(node_at(t, path, depths[i]), CT_TREE_NONE);
	}
	ct_tree_free(t);
}
END_TEST

START_TEST(top_flat_cum)
{
	ct_tree *t;
	ct_top_entry *e;
	uint32_t n;
	ck_assert_int_eq(ct_tree_from_profile(p, NULL, &t), 0);
	ck_assert_int_eq(ct_tree_top(t, 0, &e, &n), 0);
	ck_assert_uint_eq(n, 5);
	for (uint32_t i = 1; i < n; i++)
		ck_assert(e[i - 1].flat > e[i].flat ||
			  (e[i - 1].flat == e[i].flat && e[i - 1].cum >= e[i].cum));
	ck_assert_str_eq(t->frames[e[0].frame].name, "hash");
	ck_assert_int_eq(e[0].flat, 11);
	const ct_top_entry *run = find_top(t, e, n, "run");
	ck_assert_ptr_nonnull(run);
	ck_assert_int_eq(run->flat, 0);
	ck_assert_int_eq(run->cum, 14); /* recursion counted once */
	const ct_top_entry *m = find_top(t, e, n, "main");
	ck_assert_int_eq(m->cum, 15);
	ck_assert_int_eq(m->flat, 1);
	free(e);
	ct_tree_free(t);
}
END_TEST

static ct_tree *filtered(const char *focus, const char *ignore, const char **tags, uint32_t ntags)
{
	ct_filter_spec spec = {.focus = focus, .ignore = ignore, .tags = tags, .ntags = ntags};
	ct_filter *f;
	ct_error err;
	ck_assert_int_eq(ct_filter_new(p, &spec, &f, &err), 0);
	ct_tree *t;
	ck_assert_int_eq(ct_tree_from_profile(p, f, &t), 0);
	ct_filter_free(f);
	check_invariants(t);
	return t;
}

START_TEST(filters)
{
	ct_tree *t = filtered("^sort$", NULL, NULL, 0);
	ck_assert_int_eq(ct_tree_total(t, 0), 3);
	ct_tree_free(t);
	t = filtered(NULL, "hash", NULL, 0);
	ck_assert_int_eq(ct_tree_total(t, 0), 4);
	ct_tree_free(t);
	t = filtered("run", "leaf", NULL, 0);
	ck_assert_int_eq(ct_tree_total(t, 0), 11);
	ct_tree_free(t);
	const char *tags[] = {"thread=worker"};
	t = filtered(NULL, NULL, tags, 1);
	ck_assert_int_eq(ct_tree_total(t, 0), 9);
	ct_tree_free(t);
	const char *num[] = {"size=64", "thread=main"};
	t = filtered(NULL, NULL, num, 2);
	ck_assert_int_eq(ct_tree_total(t, 0), 2);
	ct_tree_free(t);
	const char *none[] = {"nosuch=1"};
	t = filtered(NULL, NULL, none, 1);
	ck_assert_int_eq(ct_tree_total(t, 0), 0);
	ck_assert_uint_eq(t->nnodes, 1);
	ct_tree_free(t);

	ct_filter_spec bad = {.focus = "(unclosed"};
	ct_filter *f = NULL;
	ct_error err = {.offset = 0};
	ck_assert_int_eq(ct_filter_new(p, &bad, &f, &err), -EINVAL);
	ck_assert_ptr_null(f);
	ck_assert_ptr_nonnull(strstr(err.msg, "focus"));
	const char *badtag[] = {"novalue"};
	ct_filter_spec bt = {.tags = badtag, .ntags = 1};
	ck_assert_int_eq(ct_filter_new(p, &bt, &f, &err), -EINVAL);
}
END_TEST

START_TEST(sample_index)
{
	ct_error err;
	ck_assert_int_eq(ct_report_sample_index(p, NULL, &err), 1); /* last */
	ck_assert_int_eq(ct_report_sample_index(p, "samples", &err), 0);
	ck_assert_int_eq(ct_report_sample_index(p, "1", &err), 1);
	ck_assert_int_eq(ct_report_sample_index(p, "bogus", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "bogus"));
	ck_assert_int_eq(ct_report_sample_index(p, "7", &err), -EINVAL);
	p->default_sample_type = ct_profile_str(p, "samples");
	ck_assert_int_eq(ct_report_sample_index(p, NULL, &err), 0);
	ck_assert_str_eq(ct_report_profile_kind(p), "cpu");
}
END_TEST

/* Parses folded lines back into a total and checks every line's shape. */
static int64_t parse_folded(char *text, int *lines)
{
	int64_t sum = 0;
	*lines = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *sp = strrchr(line, ' ');
		ck_assert_ptr_nonnull(sp);
		ck_assert_ptr_null(strchr(sp + 1, ';'));
		sum += strtoll(sp + 1, NULL, 10);
		(*lines)++;
	}
	return sum;
}

START_TEST(folded_round_trip)
{
	ct_tree *t = tree_of(p);
	for (uint32_t col = 0; col < 2; col++) {
		char *buf = folded(t, col);
		ck_assert_ptr_nonnull(strstr(buf, "main;run;hash "));
		ck_assert_ptr_nonnull(strstr(buf, "main;run;sort;leaf "));
		ck_assert_ptr_nonnull(strstr(buf, "main;run;run;hash "));
		int lines;
		ck_assert_int_eq(parse_folded(buf, &lines), total((int)col));
		ck_assert_int_eq(lines, 4);
		free(buf);
	}
	ct_tree_free(t);
}
END_TEST

START_TEST(folded_sanitizes)
{
	uint32_t f = ct_profile_add_function(p, "a;b\nc", "", "", 0);
	ct_line l = {.function = f};
	uint32_t loc = ct_profile_add_location(p, 0, 0, &l, 1);
	int64_t v[2] = {1, 1};
	ck_assert_int_eq(ct_profile_add_sample(p, &loc, 1, v, NULL, 0), 0);
	ct_tree *t = tree_of(p);
	char *buf = folded(t, 0);
	ck_assert_ptr_nonnull(strstr(buf, "a:b\\x0ac 1\n"));
	free(buf);
	ct_tree_free(t);
}
END_TEST

START_TEST(inlined_and_unsymbolized)
{
	ct_profile *q = pfix_new(0);
	uint32_t outer = ct_profile_add_function(q, "outer", "", "o.c", 0);
	uint32_t inner = ct_profile_add_function(q, "inner", "", "i.c", 0);
	ct_line lines[2] = {{.function = inner, .line = 5}, {.function = outer, .line = 9}};
	ct_mapping m = {.memory_start = 0x400000,
			.memory_limit = 0x500000,
			.file_offset = 0x1000,
			.filename = "/usr/bin/prog"};
	uint32_t map = ct_profile_add_mapping(q, &m);
	uint32_t locs[3];
	locs[0] = ct_profile_add_location(q, map, 0x401234, NULL, 0); /* leaf, no symbols */
	locs[1] = ct_profile_add_location(q, 0, 0, lines, 2);
	locs[2] = ct_profile_add_location(q, 0, 0xdead, NULL, 0); /* root, no mapping */
	int64_t v = 3;
	ck_assert_int_eq(ct_profile_add_sample(q, locs, 3, &v, NULL, 0), 0);
	ck_assert_int_eq(ct_profile_add_sample(q, NULL, 0, &v, NULL, 0), 0);
	ct_tree *t = tree_of(q);
	const char *path[] = {"0xdead", "outer", "inner", "prog+0x2234"};
	uint32_t n = node_at(t, path, 4);
	ck_assert_uint_ne(n, CT_TREE_NONE);
	ck_assert_str_eq(t->frames[t->nodes[n].frame].module, "prog");
	const char *unknown[] = {"[unknown]"};
	ck_assert_uint_ne(node_at(t, unknown, 1), CT_TREE_NONE);
	ck_assert_int_eq(ct_tree_total(t, 0), 6);
	check_invariants(t);
	ct_tree_free(t);
	ct_profile_free(q);
}
END_TEST

static char *render(const ct_tree *t, const ct_flame_opts *o, bool html)
{
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ck_assert_int_eq(html ? ct_flame_write_html(f, t, o) : ct_flame_write_svg(f, t, o), 0);
	return ct_check_mem_close(&mem);
}

START_TEST(escaping)
{
	uint32_t f = ct_profile_add_function(p, "operator<<&\"x\" \xff</script>", "", "<a&b>.c", 0);
	ct_line l = {.function = f, .line = 3};
	uint32_t loc = ct_profile_add_location(p, 0, 0, &l, 1);
	int64_t v[2] = {50, 500000000};
	ck_assert_int_eq(ct_profile_add_sample(p, &loc, 1, v, NULL, 0), 0);
	ct_tree *t = tree_of(p);
	ct_flame_opts o;
	ct_flame_opts_init(&o);
	o.col = 1;
	o.title = "a < b & \"c\"";
	char *svg = render(t, &o, false);
	ck_assert_ptr_nonnull(strstr(svg, "operator&lt;&lt;&amp;&quot;x&quot; ?&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(svg, "&lt;a&amp;b&gt;.c:3"));
	ck_assert_ptr_nonnull(strstr(svg, "a &lt; b &amp; &quot;c&quot;"));
	ck_assert_ptr_null(strstr(svg, "operator<<"));
	ck_assert_ptr_nonnull(strstr(svg, "<svg "));
	ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
	free(svg);
	char *html = render(t, &o, true);
	ck_assert_ptr_nonnull(
		strstr(html, "operator\\u003c\\u003c\\u0026\\\"x\\\" ?\\u003c/script"));
	ck_assert_ptr_null(strstr(html, "operator<"));
	ck_assert_ptr_null(strstr(html, "http:"));
	ck_assert_ptr_null(strstr(html, "https:"));
	ck_assert_ptr_null(strstr(html, "@CT_DATA@"));
	/* exactly the page's own two closing script tags */
	int n = 0;
	for (char *s = html; (s = strstr(s, "</script>")); s++)
		n++;
	ck_assert_int_eq(n, 2);
	free(html);
	ct_tree_free(t);
}
END_TEST

/* ---- the HTML page's packed tree (format in libtrace/flame_html.c), decoded here ---- */

static int64_t json_int(const char *html, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *at = strstr(html, k);
	ck_assert_ptr_nonnull(at);
	return strtoll(at + strlen(k), NULL, 10);
}

static uint64_t next_num(const char **s)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint64_t v = 0;
	int shift = 0, c;
	do {
		const char *at = strchr(b64, **s);
		ck_assert(at && **s);
		c = (int)(at - b64);
		(*s)++;
		v |= (uint64_t)(c & 31) << shift;
		shift += 5;
	} while (c & 32);
	return v;
}

typedef struct {
	uint32_t n, ncols, pruned;
	uint32_t parent[64], frame[64], depth[64];
	int64_t self[64][2];
} decoded;

static void decode_html(const char *html, decoded *d)
{
	memset(d, 0, sizeof(*d));
	d->n = (uint32_t)json_int(html, "nodes");
	d->ncols = (uint32_t)json_int(html, "ncols");
	d->pruned = (uint32_t)json_int(html, "pruned");
	ck_assert_uint_le(d->n, 64);
	ck_assert_uint_le(d->ncols, 2);
	int64_t scale[2] = {1, 1};
	const char *s = strstr(html, "\"scale\":[");
	ck_assert_ptr_nonnull(s);
	s += 9;
	for (uint32_t k = 0; k < d->ncols; k++) {
		char *e;
		scale[k] = strtoll(s, &e, 10);
		s = e + 1;
	}
	s = strstr(html, "\"tree\":\"");
	ck_assert_ptr_nonnull(s);
	s += 8;
	uint32_t path[64];
	for (uint32_t i = 0; i < d->n; i++) {
		uint64_t code = next_num(&s), mask = code & ((1u << d->ncols) - 1);
		if (i) {
			d->depth[i] = d->depth[i - 1] + 1 - (uint32_t)(code >> d->ncols);
			ck_assert_uint_ge(d->depth[i], 1);
			d->parent[i] = path[d->depth[i] - 1];
			d->frame[i] = (uint32_t)next_num(&s);
		} else {
			d->parent[i] = d->frame[i] = CT_TREE_NONE;
		}
		path[d->depth[i]] = i;
		for (uint32_t k = 0; k < d->ncols; k++) {
			if (!(mask >> k & 1))
				continue;
			uint64_t z = next_num(&s);
			int64_t q = z & 1 ? -(int64_t)((z + 1) / 2) : (int64_t)(z / 2);
			d->self[i][k] = q * scale[k];
		}
	}
	ck_assert_int_eq(*s, '"'); /* nothing left over */
}

START_TEST(html_packed_tree)
{
	add((int[]){MAIN, SORT}, 2, -3, "main", 1); /* a negative value survives too */
	ct_tree *t = tree_of(p);
	ct_flame_opts o;
	ct_flame_opts_init(&o);
	o.col = 1;
	char *html = render(t, &o, true);
	decoded d;
	decode_html(html, &d);
	ck_assert_uint_eq(d.n, t->nnodes);
	ck_assert_uint_eq(d.ncols, 2);
	ck_assert_uint_eq(d.pruned, 0);
	ck_assert_int_eq(json_int(html, "depth"), 4);
	ck_assert_ptr_nonnull(strstr(html, "\"scale\":[1,10000000]"));
	for (uint32_t i = 0; i < t->nnodes; i++) {
		ck_assert_uint_eq(d.parent[i], t->nodes[i].parent);
		ck_assert_uint_eq(d.frame[i], t->nodes[i].frame);
		ck_assert_uint_eq(d.depth[i], t->nodes[i].depth);
		for (uint32_t k = 0; k < 2; k++)
			ck_assert_int_eq(d.self[i][k], t->self[(size_t)i * 2 + k]);
	}
	free(html);
	ct_tree_free(t);
}
END_TEST

START_TEST(html_resolution)
{
	/* One stack of ten million, and four of one each under main;sort: those are below a
	 * millionth of the total in both columns, so they are merged into main's self value
	 * (sort, and leaf under it, are left out). */
	ct_profile *q = pfix_new(1);
	uint32_t loc[NFN];
	for (int i = 0; i < NFN; i++) {
		ct_line l = {.function = ct_profile_add_function(q, names[i], "", "", 0)};
		loc[i] = ct_profile_add_location(q, 0, 0, &l, 1);
	}
	int64_t big[2] = {10000000, 100000000000000}, one[2] = {1, 10000000};
	uint32_t hot[2] = {loc[HASH], loc[MAIN]}, cold[3] = {loc[LEAF], loc[SORT], loc[MAIN]};
	ck_assert_int_eq(ct_profile_add_sample(q, hot, 2, big, NULL, 0), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ct_profile_add_sample(q, cold, 3, one, NULL, 0), 0);
	ck_assert_int_eq(ct_profile_add_sample(q, cold + 1, 2, one, NULL, 0), 0);
	ct_tree *t = tree_of(q);
	ck_assert_uint_eq(t->nnodes, 5);
	char *html = render(t, NULL, true);
	decoded d;
	decode_html(html, &d);
	ck_assert_uint_eq(d.n, 3); /* all, main, hash */
	ck_assert_uint_eq(d.pruned, 2);
	ck_assert_int_eq(d.self[1][0], 4);
	ck_assert_int_eq(d.self[1][1], 40000000);
	for (uint32_t k = 0; k < 2; k++) {
		int64_t sum = 0;
		for (uint32_t i = 0; i < d.n; i++)
			sum += d.self[i][k];
		ck_assert_int_eq(sum, ct_tree_total(t, k));
	}
	ck_assert_ptr_nonnull(strstr(html, "\"resolution\":1000000"));
	free(html);
	ct_tree_free(t);
	ct_profile_free(q);
}
END_TEST

START_TEST(svg_min_width)
{
	/* 1000 one-sample stacks under main plus one big one: with min_width the narrow
	 * frames are left out, without it they are all there. */
	uint32_t big = loc_of(HASH), root = loc_of(MAIN);
	int64_t v[2] = {100000, 1};
	uint32_t locs[2] = {big, root};
	ck_assert_int_eq(ct_profile_add_sample(p, locs, 2, v, NULL, 0), 0);
	for (int i = 0; i < 1000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "tiny%d", i);
		ct_line l = {.function = ct_profile_add_function(p, name, "", "", 0)};
		locs[0] = ct_profile_add_location(p, 0, 0, &l, 1);
		int64_t one[2] = {1, 1};
		ck_assert_int_eq(ct_profile_add_sample(p, locs, 2, one, NULL, 0), 0);
	}
	ct_tree *t = tree_of(p);
	ct_flame_opts o;
	ct_flame_opts_init(&o);
	o.min_width = 1;
	char *svg = render(t, &o, false);
	ck_assert_ptr_null(strstr(svg, "tiny1\n"));
	ck_assert_ptr_nonnull(strstr(svg, "<title>hash\n"));
	free(svg);
	o.min_width = 0;
	svg = render(t, &o, false);
	ck_assert_ptr_nonnull(strstr(svg, "<title>tiny999\n"));
	free(svg);
	o.icicle = true;
	svg = render(t, &o, false);
	ck_assert_ptr_nonnull(strstr(svg, "Icicle Graph"));
	free(svg);
	ct_tree_free(t);
}
END_TEST

START_TEST(empty_profile)
{
	ct_profile *q = pfix_new(0);
	ct_tree *t = tree_of(q);
	ck_assert_uint_eq(t->nnodes, 1);
	ct_flame_opts o;
	ct_flame_opts_init(&o);
	free(render(t, &o, false));
	free(render(t, &o, true));
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ck_assert_int_eq(ct_report_text(f, q, t, 0, NULL), 0);
	ck_assert_int_eq(ct_folded_write(f, t, 0), 0);
	char *buf = ct_check_mem_close(&mem);
	ck_assert_ptr_nonnull(strstr(buf, "Total: 0"));
	ck_assert_ptr_nonnull(strstr(buf, "No samples.\n"));
	free(buf);
	ct_tree_free(t);
	ct_profile_free(q);
}
END_TEST

START_TEST(text_table)
{
	ct_tree *t = tree_of(p);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ct_text_opts o = {.source = "mem.pb.gz", .top = 2};
	ck_assert_int_eq(ct_report_text(f, p, t, 1, &o), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "Kind: cpu profile"));
	ck_assert_msg(strstr(buf, "Total: 150ms in 5 records\n"), "%s",
		      buf); /* records, not samples */
	ck_assert_ptr_nonnull(strstr(buf, "Showing 2 of 5 functions"));
	ck_assert_ptr_nonnull(strstr(buf, "flat  flat%   sum%        cum   cum%  function"));
	char *hash = strstr(buf, "  hash\n"), *leaf = strstr(buf, "  leaf\n");
	ck_assert_ptr_nonnull(hash);
	ck_assert_ptr_nonnull(leaf);
	ck_assert(hash < leaf);
	ck_assert_ptr_null(strstr(buf, "  sort\n")); /* beyond --top 2 */
	ck_assert_ptr_nonnull(strstr(buf, "     110ms 73.33% 73.33%      110ms 73.33%  hash"));
	free(buf);
	ct_tree_free(t);
}
END_TEST

START_TEST(diff)
{
	ct_profile *base = p;
	p = NULL;
	setup(); /* a second copy of the same profile, then more of leaf */
	ct_profile *np = p;
	add((int[]){MAIN, RUN, SORT, LEAF}, 4, 15, "main", 1);
	ct_tree *t;
	ck_assert_int_eq(ct_tree_diff(base, NULL, 1, np, NULL, 1, &t), 0);
	ck_assert_uint_eq(t->ncols, 2);
	ck_assert_int_eq(ct_tree_total(t, 0), 300000000);
	ck_assert_int_eq(ct_tree_total(t, 1), 150000000);
	check_invariants(t);
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ck_assert_int_eq(ct_report_text_diff(f, t, "a", "b", 0), 0);
	ck_assert_int_eq(ct_folded_write2(f, t, 1, 0), 0);
	char *buf = ct_check_mem_close(&mem);
	/* leaf: 3/15 = 20% → 18/30 = 60%, the biggest change, listed first */
	char *row = strstr(buf, "function\n");
	ck_assert_ptr_nonnull(row);
	ck_assert_ptr_nonnull(strstr(row, "20.00%"));
	ck_assert_ptr_nonnull(strstr(row, "60.00%  +40.00%  leaf"));
	ck_assert_ptr_nonnull(strstr(buf, "main;run;sort;leaf 30000000 180000000\n"));
	free(buf);
	ct_flame_opts o;
	ct_flame_opts_init(&o);
	o.base_col = 1;
	char *svg = render(t, &o, false);
	ck_assert_ptr_nonnull(strstr(svg, "Differential Flame Graph"));
	ck_assert_ptr_nonnull(strstr(svg, "fill=\"rgb(255,45,45)\"")); /* leaf: full red */
	free(svg);
	char *html = render(t, &o, true);
	ck_assert_ptr_nonnull(strstr(html, "\"diff\":true"));
	ck_assert_ptr_nonnull(strstr(html, "\"ncols\":2,"));
	free(html);
	ct_tree_free(t);
	ct_profile_free(base);
}
END_TEST

/* A diff of a profile with itself: every change is 0, so rows go by size, then name. */
START_TEST(diff_same)
{
	ct_tree *t;
	ck_assert_int_eq(ct_tree_diff(p, NULL, 1, p, NULL, 1, &t), 0);
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ck_assert_int_eq(ct_report_text_diff(f, t, "a", "a", 0), 0);
	char *buf = ct_check_mem_close(&mem);
	char *row = strstr(buf, "function\n");
	ck_assert_ptr_nonnull(row);
	double last = 101;
	int rows = 0;
	for (char *l = strchr(row, '\n') + 1; *l; l = strchr(l, '\n') + 1, rows++) {
		double share = 0;
		ck_assert_int_eq(sscanf(l, "%*s %lf%%", &share), 1);
		ck_assert_msg(share <= last, "%s", buf);
		last = share;
	}
	ck_assert_int_ge(rows, 3);
	ck_assert_ptr_nonnull(strstr(strstr(buf, "  hash\n"), "  leaf\n"));
	free(buf);
	ct_tree_free(t);
}
END_TEST

/* A base in milliseconds against a profile in nanoseconds: compared in nanoseconds (the
 * base's values times 10^6), not as numbers; bytes against nanoseconds: refused. */
START_TEST(diff_units)
{
	ct_profile *ms = ct_profile_new(), *by = ct_profile_new();
	ck_assert_int_eq(ct_profile_add_sample_type(ms, "samples", "count"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(ms, "cpu", "milliseconds"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(by, "cpu", "bytes"), 0);
	uint32_t f = ct_profile_add_function(ms, "hash", "", "/src/hash.c", 1);
	ct_line l = {.function = f, .line = 12};
	uint32_t loc = ct_profile_add_location(ms, 0, 0, &l, 1);
	ck_assert_int_eq(ct_profile_add_sample(ms, &loc, 1, (int64_t[]){15, 150}, NULL, 0), 0);
	ct_tree *t;
	ck_assert_int_eq(ct_tree_diff(ms, NULL, 1, p, NULL, 1, &t), 0);
	ck_assert_str_eq(t->cols[0].unit, "nanoseconds");
	ck_assert_str_eq(t->cols[1].unit, "nanoseconds");
	ck_assert_int_eq(ct_tree_total(t, 1), 150000000); /* 150 ms */
	ck_assert_int_eq(ct_tree_total(t, 0), 150000000); /* the fixture's 15 x 10 ms */
	ct_tree_free(t);
	ck_assert_int_eq(ct_tree_diff(p, NULL, 1, ms, NULL, 1, &t), 0); /* the other way round */
	ck_assert_int_eq(ct_tree_total(t, 0), 150000000);
	ck_assert_int_eq(ct_tree_total(t, 1), 150000000);
	ct_tree_free(t);
	ck_assert_int_eq(ct_tree_diff(by, NULL, 0, p, NULL, 1, &t), -EDOM);
	ck_assert_ptr_null(t);
	ct_profile_free(ms);
	ct_profile_free(by);
}
END_TEST

/* A difference of two profiles (go tool pprof -proto -diff_base): values of both signs.
 * As pprof: the total is the sum of magnitudes, rows go by magnitude, shares are
 * magnitudes; with "pprof::base" samples the total is theirs. */
START_TEST(negative_values)
{
	ct_profile *d = ct_profile_new();
	ck_assert_int_eq(ct_profile_add_sample_type(d, "cpu", "nanoseconds"), 0);
	uint32_t fa = ct_profile_add_function(d, "shrunk", "", "/src/a.c", 1);
	uint32_t fb = ct_profile_add_function(d, "grew", "", "/src/b.c", 1);
	ct_line la = {.function = fa, .line = 1}, lb = {.function = fb, .line = 2};
	uint32_t a = ct_profile_add_location(d, 0, 0, &la, 1),
		 b = ct_profile_add_location(d, 0, 0, &lb, 1);
	ck_assert_int_eq(ct_profile_add_sample(d, &a, 1, (int64_t[]){-300000000}, NULL, 0), 0);
	ck_assert_int_eq(ct_profile_add_sample(d, &b, 1, (int64_t[]){100000000}, NULL, 0), 0);
	ck_assert_int_eq(ct_report_total(d, 0), 400000000);
	ct_tree *t;
	ck_assert_int_eq(ct_tree_from_profile(d, NULL, &t), 0);
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ck_assert_int_eq(ct_report_text(f, d, t, 0, NULL), 0);
	char *buf = ct_check_mem_close(&mem);
	ck_assert_msg(strstr(buf, "Total: 400ms in 2 records"), "%s", buf);
	char *shrunk = strstr(buf, "  shrunk\n"), *grew = strstr(buf, "  grew\n");
	ck_assert(shrunk && grew && shrunk < grew); /* the larger magnitude first */
	ck_assert_msg(strstr(buf, "    -300ms 75.00% 75.00%     -300ms 75.00%  shrunk"), "%s", buf);
	ck_assert_ptr_null(strstr(buf, "-0%"));
	free(buf);
	ct_tree_free(t);
	ct_label base = {.key = "pprof::base", .str = "true"};
	ck_assert_int_eq(ct_profile_add_sample(d, &b, 1, (int64_t[]){-50000000}, &base, 1), 0);
	ck_assert_int_eq(ct_report_total(d, 0), 50000000);
	ct_profile_free(d);
}
END_TEST

START_TEST(units)
{
	char b[64];
	ck_assert_str_eq(ct_units_format(2510000000, "nanoseconds", b, sizeof(b)), "2.51s");
	ck_assert_str_eq(ct_units_format(10000000, "nanoseconds", b, sizeof(b)), "10ms");
	ck_assert_str_eq(ct_units_format(1500, "nanoseconds", b, sizeof(b)), "1.5us");
	ck_assert_str_eq(ct_units_format(999, "nanoseconds", b, sizeof(b)), "999ns");
	ck_assert_str_eq(ct_units_format(3, "milliseconds", b, sizeof(b)), "3ms");
	ck_assert_str_eq(ct_units_format(0, "nanoseconds", b, sizeof(b)), "0");
	ck_assert_str_eq(ct_units_format(1288490189, "bytes", b, sizeof(b)), "1.2GB");
	ck_assert_str_eq(ct_units_format(512, "bytes", b, sizeof(b)), "512B");
	ck_assert_str_eq(ct_units_format(1536, "bytes", b, sizeof(b)), "1.5KB");
	ck_assert_str_eq(ct_units_format(-2097152, "bytes", b, sizeof(b)), "-2MB");
	ck_assert_str_eq(ct_units_format(999999990, "nanoseconds", b, sizeof(b)), "1s");
	ck_assert_str_eq(ct_units_format(1048575, "bytes", b, sizeof(b)), "1MB");
	ck_assert_str_eq(ct_units_format(42, "count", b, sizeof(b)), "42");
	ck_assert_str_eq(ct_units_format(42, "widgets", b, sizeof(b)), "42 widgets");
	ck_assert_uint_eq(ct_escape_utf8_chars("h\xc3\xa9llo\xff"), 6);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = CT_CHECK_TCASE(s, "core", 0, tree_sums, tree_random_stacks, top_flat_cum,
				   filters, sample_index, folded_round_trip, folded_sanitizes,
				   inlined_and_unsymbolized, escaping, html_packed_tree,
				   html_resolution, svg_min_width, empty_profile, text_table, diff,
				   diff_same, diff_units, negative_values, units);
	tcase_add_checked_fixture(tc, setup, teardown);
	return s;
}

CT_CHECK_MAIN(report_suite)
