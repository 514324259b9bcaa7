/*
 * report.c — `ctrace report`: option parsing and orchestration of the report views.
 *
 * Reads a pprof file (any producer) or a ctrace output directory, symbolizes profiles
 * that carry only addresses, filters and aggregates them (libtrace/report.h) and renders
 * the requested view: the text table (report_text.h), a flame graph (flame.h, SVG or HTML
 * by the output's extension), folded stacks (folded.h), or, with --diff, the same views of
 * the difference between two profiles. A directory without an output option prints a
 * summary of every profile in it.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "libtrace/flame.h"
#include "libtrace/folded.h"
#include "libtrace/heapreport.h"
#include "libtrace/lockreport.h"
#include "libtrace/pprof.h"
#include "libtrace/report.h"
#include "libtrace/report_text.h"
#include "libtrace/symbolize.h"

/* The profiles a ctrace output directory may hold, in the order they are summarized. */
static const char *const dir_profiles[] = {"cpu", "heap", "heap-peak", "mutex", "block"};
#define NDIR_PROFILES (sizeof(dir_profiles) / sizeof(dir_profiles[0]))

typedef struct {
	long top; /* -1: the default for the mode */
	const char *sample_index;
	char *focus, *ignore; /* alternations of every --focus / --ignore given */
	const char **tags;
	uint32_t ntags;
	const char *flame, *folded, *diff_base, *profile, *title;
	bool icicle, locks, heap;
	double min_width;
} options;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ctrace report [options] DIR|FILE\n"
		"       ctrace report --diff BASE [options] NEW\n"
		"\n"
		"Text summary of a profile (a pprof file from any producer) or of every profile\n"
		"in a ctrace output directory; with an output option, writes that view instead.\n"
		"\n"
		"  -n, --top N              rows of the text table (0: all; default 20, 10 per\n"
		"                           profile of a directory)\n"
		"  -i, --sample-index T     sample type by name or index (default: the profile's\n"
		"                           default, else its last type)\n"
		"      --focus REGEX        keep samples with a frame matching REGEX\n"
		"      --ignore REGEX       drop samples with a frame matching REGEX\n"
		"      --tag KEY=VALUE      keep samples labelled KEY=VALUE (string or number)\n"
		"      --flame OUT.svg|OUT.html   write a flame graph (HTML: every sample type,\n"
		"                           a sortable table, canvas drawing for big profiles)\n"
		"      --icicle             root at the top\n"
		"      --min-width PX       SVG: leave out frames narrower than PX (default 0.1)\n"
		"      --title TEXT         flame graph title\n"
		"      --folded OUT.txt     write folded stacks (flamegraph.pl, speedscope);\n"
		"                           with --diff, 'stack base new' lines (difffolded)\n"
		"      --diff BASE          compare BASE with NEW: table of changes, or a\n"
		"                           differential flame graph (red grew, blue shrank)\n"
		"  -p, --profile NAME       in a directory: cpu, heap, heap-peak, mutex or block\n"
		"                           (default cpu, else the first present)\n"
		"      --heap               heap report (with heap-peak.pb.gz in a directory):\n"
		"                           totals, top allocation sites, possible leaks\n"
		"      --locks              in a directory: the lock contention and blocking "
		"report\n"
		"  -h, --help               this help\n"
		"OUT may be '-' for standard output (--flame - writes SVG).\n");
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "cpu" for ".../cpu.pb.gz" and the other names a directory holds, else NULL. */
static const char *kind_from_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	for (size_t i = 0; i < NDIR_PROFILES; i++) {
		size_t n = strlen(dir_profiles[i]);
		if (strncmp(b, dir_profiles[i], n) == 0 && strcmp(b + n, ".pb.gz") == 0)
			return dir_profiles[i];
	}
	return NULL;
}

