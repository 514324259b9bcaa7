/*
 * report_input.c — what `ctrace report` was given: a ctrace output directory, a trace
 * (trace.ctr: read, symbolized and modelled into thread states) or a profile (a pprof file from any
 * producer, symbolized on the fly when it carries only addresses; JIT code from the perf map in its
 * directory). Inputs are validated here, once, for every view: a profile whose values would
 * overflow int64 totals is refused with one clear line.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/report.h"
#include "libtrace/pprof.h"
#include "libtrace/symbolize.h"

bool report_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The sum of the magnitudes of column col's values into *sum; false past INT64_MAX. */
static bool magnitude(const ct_profile *p, size_t col, uint64_t *sum)
{
	*sum = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		int64_t v = p->samples[i].values[col];
		uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
		if (__builtin_add_overflow(*sum, mag, sum) || *sum > INT64_MAX)
			return false;
	}
	return true;
}

static int too_big(const char *path, const ct_value_type *type)
{
	fprintf(stderr,
		"ctrace: cannot report %s: the %s/%s values sum past 2^63-1, beyond what "
		"64-bit totals hold\n",
		path, type->type, type->unit);
	return 1;
}

/* Refuses a profile in which some sample type's values, in magnitude, sum past INT64_MAX:
 * every total and subtree the views compute then fits in an int64. */
static int check_totals(const report_input *in)
{
	uint64_t sum;
	for (size_t c = 0; c < in->profile->nsample_types; c++)
		if (!magnitude(in->profile, c, &sum))
			return too_big(in->path, &in->profile->sample_types[c]);
	return 0;
}

int report_check_diff_totals(const report_input *base, int bi, const report_input *np, int ni)
{
	uint64_t a, b;
	magnitude(base->profile, (size_t)bi, &a);
	magnitude(np->profile, (size_t)ni, &b);
	if (a + b > INT64_MAX) /* each at most INT64_MAX: no wrap */
		return too_big(np->path, &np->profile->sample_types[ni]);
	return 0;
}

/* Symbolizes p, naming JIT code from the perf map beside path (symbolize.h). 0 or -errno. */
static int symbolize(ct_profile *p, const char *path, ct_error *err)
{
	ct_symbolizer *s = ct_symbolizer_new(stderr);
	char *dir = strdup(path);
	int rc = s && dir ? ct_symbolizer_set_perf_map(s, dirname(dir), 0) : -ENOMEM;
	if (rc == 0)
		rc = ct_symbolizer_run(s, p, err);
	else
		ct_error_set(err, ENOMEM, -1, "out of memory while symbolizing");
	free(dir);
	ct_symbolizer_free(s);
	return rc;
}

/* Reads and symbolizes a profile. Returns the exit status. */
static int open_profile(report_input *in)
{
	ct_error err = {.offset = -1};
	if (ct_pprof_read_file(in->path, &in->profile, &err) != 0) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", in->path, err.msg);
		return 1;
	}
	if (ct_profile_needs_symbols(in->profile)) {
		err.msg[0] = '\0';
		if (symbolize(in->profile, in->path, &err) != 0)
			fprintf(stderr, "ctrace: cannot symbolize %s: %s (showing addresses)\n",
				in->path, err.msg);
	}
	in->name = ct_outdir_profile_of(in->path);
	return check_totals(in);
}

/* Reads a trace, names its frames like a profile's and builds its thread states. A cut
 * trace (no footer: the recording was killed) reads with a note. Returns the exit status. */
static int open_trace(report_input *in)
{
	ct_error err = {.offset = -1};
	if (ct_trace_read_file(in->path, &in->trace, &err) != 0) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", in->path, err.msg);
		return 1;
	}
	if (in->trace->truncated)
		fprintf(stderr,
			"ctrace: %s is truncated (the recording was cut; %llu bytes of a partial "
			"chunk dropped): showing what was written\n",
			in->path, (unsigned long long)in->trace->dropped_bytes);
	if (ct_profile_needs_symbols(in->trace->prof)) {
		err.msg[0] = '\0';
		if (ct_symbolize_profile(in->trace->prof, stderr, &err) != 0)
			fprintf(stderr, "ctrace: cannot symbolize %s: %s (showing addresses)\n",
				in->path, err.msg);
	}
	int rc = ct_trace_model_build(in->trace, &in->model);
	if (rc) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", in->path, strerror(-rc));
		return 1;
	}
	return 0;
}

int report_input_open(report_input *in, const char *path)
{
	memset(in, 0, sizeof(*in));
	if (snprintf(in->path, sizeof(in->path), "%s", path) >= (int)sizeof(in->path)) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path, strerror(ENAMETOOLONG));
		return 1;
	}
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		in->kind = REPORT_IN_DIR;
		return 0;
	}
	if (report_ends_with(path, ".ctr")) {
		in->kind = REPORT_IN_TRACE;
		return open_trace(in);
	}
	in->kind = REPORT_IN_PROFILE;
	return open_profile(in);
}

void report_input_close(report_input *in)
{
	ct_profile_free(in->profile);
	in->profile = NULL;
	ct_trace_model_free(in->model);
	in->model = NULL;
	ct_trace_free(in->trace);
	in->trace = NULL;
}

int report_input_pick(const report_options *o, const report_input *dir, report_input *out)
{
	char buf[8192];
	struct stat st;
	memset(out, 0, sizeof(*out));
	if (o->profile) {
		snprintf(buf, sizeof(buf), "%s/%s%s", dir->path, o->profile,
			 strstr(o->profile, ".pb") ? "" : CT_PROFILE_SUFFIX);
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode))
			return report_input_open(out, buf);
		fprintf(stderr, "ctrace: cannot read %s: no such profile\n", buf);
		return 1;
	}
	size_t n;
	const ct_outdir_profile *t = ct_outdir_profiles(&n);
	for (size_t i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s/%s", dir->path, t[i].file);
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode))
			return report_input_open(out, buf);
	}
	fprintf(stderr, "ctrace: cannot read %s: no profiles in it (", dir->path);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", t[i].file);
	fprintf(stderr, ")\n");
	return 1;
}
