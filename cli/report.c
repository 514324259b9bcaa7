/*
 * report.c — `ctrace report`: options and dispatch through the table of views.
 *
 * The view options (--flame, --folded, --heap, --locks, ...) come from report_views[]
 * (cli/report_views.c); every selected view renders the input (cli/report_input.c): a
 * directory is narrowed to one of its profiles (-p, else cpu, else the first present) for
 * the views that render profiles, and a profile's call tree is built once, filtered and for
 * the chosen sample type, for all of them. With --diff the views' diff writers get the tree
 * of the difference between two profiles. Without a view option the default view prints a
 * text table (or a summary of every profile of a directory).
 *
 * Names in what report prints come from its input, which may be hostile: for the
 * command's duration stdout and stderr are text streams (libtrace/escape.h) that write
 * control characters as \xNN, so no view, warning or error can drive the terminal. Files a
 * view writes to '-' go to the real standard output (report_stdout_raw), byte for byte.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/report.h"
#include "libtrace/escape.h"
#include "libtrace/traceregions.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ctrace report [options] DIR|FILE\n"
		"       ctrace report --diff BASE [options] NEW\n"
		"\n"
		"Text summary of a profile (a pprof file from any producer) or of every profile\n"
		"in a ctrace output directory; with view options, writes those views instead.\n"
		"\n"
		"  -n, --top N              rows of the text table (0: all; default 20, 10 per\n"
		"                           profile of a directory)\n"
		"  -i, --sample-index T     sample type by name or index (default: the profile's\n"
		"                           default, else its last type)\n"
		"      --focus REGEX        keep samples with a frame matching REGEX\n"
		"      --ignore REGEX       drop samples with a frame matching REGEX\n"
		"      --tag KEY=VALUE      keep samples labelled KEY=VALUE (string or number)\n"
		"      --focus-region NAME  trace views: only the time threads spent inside\n"
		"                           regions named NAME (program annotations)\n"
		"      --icicle             flame graph: root at the top\n"
		"      --min-width PX       SVG: leave out frames narrower than PX (default 0.1)\n"
		"      --title TEXT         flame graph title\n"
		"      --diff BASE          compare BASE with NEW: table of changes, or a\n"
		"                           differential flame graph (red grew, blue shrank)\n"
		"  -p, --profile NAME       in a directory: cpu, heap, heap-peak, mutex or block\n"
		"                           (default cpu, else the first present)\n"
		"  -h, --help               this help\n"
		"\n"
		"Views:\n");
	for (size_t i = 0; i < report_nviews; i++) {
		const report_view *v = &report_views[i];
		if (!v->option)
			continue;
		char opt[64];
		report_view_synopsis(v, opt, sizeof(opt));
		if (strlen(opt) > 19)
			fprintf(f, "      %s\n%27s", opt, "");
		else
			fprintf(f, "      %-19s  ", opt);
		for (const char *h = v->help; *h;) {
			size_t len = strcspn(h, "\n");
			fprintf(f, "%s%.*s\n", h == v->help ? "" : "                           ",
				(int)len, h);
			h += len + (h[len] == '\n');
		}
	}
	fprintf(f, "OUT may be '-' for standard output (--flame - writes SVG).\n");
}

static const char *view_arg(const report_options *o, size_t view)
{
	return o->view_arg[view] ? o->view_arg[view] : "";
}

/* The call tree of in for the chosen sample type, filtered; then every view of views[]. */
static int render_profile(const report_options *o, const size_t *views, size_t nviews,
			  report_input *in, bool in_dir)
{
	ct_error err = {.offset = -1};
	ct_filter *f = NULL;
	ct_tree *t = NULL;
	ct_filter_spec spec = {
		.focus = o->focus, .ignore = o->ignore, .tags = o->tags, .ntags = o->ntags};
	int status = 0, si = ct_report_sample_index(in->profile, o->sample_index, &err);
	if (si < 0 ||
	    ((o->focus || o->ignore || o->ntags) && ct_filter_new(in->profile, &spec, &f, &err))) {
		fprintf(stderr, "ctrace: %s: %s\n", in->path, err.msg);
		return 2;
	}
	int rc = ct_tree_from_profile(in->profile, f, &t);
	if (rc) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", in->path, strerror(-rc));
		status = 1;
	}
	for (size_t i = 0; i < nviews && !status; i++) {
		const report_view *v = &report_views[views[i]];
		report_ctx c = {.o = o,
				.arg = view_arg(o, views[i]),
				.in = in,
				.tree = t,
				.col = (uint32_t)si,
				.filtered = f != NULL,
				.in_dir = in_dir};
		status = v->write(&c);
	}
	ct_tree_free(t);
	ct_filter_free(f);
	return status;
}

