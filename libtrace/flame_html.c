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
 *   parent   per node (pre-order), the parent's node index (-1 for the root)
 *   frame    per node, its frame index (-1 for the root)
 *   values   per column, per node, the cumulative value
 *   base     diff only: per node, the base profile's cumulative value
 * Numbers are written with a small integer formatter: for a million nodes the page holds
 * several million of them.
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

static void write_data(FILE *out, const ct_tree *t, const ct_flame_opts *o, const str_table *files,
		       const str_table *mods)
{
	uint32_t nc = t->ncols, n = t->nnodes;
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
	put_key(out, "parent");
	PUT_ARRAY(out, n, i_ ? (int64_t)t->nodes[i_].parent : -1);
	put_key(out, "frame");
	PUT_ARRAY(out, n, i_ ? (int64_t)t->nodes[i_].frame : -1);
	put_key(out, "values");
	putc('[', out);
	for (uint32_t c = 0, k = 0; c < nc; c++) {
		if (diff && c != o->col)
			continue;
		if (k++)
			fputs(",\n", out);
		PUT_ARRAY(out, n, t->cum[(size_t)i_ * nc + c]);
	}
	putc(']', out);
	if (diff) {
		put_key(out, "base");
		PUT_ARRAY(out, n, t->cum[(size_t)i_ * nc + (uint32_t)o->base_col]);
	}
	fputs("}", out);
}

int ct_flame_write_html(FILE *out, const ct_tree *t, const ct_flame_opts *o)
{
	ct_flame_opts defaults;
	if (!o) {
		ct_flame_opts_init(&defaults);
		o = &defaults;
	}
	if (o->col >= t->ncols || (o->base_col >= 0 && (uint32_t)o->base_col >= t->ncols))
		return -EINVAL;
	const char *at = strstr(page, marker);
	if (!at)
		return -EINVAL;
	str_table files = {0}, mods = {0};
	int rc = build_table(t, offsetof(ct_frame, file), &files);
	if (!rc)
		rc = build_table(t, offsetof(ct_frame, module), &mods);
	if (!rc) {
		fwrite(page, 1, (size_t)(at - page), out);
		write_data(out, t, o, &files, &mods);
		fputs(at + strlen(marker), out);
		rc = ferror(out) ? -EIO : 0;
	}
	free(files.tab);
	free(files.idx);
	free(mods.tab);
	free(mods.idx);
	return rc;
}