/* Reads and symbolizes path; prints the error line and returns NULL on failure. */
static ct_profile *load(const char *path)
{
	ct_profile *p = NULL;
	ct_error err = {.offset = -1};
	if (ct_pprof_read_file(path, &p, &err) != 0) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path, err.msg);
		return NULL;
	}
	if (ct_profile_needs_symbols(p)) {
		err.msg[0] = '\0';
		if (ct_symbolize_profile(p, stderr, &err) != 0)
			fprintf(stderr, "ctrace: cannot symbolize %s: %s (showing addresses)\n",
				path, err.msg);
	}
	return p;
}

/* The profile of dir chosen by --profile (a name or a file name), else cpu, else the
 * first present. Into buf; NULL (error printed) when there is none. */
static const char *pick_profile(const char *dir, const char *want, char *buf, size_t len)
{
	if (want) {
		snprintf(buf, len, "%s/%s%s", dir, want, strstr(want, ".pb") ? "" : ".pb.gz");
		if (exists(buf))
			return buf;
		fprintf(stderr, "ctrace: cannot read %s: no such profile\n", buf);
		return NULL;
	}
	for (size_t i = 0; i < NDIR_PROFILES; i++) {
		snprintf(buf, len, "%s/%s.pb.gz", dir, dir_profiles[i]);
		if (exists(buf))
			return buf;
	}
	fprintf(stderr,
		"ctrace: cannot read %s: no profiles in it (cpu.pb.gz, heap.pb.gz, "
		"heap-peak.pb.gz, mutex.pb.gz, block.pb.gz)\n",
		dir);
	return NULL;
}

static FILE *open_out(const char *path)
{
	if (strcmp(path, "-") == 0)
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "ctrace: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

/* Closes an output opened by open_out, turning a write error into the error line. */
static int close_out(FILE *f, const char *path, int rc)
{
	if (f != stdout) {
		if (fclose(f) != 0 && rc == 0)
			rc = -errno;
	} else if (fflush(f) != 0 && rc == 0) {
		rc = -errno;
	}
	if (rc) {
		fprintf(stderr, "ctrace: cannot write %s: %s\n", path, strerror(-rc));
		return 1;
	}
	if (f != stdout)
		fprintf(stderr, "ctrace: wrote %s\n", path);
	return 0;
}

static int write_flame(const options *o, const ct_tree *t, uint32_t col, int32_t base_col)
{
	/* .svg or '-' (SVG on standard output), else .html: checked with the options */
	bool svg = ends_with(o->flame, ".svg") || strcmp(o->flame, "-") == 0;
	ct_flame_opts fo;
	ct_flame_opts_init(&fo);
	fo.title = o->title;
	fo.col = col;
	fo.base_col = base_col;
	fo.icicle = o->icicle;
	if (o->min_width >= 0)
		fo.min_width = o->min_width;
	FILE *f = open_out(o->flame);
	if (!f)
		return 1;
	int rc = svg ? ct_flame_write_svg(f, t, &fo) : ct_flame_write_html(f, t, &fo);
	return close_out(f, o->flame, rc);
}

static int make_filter(const options *o, const ct_profile *p, const char *path, ct_filter **f)
{
	ct_filter_spec spec = {
		.focus = o->focus, .ignore = o->ignore, .tags = o->tags, .ntags = o->ntags};
	*f = NULL;
	if (!o->focus && !o->ignore && !o->ntags)
		return 0;
	ct_error err = {.offset = -1};
	if (ct_filter_new(p, &spec, f, &err) != 0) {
		fprintf(stderr, "ctrace: %s: %s\n", path, err.msg);
		return 2;
	}
	return 0;
}

/* The views of one profile. Returns the exit status. */
static int report_profile(const options *o, const char *path, const char *kind, bool in_dir)
{
	ct_profile *p = load(path);
	if (!p)
		return 1;
	ct_error err = {.offset = -1};
	ct_filter *f = NULL;
	ct_tree *t = NULL;
	int status = 0, si = ct_report_sample_index(p, o->sample_index, &err);
	if (si < 0) {
		fprintf(stderr, "ctrace: %s: %s\n", path, err.msg);
		status = 2;
		goto out;
	}
	if ((status = make_filter(o, p, path, &f)))
		goto out;
	int rc = ct_tree_from_profile(p, f, &t);
	if (rc) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path, strerror(-rc));
		status = 1;
		goto out;
	}
	if (o->flame)
		status = write_flame(o, t, (uint32_t)si, -1);
	if (!status && o->folded) {
		FILE *out = open_out(o->folded);
		status = out ? close_out(out, o->folded, ct_folded_write(out, t, (uint32_t)si)) : 1;
	}
	if (!o->flame && !o->folded) {
		ct_text_opts to = {.source = path,
				   .kind = kind,
				   .top = o->top >= 0 ? (uint32_t)o->top : (in_dir ? 10 : 20),
				   .filtered = f != NULL};
		rc = ct_report_text(stdout, p, t, (uint32_t)si, &to);
		if (rc) {
			fprintf(stderr, "ctrace: cannot write report: %s\n", strerror(-rc));
			status = 1;
		}
	}