int report_profile_view(const report_options *o, const report_view *v, report_input *in,
			bool in_dir)
{
	size_t idx = (size_t)(v - report_views);
	return render_profile(o, &idx, 1, in, in_dir);
}

static const char *kind_name(report_input_kind k)
{
	return k == REPORT_IN_DIR ? "a directory" : k == REPORT_IN_TRACE ? "a trace" : "a profile";
}

/* Which input a view renders of in: in itself (0), or, for a directory, the profile chosen
 * in it (REPORT_IN_PROFILE: for views of profiles only, or any view when -p is given) or
 * its trace (REPORT_IN_TRACE: for views of traces only). */
static report_input_kind narrowed_to(const report_options *o, const report_view *v,
				     const report_input *in)
{
	if (in->kind != REPORT_IN_DIR)
		return 0;
	if ((v->accepts & REPORT_IN_PROFILE) && (o->profile || !(v->accepts & REPORT_IN_DIR)))
		return REPORT_IN_PROFILE;
	return v->accepts & REPORT_IN_DIR ? 0 : REPORT_IN_TRACE;
}

/* Opens what a directory holds of the given kind: its chosen profile, or its trace. */
static int narrow(const report_options *o, report_input_kind kind, const report_input *dir,
		  report_input *out)
{
	if (kind == REPORT_IN_PROFILE)
		return report_input_pick(o, dir, out);
	char path[8192];
	snprintf(path, sizeof(path), "%s/%s", dir->path, CT_FILE_TRACE);
	return report_input_open(out, path);
}

/* Renders views[] of x, every one of which must accept its kind. */
static int render_group(const report_options *o, const size_t *views, size_t n, report_input *x)
{
	for (size_t i = 0; i < n; i++) {
		const report_view *v = &report_views[views[i]];
		if (v->accepts & x->kind)
			continue;
		fprintf(stderr, "ctrace: %s%s renders %s; %s is %s\n",
			v->option ? "--" : "the text view", v->option ? v->option : "",
			v->accepts & REPORT_IN_PROFILE ? "profiles" : "traces", x->path,
			kind_name(x->kind));
		return 1;
	}
	if (x->kind != REPORT_IN_TRACE && o->focus_region) {
		fprintf(stderr,
			"ctrace: --focus-region restricts views of a trace (--sched, --timeline, "
			"...); %s %s\n",
			x->path,
			x->kind == REPORT_IN_DIR
				? "is a directory, and these views render its profiles"
				: "is a profile");
		return 2;
	}
	if (x->kind == REPORT_IN_PROFILE)
		return render_profile(o, views, n, x, false);
	int status = 0;
	if (o->focus_region && !x->model->focus) {
		int rc = ct_trace_model_focus(x->model, o->focus_region);
		if (rc == -ENOENT)
			fprintf(stderr,
				"ctrace: --focus-region %s: %s has no region of that name\n",
				o->focus_region, x->path);
		else if (rc)
			fprintf(stderr, "ctrace: --focus-region %s: %s\n", o->focus_region,
				strerror(-rc));
		if (rc)
			return 1;
	}
	for (size_t i = 0; i < n && !status; i++) {
		report_ctx c = {.o = o,
				.arg = view_arg(o, views[i]),
				.sub = o->view_sub[views[i]],
				.in = x};
		status = report_views[views[i]].write(&c);
	}
	return status;
}

