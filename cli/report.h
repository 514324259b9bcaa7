/*
 * report.h — what the parts of `ctrace report` share: its options, the input it was given
 * (a profile, a ctrace output directory, or a trace), and the table of views.
 *
 * A view is one entry of report_views[] (cli/report_views.c): the option that selects it,
 * the kinds of input it renders, its writer and, when it has one, its diff writer. The
 * command (cli/report.c) builds its options, help and dispatch from that table, and the
 * loader (cli/report_input.c) hands each view an input of a kind it accepts — a directory
 * is narrowed to the profile (or trace) inside it when the view renders only those. So a
 * new view is one entry plus its renderer in libtrace (docs/report.md).
 */
#ifndef CT_CLI_REPORT_H
#define CT_CLI_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libtrace/outdir.h"
#include "libtrace/profile.h"
#include "libtrace/report.h"
#include "libtrace/tracemodel.h"
#include "libtrace/traceread.h"

/* ---- input ----------------------------------------------------------------------------- */
typedef enum {
	REPORT_IN_PROFILE = 1, /* a pprof file, from any producer */
	REPORT_IN_DIR = 2,     /* a ctrace output directory */
	REPORT_IN_TRACE = 4,   /* a scheduler-event trace (trace.ctr) */
} report_input_kind;

typedef struct {
	report_input_kind kind;
	char path[4096];
	const ct_outdir_profile *name; /* which profile of a ctrace directory, else NULL */
	ct_profile *profile;	       /* REPORT_IN_PROFILE: read and symbolized */
	ct_trace *trace;	       /* REPORT_IN_TRACE: read, its stacks symbolized */
	ct_trace_model *model;	       /* REPORT_IN_TRACE: the thread states of trace */
} report_input;

/* ---- options --------------------------------------------------------------------------- */
enum { REPORT_MAX_VIEWS = 16 };

typedef struct {
	long top; /* -1: the default for the view */
	const char *sample_index;
	char *focus, *ignore; /* alternations of every --focus / --ignore given */
	const char **tags;
	uint32_t ntags;
	const char *diff_base, *profile, *title;
	const char *focus_region; /* trace views: only the time inside regions of this name */
	bool icicle;
	double min_width;			/* -1: the default */
	const char *view_arg[REPORT_MAX_VIEWS]; /* per view: its argument ("" for a flag) when
						  selected, else NULL */
	const char *view_sub[REPORT_MAX_VIEWS]; /* per view with sub_arg: its first argument */
} report_options;

/* ---- views ----------------------------------------------------------------------------- */
/* What a view's writer gets. For profile views: the profile, its call tree for the chosen
 * sample type (already filtered) and that column; for a diff, a tree whose column 0 is the
 * new profile and column 1 the base. */
typedef struct {
	const report_options *o;
	const char *arg; /* the view's option argument (an output path), "" for a flag */
	const char *sub; /* a sub_arg view's first argument (--trace-pprof's KIND) */
	report_input *in;
	report_input *base; /* --diff: the base profile, else NULL */
	const ct_tree *tree;
	uint32_t col;
	bool filtered;
	bool in_dir; /* one profile of a directory summary */
} report_ctx;

typedef struct {
	const char *option;  /* long option selecting the view; NULL for the default view */
	const char *argname; /* the option's argument ("OUT.svg|OUT.html"), NULL for a flag */
	const char *help;    /* --help text, lines joined by '\n' */
	const char *brief;   /* one line for a directory summary's list of views */
	unsigned accepts;    /* REPORT_IN_* the writer renders */
	bool writes_file;    /* argname is an output path ('-': standard output) */
	bool needs_tree;     /* the writer wants ctx.tree (profiles only) */
	bool sub_arg;	     /* two arguments, "SUB OUT" (argname): the option's own is SUB
				(ctx.sub; check()ed), the next one the output (ctx.arg) */
	/* Refuses a bad argument at parse time: 0, or prints a line and returns 2. */
	int (*check)(const char *arg);
	/* Renders the view; returns the exit status (a line has been printed on error). */
	int (*write)(const report_ctx *c);
	/* Renders the view of a diff (ctx.tree is the diff tree); NULL: no diff form. */
	int (*write_diff)(const report_ctx *c);
} report_view;

extern const report_view report_views[];
extern const size_t report_nviews;
/* The index in report_views[] of the view shown when no view option is given. */
extern const size_t report_default_view;

/* Renders every selected view (o->view_arg) of path, or of the diff of o->diff_base and
 * path. Returns the exit status. (cli/report.c) */
int report_run(const report_options *o, const char *path);

/* Renders the views of one profile input (a summary section of a directory when in_dir).
 * Returns the exit status. (cli/report.c) */
int report_profile_view(const report_options *o, const report_view *v, report_input *in,
			bool in_dir);

/* Opens an input: a directory, a trace or a profile (read and symbolized). Returns the exit
 * status; on error a line has been printed. report_input_close frees it. */
int report_input_open(report_input *in, const char *path);
void report_input_close(report_input *in);

/* A diff of column bi of base and ni of np sums both profiles' values: refuses (a line
 * printed, exit status 1) when that passes INT64_MAX. */
int report_check_diff_totals(const report_input *base, int bi, const report_input *np, int ni);

/* The profile of directory in chosen by -p (a name or file name), else cpu, else the first
 * present, opened into out. Returns the exit status (error printed). */
int report_input_pick(const report_options *o, const report_input *dir, report_input *out);

/* "--option ARG" of a view with an option, into buf. (cli/report_views.c) */
const char *report_view_synopsis(const report_view *v, char *buf, size_t len);

/* True when s ends with suffix. (cli/report_input.c) */
bool report_ends_with(const char *s, const char *suffix);

/* Output of a view: path or '-' for standard output. report_out_close returns the exit
 * status (the error printed), and "ctrace: wrote PATH" for a file. (cli/report_views.c) */
typedef struct report_out report_out;
/* The process's standard output while ct_cmd_report has made stdout a text stream
 * (cli/report.c); what views write to '-' goes there as it is. NULL outside the command. */
extern FILE *report_stdout_raw;
report_out *report_out_open(const char *path);
int report_out_close(report_out *out, int rc);
FILE *report_out_file(report_out *out);

#endif