out:
	ct_tree_free(t);
	ct_filter_free(f);
	ct_profile_free(p);
	return status;
}

static void print_views(const char *dir, bool have_heap, bool have_locks)
{
	printf("Views of this directory (ctrace report [options] %s):\n"
	       "  --flame OUT.svg|OUT.html   flame graph (-p heap|heap-peak|mutex|block for the\n"
	       "                             others; the HTML switches between sample types)\n"
	       "  --folded OUT.txt           folded stacks for flamegraph.pl, inferno, speedscope\n"
	       "  -p NAME -i TYPE            another profile or sample type as a table\n"
	       "  --diff BASE                compare with an earlier run's directory or profile\n",
	       dir);
	if (have_heap)
		printf("  --heap                     heap report: top allocation sites, possible "
		       "leaks\n");
	if (have_locks)
		printf("  --locks                    lock contention and blocking report\n");
}

/* Loads dir/name.pb.gz into *out when it exists; false (error printed) when unreadable. */
static bool load_optional(const char *dir, const char *name, ct_profile **out)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s.pb.gz", dir, name);
	*out = NULL;
	return !exists(buf) || (*out = load(buf)) != NULL;
}

/* --heap and --locks: the heap report (heap + heap-peak) or the lock report (mutex +
 * block) of a directory, or of a single profile. */
static int report_special(const options *o, const char *path)
{
	ct_profile *a = NULL, *b = NULL;
	int top = o->top > 0 ? (int)o->top : 10, rc = 0, status = 0;
	const char *first = o->heap ? "heap" : "mutex", *second = o->heap ? "heap-peak" : "block";
	if (!is_dir(path)) {
		const char *kind = kind_from_name(path);
		if (!(a = load(path)))
			return 1;
		if (!o->heap && kind && strcmp(kind, "block") == 0) {
			b = a;
			a = NULL;
		}
	} else if (!load_optional(path, first, &a) || !load_optional(path, second, &b)) {
		status = 1;
	} else if (o->heap ? !a : !a && !b) {
		fprintf(stderr, "ctrace: cannot read %s: no %s.pb.gz%s\n", path, first,
			o->heap ? "" : " or block.pb.gz");
		status = 1;
	}
	if (!status) {
		rc = o->heap ? ct_heap_report(stdout, a, b, top)
			     : ct_lock_report(stdout, a, b, top);
		if (rc == -EINVAL)
			fprintf(stderr, "ctrace: cannot report %s: not a %s profile\n", path,
				o->heap ? "heap" : "mutex or block");
		else if (rc)
			fprintf(stderr, "ctrace: cannot report %s: %s\n", path, strerror(-rc));
		status = rc ? 1 : 0;
	}
	ct_profile_free(a);
	ct_profile_free(b);
	return status;
}

