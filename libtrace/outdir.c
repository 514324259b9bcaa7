/* outdir.c — mode names, output file names and summary.txt, defined once (outdir.h). */
#include "libtrace/outdir.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/safefile.h"

static const struct {
	const char *name;
	unsigned bits;
} mode_names[] = {
	{"cpu", CT_MODE_CPU},	  {"heap", CT_MODE_HEAP},   {"lock", CT_MODE_LOCK},
	{"block", CT_MODE_BLOCK}, {"sched", CT_MODE_SCHED}, {"all", CT_MODE_ALL},
	{"mutex", CT_MODE_LOCK},
};

int ct_modes_parse(const char *list, unsigned *modes, ct_error *err)
{
	const char *s = list;
	int rc = 0;
	*modes = 0;
	for (;;) {
		size_t n = strcspn(s, ",");
		size_t i = 0;
		while (i < sizeof(mode_names) / sizeof(mode_names[0]) &&
		       !(strlen(mode_names[i].name) == n && strncmp(s, mode_names[i].name, n) == 0))
			i++;
		if (i < sizeof(mode_names) / sizeof(mode_names[0]))
			*modes |= mode_names[i].bits;
		else if (!rc && n == 0)
			rc = ct_error_set(err, EINVAL, s - list,
					  "empty mode name at offset %td of '%s'", s - list, list);
		else if (!rc)
			rc = ct_error_set(err, EINVAL, s - list,
					  "unknown mode '%.*s' (modes: cpu, heap, lock, block, "
					  "sched, all)",
					  (int)(n > 32 ? 32 : n), s);
		if (!s[n])
			return rc;
		s += n + 1;
	}
}

static const ct_outdir_profile profiles[] = {
	{"cpu", CT_FILE_CPU, CT_MODE_CPU},
	{"heap", CT_FILE_HEAP, CT_MODE_HEAP},
	{"heap-peak", CT_FILE_HEAP_PEAK, CT_MODE_HEAP},
	{"mutex", CT_FILE_MUTEX, CT_MODE_LOCK},
	{"block", CT_FILE_BLOCK, CT_MODE_BLOCK},
};

const ct_outdir_profile *ct_outdir_profiles(size_t *n)
{
	*n = sizeof(profiles) / sizeof(profiles[0]);
	return profiles;
}

const ct_outdir_profile *ct_outdir_profile_of(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(base, profiles[i].file) == 0)
			return &profiles[i];
	return NULL;
}

bool ct_outdir_is_ours(const char *name)
{
	size_t len = strlen(name), k = strlen(CT_PROFILE_SUFFIX);
	return (len > k && strcmp(name + len - k, CT_PROFILE_SUFFIX) == 0) ||
	       strcmp(name, CT_FILE_SUMMARY) == 0 || strcmp(name, CT_FILE_TRACE) == 0 ||
	       strcmp(name, CT_FILE_OWNER) == 0 || strcmp(name, CT_FILE_CHECKPOINT) == 0 ||
	       strcmp(name, CT_FILE_CHILDREN) == 0;
}

bool ct_outdir_is_temp(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	return t && t > name && t[5] != 0;
}

bool ct_outdir_is_child(const char *name)
{
	return name[0] >= '1' && name[0] <= '9' && strspn(name, "0123456789") == strlen(name);
}

/* Writes "key=value\n" with any newline in value turned into a space. */
static void put_str(FILE *f, const char *key, const char *value)
{
	fprintf(f, "%s=", key);
	for (const char *c = value; *c; c++)
		fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
	fputc('\n', f);
}

int ct_summary_write(const char *dir, const ct_summary *s)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, CT_FILE_SUMMARY) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	ct_safefile sf;
	int rc = ct_safefile_open(&sf, path);
	if (rc)
		return rc;
	FILE *f = sf.f;
	fprintf(f, "%s=%d\n", CT_SUMMARY_PID, s->pid);
	put_str(f, CT_SUMMARY_CMD, s->cmd);
	put_str(f, CT_SUMMARY_ENGINE, s->engine);
	put_str(f, CT_SUMMARY_REASON, s->reason);
	fprintf(f, "%s=%" PRIu64 "\n%s=%" PRIu64 "\n%s=%" PRIu64 "\n", CT_SUMMARY_SAMPLES,
		s->samples, CT_SUMMARY_LOST, s->lost, CT_SUMMARY_THREADS, s->threads);
	if (s->events_lost)
		fprintf(f, "%s=%" PRIu64 "\n", CT_SUMMARY_EVENTS_LOST, s->events_lost);
	fprintf(f, "%s=%.1f\n", CT_SUMMARY_COLLECTOR_CPU_MS, s->collector_cpu_ms);
	if (s->http[0])
		put_str(f, CT_SUMMARY_HTTP, s->http);
	if (s->warning[0])
		put_str(f, CT_SUMMARY_WARNING, s->warning);
	if (s->annotate_misuse[0])
		put_str(f, CT_SUMMARY_ANNOTATE_MISUSE, s->annotate_misuse);
	if (s->checkpoint[0])
		put_str(f, CT_SUMMARY_CHECKPOINT, s->checkpoint);
	if (s->checkpoints)
		fprintf(f, "%s=%" PRIu64 "\n%s=%.1f\n", CT_SUMMARY_CHECKPOINTS, s->checkpoints,
			CT_SUMMARY_CHECKPOINT_CPU_MS, s->checkpoint_cpu_ms);
	if (s->heap_incomplete[0])
		put_str(f, CT_SUMMARY_HEAP_INCOMPLETE, s->heap_incomplete);
	for (const char *e = s->errors; *e;) {
		size_t n = strcspn(e, "\n");
		fprintf(f, "%s=%.*s\n", CT_SUMMARY_ERROR, (int)n, e);
		e += n + (e[n] == '\n');
	}
	if (s->checkpoints)
		fprintf(f, "%s=%.3f\n", CT_SUMMARY_CHECKPOINT_MAX_MS, s->checkpoint_max_ms);
	return ct_safefile_close(&sf, ferror(f) ? -EIO : 0);
}

