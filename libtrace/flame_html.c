/*
 * flame_html.c — the self-contained HTML flame graph (see flame.h): the page
 * (flame_page.html, included at build time) with the tree as one compact JSON object in
 * place of its data marker. All layout and drawing happen in the page's script.
 *
 * The JSON, by field:
 *   title, subtitle, icicle, diff, col   what to show first
 *   types    [{type, unit}] one per column shown (a diff shows only the new column)
 *   names    frame names, by frame index
 *   files, mods   per frame, an index into filetab / modtab (so repeats cost a number)
 *   lines    per frame, its first source line (0 unknown)
 *   nodes, depth  how many nodes the tree string holds, and the deepest one's depth
 *   ncols    value columns in the tree string: one per type, then (diff) the base column
 *   scale    per value column, a factor every value of it is a multiple of
 *   pruned, resolution   how many frames were merged into their callers, and below what
 *            share of the total (see below)
 *   tree     the nodes in pre-order, as one string of variable-length numbers
 *
 * The tree string is where the size goes (a million nodes for a big profile), so it is
 * packed: numbers are written little end first in 5-bit groups, one base64 character per
 * group, with 32 added to every group but the last. Node by node: a code, up * 2^w + mask,
 * where w = min(ncols, 16), up says how many levels the node climbs from the one before
 * (its parent is then implied: the last node written one level above it) and mask which
 * of the first w columns hold a nonzero self value; for every node but the root its frame
 * index; with more than 16 columns, one more mask per further group of 16 columns (so a
 * number never needs more than 53 bits, what a JavaScript number holds exactly); then, per
 * column set in a mask, the self value divided by that column's scale, zigzag-coded
 * (0, -1, 1, -2 … as 0, 1, 2, 3 …). Self values rather than cumulative ones, because most
 * nodes have none; the page sums them up the tree.
 *
 * Resolution: a subtree whose every value, in every column, is below 1/CT_FLAME_HTML_RES
 * of that column's total (or zero) is left out and its value added to its caller's self
 * value, so totals stay exact; such frames would be a millionth of the graph's width.
 */
#include "libtrace/flame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/escape.h"

static const char page[] =
#include "libtrace/flame_page.html.inc"
	;

static const char marker[] = "@CT_DATA@";

enum {
	CT_FLAME_HTML_RES = 1000000, /* resolution: a millionth of the total */
	MASK_BITS = 16,		     /* columns per mask: code = up * 2^16 + mask < 2^53 */
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_i64(FILE *out, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	fwrite(p, 1, (size_t)(buf + sizeof(buf) - p), out);
}

/* Writes one JSON array of n numbers from get(i). */
#define PUT_ARRAY(out, n, expr)                                                                    \
	do {                                                                                       \
		putc('[', out);                                                                    \
		for (uint32_t i_ = 0; i_ < (n); i_++) {                                            \
			if (i_)                                                                    \
				putc(',', out);                                                    \
			put_i64(out, (expr));                                                      \
		}                                                                                  \
		putc(']', out);                                                                    \
	} while (0)

/* Deduplicates the (interned, so pointer-comparable) strings of a frame field into a
 * table: idx[f] is the table index of frame f's string. */
typedef struct {
	const char **tab;
	uint32_t n;
	uint32_t *idx;
} str_table;

static int build_table(const ct_tree *t, size_t field_off, str_table *st)
{
	uint32_t cap = 16;
	while (cap < 2 * (t->nframes + 1))
		cap *= 2;
	const char **slots = calloc(cap, sizeof(*slots));
	uint32_t *slot_idx = calloc(cap, sizeof(*slot_idx));
	st->tab = malloc((t->nframes + 1) * sizeof(*st->tab));
	st->idx = malloc((t->nframes + 1) * sizeof(*st->idx));
	st->n = 0;
	if (!slots || !slot_idx || !st->tab || !st->idx) {
		free(slots);
		free(slot_idx);
		return -ENOMEM;
	}
	for (uint32_t f = 0; f < t->nframes; f++) {
		const char *s = *(const char *const *)((const char *)&t->frames[f] + field_off);
		uint32_t j = (uint32_t)(((uintptr_t)s >> 3) * 2654435761u) & (cap - 1);
		while (slots[j] && slots[j] != s)
			j = (j + 1) & (cap - 1);
		if (!slots[j]) {
			slots[j] = s;
			slot_idx[j] = st->n;
			st->tab[st->n++] = s;
		}
		st->idx[f] = slot_idx[j];
	}
	free(slots);
	free(slot_idx);
	return 0;
}

static void put_strings(FILE *out, const char *const *s, uint32_t n)
{
	putc('[', out);
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			putc(',', out);
		ct_escape_json(out, s[i]);
	}
	putc(']', out);
}

static void put_key(FILE *out, const char *key)
{
	fprintf(out, ",\n\"%s\":", key);
}