/* Summary of every profile in dir, or the requested view of one of them. */
static int report_dir(const options *o, const char *dir)
{
	char buf[4096];
	if (o->flame || o->folded || o->profile) {
		const char *path = pick_profile(dir, o->profile, buf, sizeof(buf));
		return path ? report_profile(o, path, kind_from_name(path), false) : 1;
	}
	int status = 0, found = 0;
	bool have_heap = false, have_locks = false;
	for (size_t i = 0; i < NDIR_PROFILES; i++) {
		snprintf(buf, sizeof(buf), "%s/%s.pb.gz", dir, dir_profiles[i]);
		if (!exists(buf))
			continue;
		have_heap |= i == 1;
		have_locks |= i >= 3;
		printf("%s== %s.pb.gz ==\n", found++ ? "\n" : "", dir_profiles[i]);
		fflush(stdout);
		int s = report_profile(o, buf, dir_profiles[i], true);
		if (s > status)
			status = s;
	}
	if (!found) {
		pick_profile(dir, NULL, buf, sizeof(buf));
		return 1;
	}
	putchar('\n');
	snprintf(buf, sizeof(buf), "%s/trace.ctr", dir);
	if (exists(buf))
		printf("Also here: trace.ctr (scheduler-event trace)\n");
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(buf, sizeof(buf), "%s/%s/cpu.pb.gz", dir, e->d_name);
			char other[4096];
			snprintf(other, sizeof(other), "%s/%s/heap.pb.gz", dir, e->d_name);
			if (exists(buf) || exists(other))
				printf("Also here: %s/%s/ (a child process's profiles)\n", dir,
				       e->d_name);
		}
		closedir(d);
	}
	print_views(dir, have_heap, have_locks);
	return status;
}

/* The profile to diff for path: the file, or the chosen profile of a directory. */
static ct_profile *load_for_diff(const options *o, const char *path, char *buf, size_t len)
{
	if (is_dir(path)) {
		path = pick_profile(path, o->profile, buf, len);
		if (!path)
			return NULL;
	} else {
		snprintf(buf, len, "%s", path);
	}
	return load(buf);
}

