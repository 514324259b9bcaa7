/*
 * report_views.c — the views of `ctrace report`, one table entry each (report.h): the text
 * table (the default; a summary of every profile for a directory), flame graphs, folded
 * stacks, the heap report, the lock report, and the scheduler trace's views (--sched,
 * --chrome, --sched-latency). Each writer only hands its input to its
 * libtrace renderer and reports errors; files are written through report_out (a temporary
 * created with O_EXCL|O_NOFOLLOW, renamed into place: libtrace/safefile.h). Text views
 * print to stdout, which escapes control characters (cli/report.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/report.h"
#include "libtrace/flame.h"
#include "libtrace/folded.h"
#include "libtrace/heapreport.h"
#include "libtrace/lockreport.h"
#include "libtrace/pprof.h"
#include "libtrace/report_text.h"
#include "libtrace/safefile.h"
#include "libtrace/timeline.h"
#include "libtrace/tracechrome.h"
#include "libtrace/traceperfetto.h"
#include "libtrace/traceprof.h"
#include "libtrace/tracesched.h"

/* ---- output ------------------------------------------------------------------------------ */
struct report_out {
	const char *path;
	FILE *f;
	bool std;	/* standard output ('-') */
	ct_safefile sf; /* unused for standard output */
};

report_out *report_out_open(const char *path)
{
	report_out *out = calloc(1, sizeof(*out));
	if (!out) {
		fprintf(stderr, "ctrace: cannot write %s: %s\n", path, strerror(ENOMEM));
		return NULL;
	}
	out->path = path;
	if (strcmp(path, "-") == 0) {
		/* the file as it is, after any text printed before it */
		fflush(stdout);
		out->f = report_stdout_raw ? report_stdout_raw : stdout;
		out->std = true;
		return out;
	}
	int rc = ct_safefile_open_named(&out->sf, path);
	if (rc) {
		fprintf(stderr, "ctrace: cannot write %s: %s\n", path, strerror(-rc));
		free(out);
		return NULL;
	}
	out->f = out->sf.f;
	return out;
}

FILE *report_out_file(report_out *out)
{
	return out->f;
}

int report_out_close(report_out *out, int rc)
{
	bool file = !out->std;
	if (file)
		rc = ct_safefile_close(&out->sf, rc);
	else if (fflush(out->f) != 0 && !rc)
		rc = -errno;
	if (rc)
		fprintf(stderr, "ctrace: cannot write %s: %s\n", out->path, strerror(-rc));
	else if (file)
		fprintf(stderr, "ctrace: wrote %s\n", out->path);
	free(out);
	return rc ? 1 : 0;
}

/* ---- text ------------------------------------------------------------------------------ */
static uint32_t top_rows(const report_ctx *c, uint32_t dflt)
{
	return c->o->top >= 0 ? (uint32_t)c->o->top : dflt;
}

const char *report_view_synopsis(const report_view *v, char *buf, size_t len)
{
	snprintf(buf, len, "--%s%s%s", v->option, v->argname ? " " : "",
		 v->argname ? v->argname : "");
	return buf;
}

static void print_views(const char *dir)
{
	printf("Views of this directory (ctrace report [options] %s):\n", dir);
	for (size_t i = 0; i < report_nviews; i++) {
		char opt[64];
		if (report_views[i].option)
			printf("  %-26s %s\n",
			       report_view_synopsis(&report_views[i], opt, sizeof(opt)),
			       report_views[i].brief);
	}
	printf("  %-26s another profile or sample type as a table\n", "-p NAME -i TYPE");
	printf("  %-26s compare with an earlier run's directory or profile\n", "--diff BASE");
}

/* What else a directory holds: the trace, child processes' directories. */
static void print_also_here(const char *dir)
{
	char buf[8192];
	struct stat st;
	snprintf(buf, sizeof(buf), "%s/%s", dir, CT_FILE_TRACE);
	if (stat(buf, &st) == 0)
		printf("Also here: %s (scheduler-event trace: --sched, --chrome, --chrome-states, "
		       "--sched-latency)\n",
		       CT_FILE_TRACE);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!ct_outdir_is_child(e->d_name))
			continue;
		snprintf(buf, sizeof(buf), "%s/%s/%s", dir, e->d_name, CT_FILE_SUMMARY);
		if (stat(buf, &st) == 0)
			printf("Also here: %s/%s/ (%s)\n", dir, e->d_name,
			       ct_outdir_is_pre_exec(e->d_name)
				       ? "the profiles of a program before it exec'd"
				       : "a child process's profiles");
	}
	closedir(d);
}

