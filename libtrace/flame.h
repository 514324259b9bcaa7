/*
 * flame.h — flame graphs of a call tree: a standalone interactive SVG (flame.c) and a
 * self-contained HTML page drawn on a <canvas> (flame_html.c).
 *
 * Both show frames as boxes sized by value (root at the bottom, or at the top for an
 * icicle graph), with a tooltip per frame (function, file:line, value, % of total),
 * click-to-zoom and reset, regex search that highlights matches and shows the matched
 * share, and colours that are stable per function (a hash of its name, varied by its
 * module). Neither loads anything from the network: scripts and styles are inline and
 * fonts are the browser's generic families.
 *
 * SVG: every frame wider than min_width pixels is an element, so the file grows with the
 * number of visible frames; good for sharing and embedding. HTML: carries the tree of
 * every column packed into a string (pre-order, parents implied by depth steps, frames by
 * index, only nonzero self values; about 4 bytes a node, see flame_html.c), leaving out
 * subtrees below a millionth of every column's total (their value goes to their caller,
 * so totals stay exact), and draws only what is wider than a pixel, merging runs of
 * narrower siblings, so it stays responsive on trees of a million nodes; adds a sortable
 * flat/cum table and a switcher between the tree's columns (sample types).
 *
 * Diff mode (base_col >= 0, a tree from ct_tree_diff): widths come from column col (the
 * new profile), colours from the change of each frame's self share between the profiles
 * (each normalized by its own total): red for growth, blue for shrinkage.
 *
 * Thread-safety: none needed; reads only its arguments.
 */
#ifndef CT_FLAME_H
#define CT_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libtrace/report.h"

typedef struct {
	const char *title;    /* NULL: "Flame Graph", "Icicle Graph" or "Differential ..." */
	const char *subtitle; /* NULL: "<type> (<unit>), total <value>" */
	uint32_t col;	      /* column sizing the frames (HTML: the one shown first) */
	int32_t base_col;     /* diff mode: the column with the base values; -1 otherwise */
	bool icicle;	      /* root at the top, callees below */
	double min_width;     /* SVG: frames narrower than this (pixels) are left out */
	uint32_t width;	      /* SVG width in pixels; 0 for 1200 */
} ct_flame_opts;

/* Default options: column 0, no diff, flame orientation, min_width 0.1, width 1200. */
void ct_flame_opts_init(ct_flame_opts *o);

/* The options a writer uses: o, or *defaults filled by ct_flame_opts_init when o is NULL;
 * NULL when a column they name is not in t. */
const ct_flame_opts *ct_flame_opts_for(const ct_tree *t, const ct_flame_opts *o,
				       ct_flame_opts *defaults);

/* The title and subtitle the views show: o->title/o->subtitle when set, else defaults
 * (the subtitle names the column's sample type and total, and the base total of a diff).
 * The subtitle is formatted into buf. */
const char *ct_flame_title(const ct_flame_opts *o);
const char *ct_flame_subtitle(const ct_tree *t, const ct_flame_opts *o, char *buf, size_t len);

/* Writes the SVG flame graph of t to out. 0 or -errno (-EIO when out fails). */
int ct_flame_write_svg(FILE *out, const ct_tree *t, const ct_flame_opts *o);

/* Writes the HTML flame graph of t (every column, however many) to out. 0 or -errno (-EIO
 * when out fails). */
int ct_flame_write_html(FILE *out, const ct_tree *t, const ct_flame_opts *o);

#endif