/* Renders views[] of in, each of the input it renders (narrowed_to): in itself first, then
 * a directory's profile, then its trace. */
static int render(const report_options *o, const size_t *views, size_t nviews, report_input *in)
{
	static const report_input_kind groups[] = {0, REPORT_IN_PROFILE, REPORT_IN_TRACE};
	int status = 0;
	/* Sample filters with only trace views: nothing they could filter (the mirror of
	 * --focus-region on a profile). */
	bool profiles = false;
	for (size_t i = 0; i < nviews; i++)
		profiles |= (report_views[views[i]].accepts & REPORT_IN_PROFILE) != 0;
	if (!profiles && (o->focus || o->ignore || o->ntags)) {
		const report_view *v = &report_views[views[0]];
		fprintf(stderr,
			"ctrace: %s filters a profile's samples; --%s renders a trace "
			"(--focus-region narrows a trace to a region)\n",
			o->ntags   ? "--tag"
			: o->focus ? "--focus"
				   : "--ignore",
			v->option ? v->option : "?");
		return 2;
	}
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]) && !status; g++) {
		size_t vs[REPORT_MAX_VIEWS], n = 0;
		for (size_t i = 0; i < nviews; i++)
			if (narrowed_to(o, &report_views[views[i]], in) == groups[g])
				vs[n++] = views[i];
		if (!n)
			continue;
		if (!groups[g]) {
			status = render_group(o, vs, n, in);
			continue;
		}
		report_input sub;
		status = narrow(o, groups[g], in, &sub);
		if (!status)
			status = render_group(o, vs, n, &sub);
		report_input_close(&sub);
	}
	return status;
}

/* Opens path as a profile to diff: the file, or the chosen profile of a directory. */
static int open_diff_side(const report_options *o, const char *path, report_input *in)
{
	int status = report_input_open(in, path);
	if (!status && in->kind == REPORT_IN_DIR) {
		report_input dir = *in;
		status = report_input_pick(o, &dir, in);
	}
	if (!status && in->kind != REPORT_IN_PROFILE) {
		fprintf(stderr, "ctrace: cannot diff %s: it is %s, not a profile\n", in->path,
			kind_name(in->kind));
		status = 1;
	}
	return status;
}

/* The diff tree of two profiles, then every view's diff writer. */
static int render_diff(const report_options *o, const size_t *views, size_t nviews,
		       report_input *base, report_input *np)
{
	ct_error err = {.offset = -1};
	ct_filter_spec spec = {
		.focus = o->focus, .ignore = o->ignore, .tags = o->tags, .ntags = o->ntags};
	bool filter = o->focus || o->ignore || o->ntags;
	ct_filter *fb = NULL, *fn = NULL;
	ct_tree *t = NULL;
	int status = 2, bi = -1, ni = ct_report_sample_index(np->profile, o->sample_index, &err);
	/* The base is measured in the same sample type as the new profile, by name. */
	if (ni < 0)
		fprintf(stderr, "ctrace: %s: %s\n", np->path, err.msg);
	else if ((bi = ct_report_sample_index(base->profile, np->profile->sample_types[ni].type,
					      &err)) < 0)
		fprintf(stderr, "ctrace: %s: %s\n", base->path, err.msg);
	else if (filter && ct_filter_new(base->profile, &spec, &fb, &err))
		fprintf(stderr, "ctrace: %s: %s\n", base->path, err.msg);
	else if (filter && ct_filter_new(np->profile, &spec, &fn, &err))
		fprintf(stderr, "ctrace: %s: %s\n", np->path, err.msg);
	else if ((status = report_check_diff_totals(base, bi, np, ni)) == 0) {
		int rc = ct_tree_diff(base->profile, fb, bi, np->profile, fn, ni, &t);
		if (rc == -EDOM) {
			fprintf(stderr, "ctrace: cannot diff %s and %s: %s is in %s, %s in %s\n",
				base->path, np->path, base->path,
				base->profile->sample_types[bi].unit, np->path,
				np->profile->sample_types[ni].unit);
			status = 1;
		} else if (rc) {
			fprintf(stderr, "ctrace: cannot diff %s and %s: %s\n", base->path, np->path,
				strerror(-rc));
			status = 1;
		}
	}
	for (size_t i = 0; i < nviews && !status; i++) {
		report_ctx c = {
			.o = o, .arg = view_arg(o, views[i]), .in = np, .base = base, .tree = t};
		status = report_views[views[i]].write_diff(&c);
	}
	ct_tree_free(t);
	ct_filter_free(fb);
	ct_filter_free(fn);
	return status;
}

