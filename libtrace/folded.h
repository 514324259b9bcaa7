/*
 * folded.h — the "folded stacks" view: one line per distinct stack, frames root first
 * separated by ';', then a space and the stack's value ("main;run;hash 42"), the input of
 * flamegraph.pl, inferno and speedscope. The values of all lines add up to the tree's
 * total for the column. In frame names ';' (the separator) becomes ':', and control
 * characters (line breaks among them, which would end a line) and invalid UTF-8 the
 * visible \xNN of escape.h: every line stays one stack, safe to print on a terminal.
 *
 * Thread-safety: none needed; reads only its arguments.
 */
#ifndef CT_FOLDED_H
#define CT_FOLDED_H

#include <stdint.h>
#include <stdio.h>

#include "libtrace/report.h"

/* Writes one line per node of t with a nonzero self value in column col, in pre-order.
 * 0 or -errno (-EIO when out reports an error). */
int ct_folded_write(FILE *out, const ct_tree *t, uint32_t col);

/* The two-column form of difffolded.pl ("main;run;hash 10 42"): per stack, the value of
 * column col_a then of col_b, for every node where either is nonzero. For a diff tree
 * (ct_tree_diff) pass 1, 0: base then new. 0 or -errno. */
int ct_folded_write2(FILE *out, const ct_tree *t, uint32_t col_a, uint32_t col_b);

#endif