/* Summary of every profile in a directory: each one's text table, then what else is there
 * and the other views. */
static int text_dir(const report_ctx *c)
{
	size_t n;
	const ct_outdir_profile *t = ct_outdir_profiles(&n);
	int status = 0, found = 0;
	for (size_t i = 0; i < n; i++) {
		char path[8192];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", c->in->path, t[i].file);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		printf("%s== %s ==\n", found++ ? "\n" : "", t[i].file);
		fflush(stdout);
		report_input sub;
		int s = report_input_open(&sub, path);
		if (!s)
			s = report_profile_view(c->o, &report_views[report_default_view], &sub,
						true);
		report_input_close(&sub);
		if (s > status)
			status = s;
		if (ferror(stdout))
			return status; /* said once, by the view */
	}
	char trace[8192];
	struct stat st;
	snprintf(trace, sizeof(trace), "%s/%s", c->in->path, CT_FILE_TRACE);
	if (!found && stat(trace, &st) == 0 && S_ISREG(st.st_mode)) {
		/* Why: the summary says whether profiles were asked for and failed. */
		char path[8192];
		ct_summary sum;
		ct_error err = {.offset = -1};
		snprintf(path, sizeof(path), "%s/%s", c->in->path, CT_FILE_SUMMARY);
		int rs = ct_summary_read(path, &sum, &err);
		if (rs == 0 && sum.errors[0])
			printf("%s holds no profile, only its trace: the agent could not write "
			       "them "
			       "(%.*s)\n",
			       c->in->path, (int)strcspn(sum.errors, "\n"), sum.errors);
		else if (rs == 0)
			printf("%s holds no profile (recorded with -e sched), only its trace.\n",
			       c->in->path); /* then the trace and the views, as below */
		else
			printf("%s holds no profile and no summary, only its trace: the recording "
			       "did not end normally (the program killed, or the disk full)\n",
			       c->in->path);
	} else if (!found) {
		report_input none;
		return report_input_pick(c->o, c->in, &none);
	}
	putchar('\n');
	print_also_here(c->in->path);
	print_views(c->in->path);
	return status;
}

/* A text view could not be written: stdout's own error (ENOSPC, EPIPE) when it has one. */
static void report_write_failed(int rc)
{
	int e = rc == -EIO && ferror(stdout) && errno ? errno : -rc;
	fprintf(stderr, "ctrace: cannot write the report to standard output: %s\n", strerror(e));
}

static int view_text(const report_ctx *c)
{
	if (c->in->kind == REPORT_IN_DIR)
		return text_dir(c);
	ct_text_opts to = {.source = c->in->path,
			   .kind = c->in->name ? c->in->name->name : NULL,
			   .top = top_rows(c, c->in_dir ? 10 : 20),
			   .filtered = c->filtered};
	int rc = ct_report_text(stdout, c->in->profile, c->tree, c->col, &to);
	if (rc)
		report_write_failed(rc);
	return rc ? 1 : 0;
}

static int view_text_diff(const report_ctx *c)
{
	int rc = ct_report_text_diff(stdout, c->tree, c->base->path, c->in->path, top_rows(c, 20));
	if (rc)
		report_write_failed(rc);
	return rc ? 1 : 0;
}

/* ---- flame graphs and folded stacks ------------------------------------------------------ */
static int check_flame(const char *arg)
{
	if (strcmp(arg, "-") == 0 || report_ends_with(arg, ".svg") ||
	    report_ends_with(arg, ".html") || report_ends_with(arg, ".htm") ||
	    ct_safefile_in_place(arg)) /* /dev/stdout, a FIFO: HTML */
		return 0;
	fprintf(stderr, "ctrace: --flame %s: the name must end in .svg or .html\n", arg);
	return 2;
}