int report_run(const report_options *o, const char *path)
{
	size_t views[REPORT_MAX_VIEWS], n = 0;
	for (size_t i = 0; i < report_nviews; i++)
		if (o->view_arg[i])
			views[n++] = i;
	if (!n)
		views[n++] = report_default_view;
	report_input base = {0}, in = {0};
	int status;
	if (o->diff_base) {
		for (size_t i = 0; i < n; i++)
			if (!report_views[views[i]].write_diff) {
				fprintf(stderr, "ctrace: --%s has no --diff form\n",
					report_views[views[i]].option);
				return 2;
			}
		status = open_diff_side(o, o->diff_base, &base);
		if (!status)
			status = open_diff_side(o, path, &in);
		if (!status)
			status = render_diff(o, views, n, &base, &in);
	} else {
		status = report_input_open(&in, path);
		if (!status && o->profile && in.kind != REPORT_IN_DIR) {
			fprintf(stderr, "ctrace: -p %s picks a profile of a directory; %s is %s\n",
				o->profile, in.path, kind_name(in.kind));
			status = 2;
		}
		if (!status)
			status = render(o, views, n, &in);
	}
	report_input_close(&base);
	report_input_close(&in);
	return status;
}

/* Adds re to *alt as another alternative: several --focus options mean any of them.
 * Alternation binds loosest in an ERE, so "A|B" needs no parentheses. */
static int add_alternative(char **alt, const char *re)
{
	char *n;
	if (!*alt)
		n = strdup(re);
	else if (asprintf(&n, "%s|%s", *alt, re) < 0)
		n = NULL;
	if (!n)
		return -ENOMEM;
	free(*alt);
	*alt = n;
	return 0;
}

/* Where path will be written, for comparing outputs: its directory resolved. */
static void output_identity(const char *path, char *buf, size_t len)
{
	char dcopy[PATH_MAX], bcopy[PATH_MAX], real[PATH_MAX];
	snprintf(dcopy, sizeof(dcopy), "%s", path);
	snprintf(bcopy, sizeof(bcopy), "%s", path);
	const char *dir = dirname(dcopy);
	if (strcmp(path, "-") == 0 || !realpath(dir, real))
		snprintf(buf, len, "%s", path);
	else
		snprintf(buf, len, "%s/%s", real, basename(bcopy));
}

