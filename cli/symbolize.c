/*
 * symbolize.c — `ctrace symbolize DIR|FILE...`: names for agent-written profiles.
 *
 * Reads each pprof file (every *.pb.gz under a directory, including the per-process
 * subdirectories of forked children), symbolizes the locations that have only addresses
 * (libtrace/symbolize.h) and writes the file back atomically. Files that need nothing are
 * left untouched. JIT code is named from the perf map (/tmp/perf-<pid>.map) of the
 * process whose summary.txt sits beside the profile. One symbolizer serves the whole
 * invocation, so each module is opened and warned about once. `ctrace record` calls
 * ct_symbolize_dir when the program exits.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "libtrace/outdir.h"
#include "libtrace/pprof.h"
#include "libtrace/symbolize.h"

enum { MAX_DEPTH = 8 }; /* directory levels searched for profiles */

struct run {
	ct_symbolizer *sym;
	bool verbose; /* a line per rewritten file */
	int nfiles;   /* profiles found */
	int rc;	      /* first error, or 0 */
};

static void fail(struct run *r, int rc)
{
	if (!r->rc)
		r->rc = rc;
}

static void symbolize_file(struct run *r, const char *path)
{
	ct_profile *p;
	ct_error err = {.offset = -1};
	int rc = ct_pprof_read_file(path, &p, &err);
	if (rc) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path,
			err.msg[0] ? err.msg : strerror(-rc));
		fail(r, rc);
		return;
	}
	r->nfiles++;
	if (!ct_profile_needs_symbols(p)) {
		ct_profile_free(p);
		return;
	}
	struct stat before;
	bool mode = stat(path, &before) == 0;
	rc = ct_symbolizer_run(r->sym, p, &err);
	if (rc) {
		fprintf(stderr, "ctrace: cannot symbolize %s: %s\n", path, err.msg);
	} else if ((rc = ct_pprof_write_file(p, path)) != 0) {
		fprintf(stderr, "ctrace: cannot write %s: %s\n", path, strerror(-rc));
	} else if (mode && chmod(path, before.st_mode & 07777) != 0 && r->verbose) {
		fprintf(stderr, "ctrace: %s: its mode not kept: %s\n", path, strerror(errno));
	} else if (r->verbose) {
		fprintf(stderr, "ctrace: symbolized %s\n", path);
	}
	if (rc)
		fail(r, rc);
	ct_profile_free(p);
}

static bool is_profile_name(const char *name)
{
	size_t n = strlen(name), k = strlen(CT_PROFILE_SUFFIX);
	return name[0] != '.' && n > k && strcmp(name + n - k, CT_PROFILE_SUFFIX) == 0;
}

/* JIT code in dir's profiles is named from the perf map of the process that wrote them
 * (dir/summary.txt gives its pid). */
static void use_perf_map(struct run *r, const char *dir)
{
	if (ct_symbolizer_set_perf_map(r->sym, dir, 0) < 0)
		fail(r, -ENOMEM);
}

/* Symbolizes the profiles under dir, in name order; symbolic links are not followed. */
static void symbolize_tree(struct run *r, const char *dir, int depth)
{
	use_perf_map(r, dir);
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		int e = errno;
		fprintf(stderr, "ctrace: cannot read %s: %s\n", dir, strerror(e));
		fail(r, -e);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char *path = NULL;
		struct stat st;
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
		    asprintf(&path, "%s/%s", dir, name) >= 0 && lstat(path, &st) == 0) {
			if (S_ISREG(st.st_mode) && is_profile_name(name))
				symbolize_file(r, path);
			else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
				symbolize_tree(r, path, depth + 1);
				use_perf_map(r, dir);
			}
		}
		free(path);
		free(ents[i]);
	}
	free(ents);
}

/* Symbolizes path, a profile or a directory of them. */
static void symbolize_path(struct run *r, const char *path, bool need_profiles)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		int e = errno;
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path, strerror(e));
		fail(r, -e);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		char *dir = strdup(path);
		if (dir)
			use_perf_map(r, dirname(dir));
		free(dir);
		symbolize_file(r, path);
		return;
	}
	int before = r->nfiles;
	symbolize_tree(r, path, 0);
	if (need_profiles && r->nfiles == before && !r->rc) {
		fprintf(stderr, "ctrace: cannot read %s: no *.pb.gz profiles in it\n", path);
		fail(r, -ENOENT);
	}
}

int ct_symbolize_dir(const char *dir, int quiet)
{
	struct run r = {.sym = ct_symbolizer_new(quiet ? NULL : stderr)};
	if (!r.sym) {
		fprintf(stderr, "ctrace: cannot symbolize %s: out of memory\n", dir);
		return -ENOMEM;
	}
	symbolize_path(&r, dir, false);
	ct_symbolizer_free(r.sym);
	return r.rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ctrace symbolize [-q] DIR|FILE...\n"
		   "\n"
		   "Adds function names, source lines and inlined frames to profiles written by\n"
		   "the agent alone (LD_PRELOAD without `ctrace record`). Every *.pb.gz under a\n"
		   "DIR is rewritten in place. Modules that changed since the run are not\n"
		   "symbolized from the wrong file: their frames are named module+0xOFFSET.\n"
		   "\n"
		   "  -q, --quiet   no warnings about missing or changed modules\n"
		   "  -v, --verbose a line for every profile rewritten\n"
		   "  -h, --help    this help\n");
}

int ct_cmd_symbolize(int argc, char **argv)
{
	static const struct option opts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool quiet = false, verbose = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			return ct_cli_opt_other(c, usage);
		}
	}
	int missing = ct_cli_operand_missing(argc, "symbolize: no DIR or FILE given", usage);
	if (missing >= 0)
		return missing;
	FILE *real = ct_cli_escape_stderr_begin(); /* module names in warnings */
	struct run r = {.sym = ct_symbolizer_new(quiet ? NULL : stderr), .verbose = verbose};
	if (!r.sym) {
		fprintf(stderr, "ctrace: symbolize: out of memory\n");
		ct_cli_escape_stderr_end(real);
		return 1;
	}
	for (int i = optind; i < argc; i++)
		symbolize_path(&r, argv[i], true);
	ct_symbolizer_free(r.sym);
	ct_cli_escape_stderr_end(real);
	return r.rc ? 1 : 0;
}
