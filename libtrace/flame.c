/*
 * flame.c — the standalone SVG flame graph (see flame.h), and the titles both flame views
 * share.
 *
 * Layout happens here, in one pre-order pass: a node starts where its previous sibling
 * ended (its parent's start for the first child), so x = offset * scale. Frames narrower
 * than min_width pixels are left out with their whole subtree. Each frame is a <g> with
 * its value offset (data-o), value (data-v) and depth (data-d), a <title> (the browser's
 * tooltip: name, value, share, file:line), a <rect> and a <text> label truncated to fit.
 * The embedded script (flame_svg.js, included at build time) re-lays frames out from those
 * attributes to zoom, and searches the names in the titles.
 */
#include "libtrace/flame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/escape.h"
#include "libtrace/units.h"

static const char svg_script[] =
#include "libtrace/flame_svg.js.inc"
	;

enum {
	PAD = 10,     /* left and right margin */
	FRAME_H = 16, /* row height; boxes are one pixel less */
	TOP = 56,     /* title, subtitle and buttons */
	BOTTOM = 34,  /* details line */
	FONT_PX = 12, /* label font size; a monospace glyph is about 0.6 of it wide */
};

void ct_flame_opts_init(ct_flame_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->base_col = -1;
	o->min_width = 0.1;
	o->width = 1200;
}

const char *ct_flame_title(const ct_flame_opts *o)
{
	if (o->title && *o->title)
		return o->title;
	if (o->base_col >= 0)
		return "Differential Flame Graph";
	return o->icicle ? "Icicle Graph" : "Flame Graph";
}

const char *ct_flame_subtitle(const ct_tree *t, const ct_flame_opts *o, char *buf, size_t len)
{
	if (o->subtitle)
		return o->subtitle;
	uint32_t col = o->col < t->ncols ? o->col : 0;
	const ct_value_type *vt = &t->cols[col];
	char v[64], b[64], unit[80] = "";
	if (*vt->unit)
		snprintf(unit, sizeof(unit), " (%s)", vt->unit);
	ct_units_format(ct_tree_total(t, col), vt->unit, v, sizeof(v));
	if (o->base_col >= 0 && (uint32_t)o->base_col < t->ncols) {
		ct_units_format(ct_tree_total(t, (uint32_t)o->base_col), vt->unit, b, sizeof(b));
		snprintf(buf, len,
			 "%s%s: new total %s, base total %s; red grew, blue shrank (share of "
			 "each total)",
			 vt->type, unit, v, b);
	} else {
		snprintf(buf, len, "%s%s, total %s", vt->type, unit, v);
	}
	return buf;
}