/* Two views writing to one path would overwrite each other: refused. Returns 0 or 2. */
static int check_outputs(const report_options *o)
{
	bool flame = false;
	for (size_t i = 0; i < report_nviews; i++)
		flame |= o->view_arg[i] && report_views[i].option &&
			 strcmp(report_views[i].option, "flame") == 0;
	if (!flame && (o->icicle || o->min_width >= 0 || o->title)) {
		fprintf(stderr, "ctrace: %s shapes a flame graph: give --flame OUT too\n",
			o->icicle  ? "--icicle"
			: o->title ? "--title"
				   : "--min-width");
		return 2;
	}
	for (size_t i = 0; i < report_nviews; i++) {
		if (!o->view_arg[i] || !report_views[i].writes_file)
			continue;
		for (size_t j = i + 1; j < report_nviews; j++) {
			if (!o->view_arg[j] || !report_views[j].writes_file)
				continue;
			char a[2 * PATH_MAX], b[2 * PATH_MAX];
			output_identity(o->view_arg[i], a, sizeof(a));
			output_identity(o->view_arg[j], b, sizeof(b));
			if (strcmp(a, b) == 0) {
				fprintf(stderr,
					"ctrace: --%s and --%s both write %s; give each its "
					"own file\n",
					report_views[i].option, report_views[j].option,
					o->view_arg[i]);
				return 2;
			}
		}
	}
	return 0;
}

enum {
	OPT_FOCUS = 256,
	OPT_IGNORE,
	OPT_TAG,
	OPT_ICICLE,
	OPT_MIN_WIDTH,
	OPT_TITLE,
	OPT_DIFF,
	OPT_FOCUS_REGION,
	OPT_VIEW, /* OPT_VIEW + i selects report_views[i] */
};

static const struct option common_opts[] = {
	{"top", required_argument, NULL, 'n'},
	{"sample-index", required_argument, NULL, 'i'},
	{"focus", required_argument, NULL, OPT_FOCUS},
	{"ignore", required_argument, NULL, OPT_IGNORE},
	{"tag", required_argument, NULL, OPT_TAG},
	{"icicle", no_argument, NULL, OPT_ICICLE},
	{"min-width", required_argument, NULL, OPT_MIN_WIDTH},
	{"title", required_argument, NULL, OPT_TITLE},
	{"diff", required_argument, NULL, OPT_DIFF},
	{"focus-region", required_argument, NULL, OPT_FOCUS_REGION},
	{"profile", required_argument, NULL, 'p'},
	{"help", no_argument, NULL, 'h'},
};
enum { NCOMMON = sizeof(common_opts) / sizeof(common_opts[0]) };

/* A view option: 0 to go on, else the exit status + 1. A sub_arg view takes the next
 * argument as its output. */
static int parse_view(report_options *o, size_t i, int argc, char **argv)
{
	const report_view *v = &report_views[i];
	o->view_arg[i] = optarg ? optarg : "";
	if (v->sub_arg) {
		if (optind >= argc) {
			fprintf(stderr, "ctrace: --%s wants two arguments, %s\n", v->option,
				v->argname);
			return 3;
		}
		o->view_sub[i] = optarg;
		o->view_arg[i] = argv[optind++];
	}
	return optarg && v->check && v->check(optarg) ? 3 : 0;
}

/* One option: 0 to go on, else the exit status + 1 (so help's 0 stops too). */
static int parse_one(report_options *o, int c, int argc, char **argv)
{
	char *end;
	if (c >= OPT_VIEW && c < OPT_VIEW + (int)report_nviews)
		return parse_view(o, (size_t)(c - OPT_VIEW), argc, argv);
	switch (c) {
	case 'n':
		o->top = strtol(optarg, &end, 10);
		if (*end || o->top < 0) {
			fprintf(stderr, "ctrace: --top wants a number >= 0, not '%s'\n", optarg);
			return 3;
		}
		return 0;
	case 'i':
		o->sample_index = optarg;
		return 0;
	case OPT_FOCUS:
	case OPT_IGNORE:
		if (add_alternative(c == OPT_FOCUS ? &o->focus : &o->ignore, optarg) == 0)
			return 0;
		fprintf(stderr, "ctrace: out of memory\n");
		return 2;
	case OPT_TAG: {
		const char **tags = realloc(o->tags, (o->ntags + 1) * sizeof(*tags));
		if (!tags) {
			fprintf(stderr, "ctrace: out of memory\n");
			return 2;
		}
		o->tags = tags;
		o->tags[o->ntags++] = optarg;
		return 0;
	}
	case OPT_ICICLE:
		o->icicle = true;
		return 0;
	case OPT_MIN_WIDTH:
		o->min_width = strtod(optarg, &end);
		if (*end || end == optarg || !(o->min_width >= 0 && o->min_width <= 1e6)) {
			fprintf(stderr,
				"ctrace: --min-width wants pixels from 0 to 1000000, not '%s'\n",
				optarg);
			return 3;
		}
		return 0;
	case OPT_TITLE:
		o->title = optarg;
		return 0;
	case OPT_DIFF:
		o->diff_base = optarg;
		return 0;
	case OPT_FOCUS_REGION:
		o->focus_region = optarg;
		return 0;
	case 'p':
		o->profile = optarg;
		return 0;
	case 'h':
		usage(stdout);
		return 1;
	default:
		fprintf(stderr, "usage: ctrace report [options] DIR|FILE "
				"(ctrace report --help for the options)\n");
		return 3;
	}
}