/* ---- the packed tree -------------------------------------------------------------------- */

/* The nodes and values to write: cols[k] is the tree column of value column k, keep[i]
 * whether node i is written, self[i * ncols + k] its self value including what it took
 * over from the subtrees left out under it. */
typedef struct {
	uint32_t *cols;
	uint32_t ncols;
	uint8_t *keep;
	int64_t *self;
	int64_t *scale;
	uint32_t nodes, pruned, depth;
} packed;

static int64_t gcd64(int64_t a, int64_t b)
{
	uint64_t x = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
	uint64_t y = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
	while (y) {
		uint64_t r = x % y;
		x = y;
		y = r;
	}
	return x > INT64_MAX ? 1 : (int64_t)x;
}

/* Whether value v of column k is below the resolution (zero counts as below). */
static bool tiny(const ct_tree *t, const packed *pk, uint32_t i, uint32_t k)
{
	int64_t v = t->cum[(size_t)i * t->ncols + pk->cols[k]];
	int64_t total = ct_tree_total(t, pk->cols[k]);
	double a = v < 0 ? -(double)v : (double)v, b = total < 0 ? -(double)total : (double)total;
	return v == 0 || a * CT_FLAME_HTML_RES < b;
}

static int prepare(const ct_tree *t, packed *pk)
{
	uint32_t n = t->nnodes, nc = pk->ncols;
	pk->keep = malloc(n);
	pk->self = malloc((size_t)n * nc * sizeof(*pk->self));
	pk->scale = malloc(nc * sizeof(*pk->scale));
	if (!pk->keep || !pk->self || !pk->scale)
		return -ENOMEM;
	/* keep[i] = 0 when node i and its whole subtree are below the resolution: a node is
	 * kept when it is not tiny, and so are its callers. */
	for (uint32_t i = 0; i < n; i++) {
		bool small = i > 0;
		for (uint32_t k = 0; k < nc && small; k++)
			small = tiny(t, pk, i, k);
		pk->keep[i] = !small;
	}
	for (uint32_t i = n; i-- > 1;)
		if (pk->keep[i])
			pk->keep[t->nodes[i].parent] = 1;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < nc; k++)
			pk->self[(size_t)i * nc + k] = t->self[(size_t)i * t->ncols + pk->cols[k]];
	pk->nodes = pk->pruned = pk->depth = 0;
	for (uint32_t i = 0; i < n;) {
		if (!pk->keep[i]) {
			/* the top of a left-out subtree: its caller takes its value */
			uint32_t up = t->nodes[i].parent;
			for (uint32_t k = 0; k < nc; k++)
				pk->self[(size_t)up * nc + k] +=
					t->cum[(size_t)i * t->ncols + pk->cols[k]];
			pk->pruned += t->nodes[i].end - i;
			i = t->nodes[i].end;
			continue;
		}
		pk->nodes++;
		if (t->nodes[i].depth > pk->depth)
			pk->depth = t->nodes[i].depth;
		i++;
	}
	for (uint32_t k = 0; k < nc; k++) {
		int64_t g = 0;
		for (uint32_t i = 0; i < n; i = pk->keep[i] ? i + 1 : t->nodes[i].end)
			if (pk->self[(size_t)i * nc + k])
				g = gcd64(g, pk->self[(size_t)i * nc + k]);
		pk->scale[k] = g ? g : 1;
	}
	return 0;
}

typedef struct {
	FILE *out;
	size_t n;
	char buf[16384];
} sink;

static void flush(sink *s)
{
	fwrite(s->buf, 1, s->n, s->out);
	s->n = 0;
}

static void put_var(sink *s, uint64_t v)
{
	if (s->n + 16 > sizeof(s->buf))
		flush(s);
	while (v >= 32) {
		s->buf[s->n++] = b64[32 | (v & 31)];
		v >>= 5;
	}
	s->buf[s->n++] = b64[v];
}

/* The masks of node values v[0, nc): bit k of mask g says v[g * MASK_BITS + k] != 0. */
static void node_masks(const int64_t *v, uint32_t nc, uint64_t *mask)
{
	for (uint32_t g = 0; g * MASK_BITS < nc; g++)
		mask[g] = 0;
	for (uint32_t k = 0; k < nc; k++)
		if (v[k])
			mask[k / MASK_BITS] |= 1ull << (k % MASK_BITS);
}