/* Stores one key's value into s; unknown keys are ignored. */
static void summary_set(ct_summary *s, const char *key, const char *v)
{
	if (!strcmp(key, CT_SUMMARY_CHECKPOINT_MAX_MS))
		s->checkpoint_max_ms = strtod(v, NULL);
	else if (!strcmp(key, CT_SUMMARY_PID))
		s->pid = atoi(v);
	else if (!strcmp(key, CT_SUMMARY_CMD))
		snprintf(s->cmd, sizeof(s->cmd), "%s", v);
	else if (!strcmp(key, CT_SUMMARY_ENGINE))
		snprintf(s->engine, sizeof(s->engine), "%s", v);
	else if (!strcmp(key, CT_SUMMARY_REASON))
		snprintf(s->reason, sizeof(s->reason), "%s", v);
	else if (!strcmp(key, CT_SUMMARY_SAMPLES))
		s->samples = strtoull(v, NULL, 10);
	else if (!strcmp(key, CT_SUMMARY_LOST))
		s->lost = strtoull(v, NULL, 10);
	else if (!strcmp(key, CT_SUMMARY_THREADS))
		s->threads = strtoull(v, NULL, 10);
	else if (!strcmp(key, CT_SUMMARY_COLLECTOR_CPU_MS))
		s->collector_cpu_ms = strtod(v, NULL);
	else if (!strcmp(key, CT_SUMMARY_HTTP))
		snprintf(s->http, sizeof(s->http), "%s", v);
	else if (!strcmp(key, CT_SUMMARY_EVENTS_LOST))
		s->events_lost = strtoull(v, NULL, 10);
	else if (!strcmp(key, CT_SUMMARY_WARNING))
		snprintf(s->warning, sizeof(s->warning), "%s", v);
	else if (!strcmp(key, CT_SUMMARY_ANNOTATE_MISUSE))
		snprintf(s->annotate_misuse, sizeof(s->annotate_misuse), "%s", v);
	else if (!strcmp(key, CT_SUMMARY_CHECKPOINTS))
		s->checkpoints = strtoull(v, NULL, 10);
	else if (!strcmp(key, CT_SUMMARY_CHECKPOINT_CPU_MS))
		s->checkpoint_cpu_ms = strtod(v, NULL);
	else if (!strcmp(key, CT_SUMMARY_CHECKPOINT))
		snprintf(s->checkpoint, sizeof(s->checkpoint), "%s", v);
	else if (!strcmp(key, CT_SUMMARY_HEAP_INCOMPLETE))
		snprintf(s->heap_incomplete, sizeof(s->heap_incomplete), "%s", v);
	else if (!strcmp(key, CT_SUMMARY_ERROR)) {
		size_t used = strlen(s->errors);
		if (used + strlen(v) + 2 <= sizeof(s->errors))
			snprintf(s->errors + used, sizeof(s->errors) - used, "%s\n", v);
	}
}

int ct_summary_read(const char *path, ct_summary *s, ct_error *err)
{
	memset(s, 0, sizeof(*s));
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[1200];
	long long off = 0;
	int rc = 0;
	while (!rc && fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		line[strcspn(line, "\n")] = 0;
		char *eq = strchr(line, '=');
		if (!eq && line[0])
			rc = ct_error_set(err, EINVAL, off, "line without '=' at byte %lld", off);
		else if (eq) {
			*eq = 0;
			summary_set(s, line, eq + 1);
		}
		off += (long long)len;
	}
	if (!rc && ferror(f))
		rc = -EIO;
	fclose(f);
	return rc;
}