static uint32_t hash32(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a, as in flame_page.html */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* Warm colours keyed by the function's name, the blue part nudged by its module, so that
 * a function keeps its colour across graphs; frames without symbols are grey. */
static void frame_color(const ct_frame *f, char *buf, size_t len)
{
	if (!*f->file && (strncmp(f->name, "0x", 2) == 0 || strstr(f->name, "+0x") ||
			  strcmp(f->name, "[unknown]") == 0)) {
		uint32_t h = hash32(f->name) % 40;
		snprintf(buf, len, "rgb(%u,%u,%u)", 170 + h, 170 + h, 170 + h);
		return;
	}
	uint32_t h = hash32(f->name), m = hash32(f->module);
	snprintf(buf, len, "rgb(%u,%u,%u)", 205 + h % 50, 60 + (h >> 8) % 170,
		 30 + (m % 8) * 8 + (h >> 16) % 12);
}

/* Diff colour: white when unchanged, towards red for growth, blue for shrinkage. */
static void diff_color(double delta, double max_abs, char *buf, size_t len)
{
	double k = max_abs > 0 ? delta / max_abs : 0;
	k = k > 1 ? 1 : k < -1 ? -1 : k;
	unsigned fade = (unsigned)(235 - 190 * (k < 0 ? -k : k));
	if (k > 0)
		snprintf(buf, len, "rgb(255,%u,%u)", fade, fade);
	else if (k < 0)
		snprintf(buf, len, "rgb(%u,%u,255)", fade, fade);
	else
		snprintf(buf, len, "rgb(240,240,240)");
}

static double self_share(const ct_tree *t, uint32_t i, uint32_t col)
{
	int64_t total = ct_tree_total(t, col);
	return total ? (double)t->self[(size_t)i * t->ncols + col] / (double)total : 0;
}

static void write_title(FILE *out, const ct_tree *t, uint32_t i, const ct_flame_opts *o)
{
	const ct_tree_node *n = &t->nodes[i];
	const ct_frame *f = i ? &t->frames[n->frame] : NULL;
	const char *unit = t->cols[o->col].unit;
	int64_t v = t->cum[(size_t)i * t->ncols + o->col], total = ct_tree_total(t, o->col);
	char a[64], b[64];
	fputs("<title>", out);
	ct_escape_xml(out, f ? f->name : "all", 0);
	fprintf(out, "\n%s (%.2f%%)", ct_units_format(v, unit, a, sizeof(a)),
		total ? 100.0 * (double)v / (double)total : 0.0);
	if (o->base_col >= 0) {
		uint32_t bc = (uint32_t)o->base_col;
		int64_t bv = t->cum[(size_t)i * t->ncols + bc], bt = ct_tree_total(t, bc);
		fprintf(out, ", base %s (%.2f%%); self share %+.2f%%",
			ct_units_format(bv, unit, b, sizeof(b)),
			bt ? 100.0 * (double)bv / (double)bt : 0.0,
			100.0 * (self_share(t, i, o->col) - self_share(t, i, bc)));
	}
	if (f && *f->file) {
		fputc('\n', out);
		ct_escape_xml(out, f->file, 0);
		if (f->line > 0)
			fprintf(out, ":%" PRId64, f->line);
	}
	if (f && *f->module) {
		fputs(f->file[0] ? " [" : "\n[", out);
		ct_escape_xml(out, f->module, 0);
		fputc(']', out);
	}
	fputs("</title>", out);
}

const ct_flame_opts *ct_flame_opts_for(const ct_tree *t, const ct_flame_opts *o,
				       ct_flame_opts *defaults)
{
	if (!o) {
		ct_flame_opts_init(defaults);
		o = defaults;
	}
	if (o->col >= t->ncols || (o->base_col >= 0 && (uint32_t)o->base_col >= t->ncols))
		return NULL;
	return o;
}

/* Where the frames of an SVG go: pass 1 over the tree. */
struct svg_layout {
	double scale;	 /* pixels per unit of value */
	int64_t *off;	 /* offset of each node in units, from the left */
	int64_t *next;	 /* offset of its next child */
	uint32_t *drawn; /* the nodes wide enough to draw, in pre-order */
	uint32_t ndrawn, maxd;
	double max_abs; /* diff: the largest change of self share (full colour) */
};

/* Offsets, the frames wide enough to draw, the deepest of them, and (diff) the largest
 * change of self share, which maps to full colour. */
static void layout(const ct_tree *t, const ct_flame_opts *o, struct svg_layout *l)
{
	uint32_t n = t->nnodes, nc = t->ncols, col = o->col;
	l->off[0] = l->next[0] = 0;
	for (uint32_t i = 0; i < n;) {
		int64_t v = t->cum[(size_t)i * nc + col];
		if (i) {
			uint32_t p = t->nodes[i].parent;
			l->off[i] = l->next[p];
			l->next[p] += v > 0 ? v : 0;
			l->next[i] = l->off[i];
		}
		if (v <= 0 || (double)v * l->scale < o->min_width) {
			i = t->nodes[i].end; /* its parent's next offset has moved on already */
			continue;
		}
		l->drawn[l->ndrawn++] = i;
		if (t->nodes[i].depth > l->maxd)
			l->maxd = t->nodes[i].depth;
		if (o->base_col >= 0 && i) {
			double d = self_share(t, i, col) - self_share(t, i, (uint32_t)o->base_col);
			d = d < 0 ? -d : d;
			l->max_abs = d > l->max_abs ? d : l->max_abs;
		}
		i++;
	}
}

/* The SVG's head: style, script, title lines, buttons, and the frames group's start. */
static void write_head(FILE *out, const ct_tree *t, const ct_flame_opts *o, uint32_t width,
		       uint32_t height)
{
	char sub[512];
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%" PRIu32 "\" height=\"%" PRIu32
		"\" viewBox=\"0 0 %" PRIu32 " %" PRIu32 "\" "
		"xmlns=\"http://www.w3.org/2000/svg\" onload=\"ctInit(evt)\">\n",
		width, height, width, height);
	fputs("<style>\n"
	      "text { font-family: monospace; font-size: 12px; fill: #000; }\n"
	      "#title { font-size: 17px; } #subtitle { fill: #555; }\n"
	      ".f { cursor: pointer; } .f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	      ".btn { cursor: pointer; fill: #1a4a8a; } .hide { display: none; }\n"
	      ".parent { opacity: 0.55; }\n"
	      "</style>\n<script type=\"text/ecmascript\"><![CDATA[\n",
	      out);
	fputs(svg_script, out);
	fputs("]]></script>\n", out);
	fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fbfbf5\"/>\n");
	fprintf(out, "<text id=\"title\" x=\"%" PRIu32 "\" y=\"24\" text-anchor=\"middle\">",
		width / 2);
	ct_escape_xml(out, ct_flame_title(o), 0);
	fprintf(out,
		"</text>\n<text id=\"subtitle\" x=\"%" PRIu32 "\" y=\"42\" text-anchor=\"middle\">",
		width / 2);
	ct_escape_xml(out, ct_flame_subtitle(t, o, sub, sizeof(sub)), 0);
	fprintf(out,
		"</text>\n<text id=\"unzoom\" class=\"btn hide\" x=\"%d\" y=\"24\">Reset "
		"Zoom</text>\n"
		"<text id=\"search\" class=\"btn\" x=\"%" PRIu32
		"\" y=\"24\" text-anchor=\"end\">Search</text>\n"
		"<text id=\"matched\" x=\"%" PRIu32 "\" y=\"%" PRIu32
		"\" text-anchor=\"end\"> </text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%" PRIu32 "\"> </text>\n"
		"<text id=\"selftest\" x=\"%d\" y=\"%" PRIu32 "\" class=\"hide\"> </text>\n",
		PAD, width - PAD, width - PAD, height - 14, PAD, height - 14, PAD, height - 2);
	fprintf(out, "<g id=\"frames\" data-total=\"%" PRId64 "\" data-unit=\"",
		ct_tree_total(t, o->col));
	ct_escape_xml(out, t->cols[o->col].unit, 0);
	fprintf(out, "\" data-width=\"%" PRIu32 "\" data-pad=\"%d\" data-icicle=\"%d\">\n", width,
		PAD, o->icicle ? 1 : 0);
}

