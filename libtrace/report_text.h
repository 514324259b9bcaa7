/*
 * report_text.h — the text views of `ctrace report`: a `go tool pprof -top` style table
 * (header naming the profile, its sample type and total; then rows
 * "flat flat% sum% cum cum% function" sorted by flat), and the table of a diff
 * (per function: base%, new%, delta, sorted by the size of the change).
 *
 * Percentages of a filtered tree are of the whole profile's total, as pprof prints them.
 * Thread-safety: none needed; reads only its arguments.
 */
#ifndef CT_REPORT_TEXT_H
#define CT_REPORT_TEXT_H

#include <stdint.h>
#include <stdio.h>

#include "libtrace/profile.h"
#include "libtrace/report.h"

typedef struct {
	const char *source; /* file name for the header, NULL for none */
	const char *kind;   /* e.g. "cpu", "heap-peak"; NULL: ct_report_profile_kind(p) */
	uint32_t top;	    /* rows to print, 0 for all */
	bool filtered;	    /* the tree was built with a filter: say how much was kept */
} ct_text_opts;

/* The total that shares are of, as pprof computes it: the sum of the values' magnitudes
 * (a diff profile's decreases count too), or, when samples carry Go's "pprof::base" label
 * (go tool pprof -diff_base's output), that sum over those base samples. */
int64_t ct_report_total(const ct_profile *p, uint32_t col);

/* Prints the header and top table of p, aggregated into t (built from p with one column
 * per sample type, ct_tree_from_profile), for sample type col. 0 or -errno. */
int ct_report_text(FILE *out, const ct_profile *p, const ct_tree *t, uint32_t col,
		   const ct_text_opts *o);

/* Prints the diff table of t (built by ct_tree_diff: column 0 new, column 1 base):
 * flat percentages of each profile's own total and their difference. top 0 prints all.
 * 0 or -errno. */
int ct_report_text_diff(FILE *out, const ct_tree *t, const char *base_name, const char *new_name,
			uint32_t top);

#endif