static int flame(const report_ctx *c, uint32_t col, int32_t base_col)
{
	const ct_profile *p = c->in->profile;
	for (size_t i = 0; base_col < 0 && p && i < p->nsamples; i++)
		if (p->samples[i].values[col] < 0) {
			fprintf(stderr,
				"ctrace: cannot draw %s as a flame graph: it holds negative values "
				"(a difference of two profiles); --diff BASE NEW draws one\n",
				c->in->path);
			return 1;
		}
	/* .svg or '-' (SVG on standard output), else .html: checked with the options */
	bool svg = report_ends_with(c->arg, ".svg") || strcmp(c->arg, "-") == 0;
	ct_flame_opts fo;
	ct_flame_opts_init(&fo);
	fo.title = c->o->title;
	fo.col = col;
	fo.base_col = base_col;
	fo.icicle = c->o->icicle;
	if (c->o->min_width >= 0)
		fo.min_width = c->o->min_width;
	report_out *out = report_out_open(c->arg);
	if (!out)
		return 1;
	FILE *f = report_out_file(out);
	int rc = svg ? ct_flame_write_svg(f, c->tree, &fo) : ct_flame_write_html(f, c->tree, &fo);
	return report_out_close(out, rc);
}

static int view_flame(const report_ctx *c)
{
	return flame(c, c->col, -1);
}

static int view_flame_diff(const report_ctx *c)
{
	return flame(c, 0, 1);
}

static int folded(const report_ctx *c, bool diff)
{
	report_out *out = report_out_open(c->arg);
	if (!out)
		return 1;
	FILE *f = report_out_file(out);
	int rc = diff ? ct_folded_write2(f, c->tree, 1, 0) : ct_folded_write(f, c->tree, c->col);
	return report_out_close(out, rc);
}

static int view_folded(const report_ctx *c)
{
	return folded(c, false);
}

static int view_folded_diff(const report_ctx *c)
{
	return folded(c, true);
}

/* ---- heap and lock reports ---------------------------------------------------------------- */
/* Opens dir/file into *in when it exists: false (error printed) when it is unreadable. */
static bool open_optional(const char *dir, const char *file, report_input *in)
{
	char buf[8192];
	struct stat st;
	memset(in, 0, sizeof(*in));
	snprintf(buf, sizeof(buf), "%s/%s", dir, file);
	return stat(buf, &st) != 0 || report_input_open(in, buf) == 0;
}

/* The heap report (heap + heap-peak) or the lock report (mutex + block) of a directory,
 * or of one profile of those kinds. */
static int pair_report(const report_ctx *c, bool heap)
{
	report_input a = {0}, b = {0};
	int top = c->o->top > 0 ? (int)c->o->top : 10, status = 0;
	const char *first = heap ? CT_FILE_HEAP : CT_FILE_MUTEX;
	const char *second = heap ? CT_FILE_HEAP_PEAK : CT_FILE_BLOCK;
	const char *path = c->in->path;
	if (c->in->kind == REPORT_IN_PROFILE) {
		bool is_block = c->in->name ? strcmp(c->in->name->file, CT_FILE_BLOCK) == 0
					    : ct_lock_is_block(c->in->profile, c->in->path);
		(!heap && is_block ? &b : &a)->profile = c->in->profile;
	} else if (!open_optional(path, first, &a) || !open_optional(path, second, &b)) {
		status = 1;
	} else if (heap ? !a.profile : !a.profile && !b.profile) {
		fprintf(stderr, "ctrace: cannot read %s: no %s%s\n", path, first,
			heap ? "" : " or " CT_FILE_BLOCK);
		status = 1;
	}
	if (!status) {
		int rc = heap ? ct_heap_report(stdout, a.profile, b.profile, top)
			      : ct_lock_report(stdout, a.profile, b.profile, top);
		if (rc == -EINVAL)
			fprintf(stderr, "ctrace: cannot report %s: not a %s profile\n", path,
				heap ? "heap" : "mutex or block");
		else if (rc)
			fprintf(stderr, "ctrace: cannot report %s: %s\n", path, strerror(-rc));
		status = rc ? 1 : 0;
	}
	if (c->in->kind != REPORT_IN_PROFILE) {
		report_input_close(&a);
		report_input_close(&b);
	}
	return status;
}

static int view_heap(const report_ctx *c)
{
	return pair_report(c, true);
}

static int view_locks(const report_ctx *c)
{
	return pair_report(c, false);
}