static int report_cmd(int argc, char **argv)
{
	struct option longopts[NCOMMON + REPORT_MAX_VIEWS + 1];
	size_t n = 0;
	for (; n < NCOMMON; n++)
		longopts[n] = common_opts[n];
	for (size_t i = 0; i < report_nviews; i++)
		if (report_views[i].option)
			longopts[n++] = (struct option){report_views[i].option,
							report_views[i].argname ? required_argument
										: no_argument,
							NULL, OPT_VIEW + (int)i};
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	report_options o = {.top = -1, .min_width = -1};
	int stop = 0, c;
	optind = 0; /* glibc: restart scanning, so the command can be run more than once */
	while (!stop && (c = getopt_long(argc, argv, "n:i:p:h", longopts, NULL)) != -1)
		stop = parse_one(&o, c, argc, argv);
	int status = stop ? stop - 1 : 2;
	struct stat st;
	for (size_t i = 0; !stop && optind == argc && i < report_nviews; i++)
		if (o.view_arg[i] && report_views[i].writes_file && stat(o.view_arg[i], &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			char syn[128];
			report_view_synopsis(&report_views[i], syn, sizeof(syn));
			fprintf(stderr,
				"ctrace: --%s took %s as its output, leaving nothing to read "
				"(ctrace report %s DIR|FILE)\n",
				report_views[i].option, o.view_arg[i], syn);
			break;
		}
	if (!stop && optind != argc - 1)
		fprintf(stderr, "usage: ctrace report [options] DIR|FILE "
				"(ctrace report --help for the options)\n");
	else if (!stop && !(status = check_outputs(&o)))
		status = report_run(&o, argv[optind]);
	/* What a view printed may still sit in stdout's buffer: a full disk or a closed pipe
	 * shows only now. One line, and the status says so. */
	if (status == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
		fprintf(stderr, "ctrace: cannot write the report to standard output: %s\n",
			strerror(errno ? errno : EIO));
		status = 1;
	}
	free(o.focus);
	free(o.ignore);
	free(o.tags);
	return status;
}

FILE *report_stdout_raw;

int ct_cmd_report(int argc, char **argv)
{
	FILE *out = stdout, *err = stderr;
	FILE *tout = ct_escape_text_stream(out), *terr = ct_escape_text_stream(err);
	if (!tout || !terr) {
		if (tout)
			fclose(tout);
		fprintf(stderr, "ctrace: out of memory\n");
		return 1;
	}
	setvbuf(terr, NULL, _IONBF, 0); /* as stderr: each line as soon as it is printed */
	stdout = tout;
	stderr = terr;
	report_stdout_raw = out;
	int status = report_cmd(argc, argv);
	errno = 0;
	if (fclose(tout) != 0 && status == 0) {
		fprintf(terr, "ctrace: cannot write the report to standard output: %s\n",
			strerror(errno ? errno : EIO));
		status = 1;
	}
	fclose(terr);
	stdout = out;
	stderr = err;
	report_stdout_raw = NULL;
	return status;
}