static int write_tree(FILE *out, const ct_tree *t, const packed *pk)
{
	uint32_t nc = pk->ncols, prev = 0, w = nc < MASK_BITS ? nc : MASK_BITS;
	uint32_t ngroups = (nc + MASK_BITS - 1) / MASK_BITS;
	uint64_t *mask = malloc((ngroups ? ngroups : 1) * sizeof(*mask));
	if (!mask)
		return -ENOMEM;
	sink s = {.out = out};
	putc('"', out);
	for (uint32_t i = 0; i < t->nnodes;) {
		if (!pk->keep[i]) {
			i = t->nodes[i].end;
			continue;
		}
		const int64_t *v = &pk->self[(size_t)i * nc];
		node_masks(v, nc, mask);
		uint32_t d = t->nodes[i].depth;
		put_var(&s, ((uint64_t)(i ? prev + 1 - d : 0) << w) | (ngroups ? mask[0] : 0));
		if (i)
			put_var(&s, t->nodes[i].frame);
		for (uint32_t g = 1; g < ngroups; g++)
			put_var(&s, mask[g]);
		for (uint32_t k = 0; k < nc; k++) {
			if (!v[k])
				continue;
			int64_t q = v[k] / pk->scale[k];
			put_var(&s,
				q < 0 ? (((uint64_t)0 - (uint64_t)q) << 1) - 1 : (uint64_t)q << 1);
		}
		prev = d;
		i++;
	}
	flush(&s);
	putc('"', out);
	free(mask);
	return 0;
}

static int write_data(FILE *out, const ct_tree *t, const ct_flame_opts *o, const str_table *files,
		      const str_table *mods, const packed *pk)
{
	uint32_t nc = t->ncols;
	bool diff = o->base_col >= 0;
	char sub[512];
	fputs("{\"title\":", out);
	ct_escape_json(out, ct_flame_title(o));
	put_key(out, "subtitle");
	ct_escape_json(out, ct_flame_subtitle(t, o, sub, sizeof(sub)));
	fprintf(out, ",\"icicle\":%s,\"diff\":%s,\"col\":%" PRIu32, o->icicle ? "true" : "false",
		diff ? "true" : "false", diff ? 0 : o->col);
	put_key(out, "types");
	putc('[', out);
	for (uint32_t c = 0, k = 0; c < nc; c++) {
		if (diff && c != o->col)
			continue;
		fputs(k++ ? ",{\"type\":" : "{\"type\":", out);
		ct_escape_json(out, t->cols[c].type);
		fputs(",\"unit\":", out);
		ct_escape_json(out, t->cols[c].unit);
		putc('}', out);
	}
	putc(']', out);
	put_key(out, "names");
	putc('[', out);
	for (uint32_t f = 0; f < t->nframes; f++) {
		if (f)
			putc(',', out);
		ct_escape_json(out, t->frames[f].name);
	}
	putc(']', out);
	put_key(out, "filetab");
	put_strings(out, files->tab, files->n);
	put_key(out, "files");
	PUT_ARRAY(out, t->nframes, files->idx[i_]);
	put_key(out, "modtab");
	put_strings(out, mods->tab, mods->n);
	put_key(out, "mods");
	PUT_ARRAY(out, t->nframes, mods->idx[i_]);
	put_key(out, "lines");
	PUT_ARRAY(out, t->nframes, t->frames[i_].line);
	fprintf(out,
		",\n\"nodes\":%" PRIu32 ",\"depth\":%" PRIu32 ",\"ncols\":%" PRIu32
		",\"pruned\":%" PRIu32 ",\"resolution\":%d",
		pk->nodes, pk->depth, pk->ncols, pk->pruned, CT_FLAME_HTML_RES);
	put_key(out, "scale");
	PUT_ARRAY(out, pk->ncols, pk->scale[i_]);
	put_key(out, "tree");
	int rc = write_tree(out, t, pk);
	fputs("}", out);
	return rc;
}

int ct_flame_write_html(FILE *out, const ct_tree *t, const ct_flame_opts *o)
{
	ct_flame_opts defaults;
	if (!(o = ct_flame_opts_for(t, o, &defaults)))
		return -EINVAL;
	const char *at = strstr(page, marker);
	if (!at)
		return -EINVAL;
	packed pk = {.ncols = 0};
	pk.cols = malloc((t->ncols + 2) * sizeof(*pk.cols));
	if (!pk.cols)
		return -ENOMEM;
	if (o->base_col >= 0) {
		pk.cols[pk.ncols++] = o->col;
		pk.cols[pk.ncols++] = (uint32_t)o->base_col;
	} else {
		for (uint32_t c = 0; c < t->ncols; c++)
			pk.cols[pk.ncols++] = c;
	}
	str_table files = {0}, mods = {0};
	int rc = prepare(t, &pk);
	if (!rc)
		rc = build_table(t, offsetof(ct_frame, file), &files);
	if (!rc)
		rc = build_table(t, offsetof(ct_frame, module), &mods);
	if (!rc) {
		fwrite(page, 1, (size_t)(at - page), out);
		rc = write_data(out, t, o, &files, &mods, &pk);
		fputs(at + strlen(marker), out);
		if (!rc && ferror(out))
			rc = -EIO;
	}
	free(pk.cols);
	free(pk.scale);
	free(pk.keep);
	free(pk.self);
	free(files.tab);
	free(files.idx);
	free(mods.tab);
	free(mods.idx);
	return rc;
}