static int report_diff(const options *o, const char *new_path)
{
	char bpath[4096], npath[4096];
	ct_profile *base = load_for_diff(o, o->diff_base, bpath, sizeof(bpath));
	ct_profile *np = base ? load_for_diff(o, new_path, npath, sizeof(npath)) : NULL;
	ct_filter *fb = NULL, *fn = NULL;
	ct_tree *t = NULL;
	int status = 1;
	if (!base || !np)
		goto out;
	ct_error err = {.offset = -1};
	int ni = ct_report_sample_index(np, o->sample_index, &err);
	if (ni < 0) {
		fprintf(stderr, "ctrace: %s: %s\n", npath, err.msg);
		status = 2;
		goto out;
	}
	/* The base is measured in the same sample type as the new profile, by name. */
	int bi = ct_report_sample_index(base, np->sample_types[ni].type, &err);
	if (bi < 0) {
		fprintf(stderr, "ctrace: %s: %s\n", bpath, err.msg);
		goto out;
	}
	if ((status = make_filter(o, base, bpath, &fb)) ||
	    (status = make_filter(o, np, npath, &fn)))
		goto out;
	int rc = ct_tree_diff(base, fb, bi, np, fn, ni, &t);
	if (rc) {
		fprintf(stderr, "ctrace: cannot diff %s and %s: %s\n", bpath, npath, strerror(-rc));
		status = 1;
		goto out;
	}
	if (o->flame)
		status = write_flame(o, t, 0, 1);
	if (!status && o->folded) {
		FILE *out = open_out(o->folded);
		status = out ? close_out(out, o->folded, ct_folded_write2(out, t, 1, 0)) : 1;
	}
	if (!o->flame && !o->folded) {
		rc = ct_report_text_diff(stdout, t, bpath, npath,
					 o->top >= 0 ? (uint32_t)o->top : 20);
		status = rc ? 1 : 0;
		if (rc)
			fprintf(stderr, "ctrace: cannot write report: %s\n", strerror(-rc));
	}
out:
	ct_tree_free(t);
	ct_filter_free(fb);
	ct_filter_free(fn);
	ct_profile_free(base);
	ct_profile_free(np);
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

enum {
	OPT_FOCUS = 256,
	OPT_IGNORE,
	OPT_TAG,
	OPT_FLAME,
	OPT_ICICLE,
	OPT_MIN_WIDTH,
	OPT_TITLE,
	OPT_FOLDED,
	OPT_DIFF,
	OPT_LOCKS,
	OPT_HEAP,
};

int ct_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"top", required_argument, NULL, 'n'},
		{"sample-index", required_argument, NULL, 'i'},
		{"focus", required_argument, NULL, OPT_FOCUS},
		{"ignore", required_argument, NULL, OPT_IGNORE},
		{"tag", required_argument, NULL, OPT_TAG},
		{"flame", required_argument, NULL, OPT_FLAME},
		{"icicle", no_argument, NULL, OPT_ICICLE},
		{"min-width", required_argument, NULL, OPT_MIN_WIDTH},
		{"title", required_argument, NULL, OPT_TITLE},
		{"folded", required_argument, NULL, OPT_FOLDED},
		{"diff", required_argument, NULL, OPT_DIFF},
		{"profile", required_argument, NULL, 'p'},
		{"locks", no_argument, NULL, OPT_LOCKS},
		{"heap", no_argument, NULL, OPT_HEAP},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	options o = {.top = -1, .min_width = -1};
	int status = 2, c;
	char *end;
	optind = 0; /* glibc: restart scanning, so the command can be run more than once */
	while ((c = getopt_long(argc, argv, "n:i:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.top = strtol(optarg, &end, 10);
			if (*end || o.top < 0) {
				fprintf(stderr, "ctrace: --top wants a number >= 0, not '%s'\n",
					optarg);
				goto done;
			}
			break;
		case 'i':
			o.sample_index = optarg;
			break;
		case OPT_FOCUS:
		case OPT_IGNORE:
			if (add_alternative(c == OPT_FOCUS ? &o.focus : &o.ignore, optarg)) {
				fprintf(stderr, "ctrace: out of memory\n");
				status = 1;
				goto done;
			}
			break;
		case OPT_TAG: {
			const char **tags = realloc(o.tags, (o.ntags + 1) * sizeof(*tags));
			if (!tags) {
				fprintf(stderr, "ctrace: out of memory\n");
				status = 1;
				goto done;
			}
			o.tags = tags;
			o.tags[o.ntags++] = optarg;
			break;
		}
		case OPT_FLAME:
			o.flame = optarg;
			break;
		case OPT_ICICLE:
			o.icicle = true;
			break;
		case OPT_MIN_WIDTH:
			o.min_width = strtod(optarg, &end);
			if (*end || o.min_width < 0) {
				fprintf(stderr, "ctrace: --min-width wants pixels >= 0, not '%s'\n",
					optarg);
				goto done;
			}
			break;
		case OPT_TITLE:
			o.title = optarg;
			break;
		case OPT_FOLDED:
			o.folded = optarg;
			break;
		case OPT_DIFF:
			o.diff_base = optarg;
			break;
		case 'p':
			o.profile = optarg;
			break;
		case OPT_LOCKS:
			o.locks = true;
			break;
		case OPT_HEAP:
			o.heap = true;
			break;
		case 'h':
			usage(stdout);
			status = 0;
			goto done;
		default:
			fprintf(stderr, "usage: ctrace report [options] DIR|FILE "
					"(ctrace report --help for the options)\n");
			goto done;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: ctrace report [options] DIR|FILE "
				"(ctrace report --help for the options)\n");
		goto done;
	}
	if (o.flame && strcmp(o.flame, "-") != 0 && !ends_with(o.flame, ".svg") &&
	    !ends_with(o.flame, ".html") && !ends_with(o.flame, ".htm")) {
		fprintf(stderr, "ctrace: --flame %s: the name must end in .svg or .html\n",
			o.flame);
		goto done;
	}
	const char *path = argv[optind];
	if (o.heap || o.locks)
		status = report_special(&o, path);
	else if (o.diff_base)
		status = report_diff(&o, path);
	else if (is_dir(path))
		status = report_dir(&o, path);
	else
		status = report_profile(&o, path, kind_from_name(path), false);
done:
	free(o.focus);
	free(o.ignore);
	free(o.tags);
	return status;
}