/* One frame: node i at depth row y. */
static void write_frame(FILE *out, const ct_tree *t, const ct_flame_opts *o,
			const struct svg_layout *l, uint32_t i, uint32_t y)
{
	char color[32];
	int64_t v = t->cum[(size_t)i * t->ncols + o->col];
	double x = PAD + (double)l->off[i] * l->scale, w = (double)v * l->scale;
	if (o->base_col >= 0 && i)
		diff_color(self_share(t, i, o->col) - self_share(t, i, (uint32_t)o->base_col),
			   l->max_abs, color, sizeof(color));
	else if (i)
		frame_color(&t->frames[t->nodes[i].frame], color, sizeof(color));
	else
		snprintf(color, sizeof(color), "rgb(215,215,205)");
	fprintf(out,
		"<g class=\"f\" data-o=\"%" PRId64 "\" data-v=\"%" PRId64 "\" data-d=\"%" PRIu32
		"\">",
		l->off[i], v, t->nodes[i].depth);
	write_title(out, t, i, o);
	fprintf(out,
		"<rect x=\"%.1f\" y=\"%" PRIu32 "\" width=\"%.1f\" height=\"%d\" rx=\"2\" "
		"fill=\"%s\"/><text x=\"%.1f\" y=\"%" PRIu32 "\">",
		x, y, w, FRAME_H - 1, color, x + 3, y + FRAME_H - 4);
	size_t fit = w > 6 ? (size_t)((w - 6) / (FONT_PX * 0.6)) : 0;
	if (fit >= 3)
		ct_escape_xml(out, i ? t->frames[t->nodes[i].frame].name : "all", fit);
	fputs("</text></g>\n", out);
}

int ct_flame_write_svg(FILE *out, const ct_tree *t, const ct_flame_opts *o)
{
	ct_flame_opts defaults;
	if (!(o = ct_flame_opts_for(t, o, &defaults)))
		return -EINVAL;
	uint32_t n = t->nnodes;
	uint32_t width = o->width ? o->width : 1200;
	int64_t total = ct_tree_total(t, o->col);
	struct svg_layout l = {
		.scale = total > 0 ? (double)(width - 2 * PAD) / (double)total : 0,
		.off = malloc(n * sizeof(*l.off)),
		.next = malloc(n * sizeof(*l.next)),
		.drawn = malloc(n * sizeof(*l.drawn)),
	};
	if (l.off && l.next && l.drawn) {
		layout(t, o, &l);
		uint32_t height = TOP + (l.maxd + 1) * FRAME_H + BOTTOM;
		write_head(out, t, o, width, height);
		for (uint32_t k = 0; k < l.ndrawn; k++) {
			uint32_t d = t->nodes[l.drawn[k]].depth;
			write_frame(out, t, o, &l, l.drawn[k],
				    o->icicle ? TOP + d * FRAME_H
					      : height - BOTTOM - (d + 1) * FRAME_H);
		}
		fputs("</g>\n</svg>\n", out);
	}
	bool ok = l.off && l.next && l.drawn;
	free(l.off);
	free(l.next);
	free(l.drawn);
	return !ok ? -ENOMEM : ferror(out) ? -EIO : 0;
}