/* ---- the scheduler trace ------------------------------------------------------------------ */
static int check_ext(const char *opt, const char *arg, const char *ext)
{
	if (strcmp(arg, "-") == 0 || report_ends_with(arg, ext) || ct_safefile_in_place(arg))
		return 0;
	fprintf(stderr, "ctrace: --%s %s: the name must end in %s\n", opt, arg, ext);
	return 2;
}

static int check_chrome(const char *arg)
{
	return check_ext("chrome", arg, ".json");
}

static int check_chrome_states(const char *arg)
{
	return check_ext("chrome-states", arg, ".json");
}

static int check_pprof(const char *arg)
{
	return check_ext("sched-latency", arg, CT_PROFILE_SUFFIX);
}

static int view_sched(const report_ctx *c)
{
	int rc = ct_trace_report_sched(stdout, c->in->model, c->o->top > 0 ? (int)c->o->top : 0);
	if (!rc && fflush(stdout) != 0)
		rc = -EIO;
	if (rc)
		report_write_failed(rc);
	return rc ? 1 : 0;
}

static int view_chrome(const report_ctx *c)
{
	report_out *out = report_out_open(c->arg);
	if (!out)
		return 1;
	return report_out_close(out, ct_trace_export_chrome(report_out_file(out), c->in->model));
}

static int view_chrome_states(const report_ctx *c)
{
	report_out *out = report_out_open(c->arg);
	if (!out)
		return 1;
	return report_out_close(out,
				ct_trace_export_chrome_states(report_out_file(out), c->in->model));
}

static int view_timeline(const report_ctx *c)
{
	report_out *out = report_out_open(c->arg);
	if (!out)
		return 1;
	return report_out_close(out, ct_timeline_write_html(report_out_file(out), c->in->model));
}

static int view_perfetto(const report_ctx *c)
{
	report_out *out = report_out_open(c->arg);
	if (!out)
		return 1;
	return report_out_close(out, ct_trace_export_perfetto(report_out_file(out), c->in->model));
}

static int check_trace_pprof(const char *kind)
{
	if (ct_trace_pprof_kind_parse(kind) >= 0)
		return 0;
	fprintf(stderr,
		"ctrace: --trace-pprof %s: the kind is sched, sync, net, io, sleep or wall\n",
		kind);
	return 2;
}

/* A trace-derived profile of one kind, gzipped to c->arg. */
static int write_trace_pprof(const report_ctx *c, ct_trace_pprof_kind kind)
{
	ct_profile *p;
	int rc = ct_trace_pprof(c->in->model, kind, &p);
	if (rc) {
		fprintf(stderr, "ctrace: cannot write %s: %s\n", c->arg, strerror(-rc));
		return 1;
	}
	report_out *out = report_out_open(c->arg);
	if (!out) {
		ct_profile_free(p);
		return 1;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	rc = ct_pprof_encode(p, true, &buf, &len);
	if (!rc && fwrite(buf, 1, len, report_out_file(out)) != len)
		rc = -EIO;
	free(buf);
	ct_profile_free(p);
	return report_out_close(out, rc);
}

static int view_trace_pprof(const report_ctx *c)
{
	return write_trace_pprof(c, (ct_trace_pprof_kind)ct_trace_pprof_kind_parse(c->sub));
}

static int view_sched_latency(const report_ctx *c)
{
	return write_trace_pprof(c, CT_TP_SCHED);
}

/* ---- the table ------------------------------------------------------------------------------ */
const report_view report_views[] = {
	{.option = "flame",
	 .argname = "OUT.svg|OUT.html",
	 .help = "write a flame graph (HTML: every sample type,\n"
		 "a sortable table, canvas drawing for big profiles)",
	 .brief = "flame graph (the HTML switches between sample types)",
	 .accepts = REPORT_IN_PROFILE,
	 .writes_file = true,
	 .needs_tree = true,
	 .check = check_flame,
	 .write = view_flame,
	 .write_diff = view_flame_diff},
	{.option = "folded",
	 .argname = "OUT.txt",
	 .help = "write folded stacks (flamegraph.pl, speedscope);\n"
		 "with --diff, 'stack base new' lines (difffolded)",
	 .brief = "folded stacks for flamegraph.pl, inferno, speedscope",
	 .accepts = REPORT_IN_PROFILE,
	 .writes_file = true,
	 .needs_tree = true,
	 .write = view_folded,
	 .write_diff = view_folded_diff},
	{.option = "heap",
	 .help = "heap report (with heap-peak.pb.gz in a directory):\n"
		 "totals, top allocation sites, possible leaks",
	 .brief = "heap report: top allocation sites, possible leaks",
	 .accepts = REPORT_IN_PROFILE | REPORT_IN_DIR,
	 .write = view_heap},
	{.option = "locks",
	 .help = "lock contention and blocking report (mutex.pb.gz\n"
		 "and block.pb.gz of a directory, or one of them)",
	 .brief = "lock contention and blocking report",
	 .accepts = REPORT_IN_PROFILE | REPORT_IN_DIR,
	 .write = view_locks},
	{.option = "sched",
	 .help = "scheduler-trace tables: per-thread running, runnable,\n"
		 "waiting by reason; load; longest waits; leaked threads",
	 .brief = "per-thread states, longest waits, leaked threads (trace)",
	 .accepts = REPORT_IN_TRACE,
	 .write = view_sched},
	{.option = "chrome",
	 .argname = "OUT.json",
	 .help = "write the trace as Chrome Trace Event JSON\n"
		 "(Perfetto UI, chrome://tracing)",
	 .brief = "trace as Chrome/Perfetto JSON",
	 .accepts = REPORT_IN_TRACE,
	 .writes_file = true,
	 .check = check_chrome,
	 .write = view_chrome},
	{.option = "chrome-states",
	 .argname = "OUT.json",
	 .help = "the same JSON plus every thread's states as\n"
		 "sched_switch text (Perfetto's Running/R/R+/S tracks)",
	 .brief = "trace as Chrome/Perfetto JSON with thread-state tracks",
	 .accepts = REPORT_IN_TRACE,
	 .writes_file = true,
	 .check = check_chrome_states,
	 .write = view_chrome_states},
	{.option = "sched-latency",
	 .argname = "OUT.pb.gz",
	 .help = "write a pprof profile of runnable time (scheduler\n"
		 "latency) by the stack each thread was preempted at",
	 .brief = "scheduler-latency pprof profile (trace)",
	 .accepts = REPORT_IN_TRACE,
	 .writes_file = true,
	 .check = check_pprof,
	 .write = view_sched_latency},
	{.option = "timeline",
	 .argname = "OUT.html",
	 .help = "write the trace's state timeline: a self-contained\n"
		 "HTML page, a lane per thread and per CPU",
	 .brief = "state timeline of the trace (HTML)",
	 .accepts = REPORT_IN_TRACE,
	 .writes_file = true,
	 .write = view_timeline},
	{.option = "trace-pprof",
	 .argname = "KIND OUT.pb.gz",
	 .help = "write a pprof profile of the trace (like go tool\n"
		 "trace -pprof): KIND sched (runnable time), sync,\n"
		 "net, io, sleep (waits), wall (every state)",
	 .brief = "pprof profiles of the trace's states",
	 .accepts = REPORT_IN_TRACE,
	 .writes_file = true,
	 .sub_arg = true,
	 .check = check_trace_pprof,
	 .write = view_trace_pprof},
	{.option = "perfetto",
	 .argname = "OUT.pftrace",
	 .help = "write the trace as Perfetto protobuf (Perfetto UI,\n"
		 "trace_processor): much smaller than --chrome's JSON",
	 .brief = "the trace for Perfetto UI (protobuf)",
	 .accepts = REPORT_IN_TRACE,
	 .writes_file = true,
	 .write = view_perfetto},
	/* the default: a profile's top table, a directory's summary of every profile */
	{.help = "text table",
	 .brief = "text table",
	 .accepts = REPORT_IN_PROFILE | REPORT_IN_DIR,
	 .needs_tree = true,
	 .write = view_text,
	 .write_diff = view_text_diff},
};
const size_t report_nviews = sizeof(report_views) / sizeof(report_views[0]);
const size_t report_default_view = sizeof(report_views) / sizeof(report_views[0]) - 1;

_Static_assert(sizeof(report_views) / sizeof(report_views[0]) <= REPORT_MAX_VIEWS,
	       "report_options.view_arg holds a slot per view");
