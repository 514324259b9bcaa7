/* outdir.c — mode names, output file names and summary.txt, defined once (outdir.h). */
#include "libtrace/outdir.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
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
	       strcmp(name, CT_FILE_CHILDREN) == 0 || strcmp(name, CT_FILE_HTTP) == 0;
}

bool ct_outdir_is_temp(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	return t && t > name && t[5] != 0;
}

bool ct_outdir_is_child(const char *name)
{
	size_t pid = strspn(name, "0123456789");
	if (name[0] < '1' || name[0] > '9')
		return false;
	if (!name[pid])
		return true;
	const char *n = name + pid + 1; /* <pid>.<n>: an image before an exec */
	return name[pid] == '.' && n[0] >= '1' && n[0] <= '9' &&
	       strspn(n, "0123456789") == strlen(n);
}

bool ct_outdir_is_pre_exec(const char *name)
{
	return ct_outdir_is_child(name) && strchr(name, '.') != NULL;
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
	if (s->config[0])
		put_str(f, CT_SUMMARY_CONFIG, s->config);
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

/* The keys summary_set stores as they are: each field's type and place in ct_summary. */
enum { SV_INT, SV_U64, SV_DOUBLE, SV_STR };
#define SUMMARY_KEY(key, type, field)                                                              \
	{                                                                                          \
		key, type, offsetof(ct_summary, field), sizeof(((ct_summary *)0)->field)           \
	}
static const struct {
	const char *key;
	int type;
	size_t off, size;
} summary_keys[] = {
	SUMMARY_KEY(CT_SUMMARY_CHECKPOINT_MAX_MS, SV_DOUBLE, checkpoint_max_ms),
	SUMMARY_KEY(CT_SUMMARY_PID, SV_INT, pid),
	SUMMARY_KEY(CT_SUMMARY_CMD, SV_STR, cmd),
	SUMMARY_KEY(CT_SUMMARY_ENGINE, SV_STR, engine),
	SUMMARY_KEY(CT_SUMMARY_REASON, SV_STR, reason),
	SUMMARY_KEY(CT_SUMMARY_SAMPLES, SV_U64, samples),
	SUMMARY_KEY(CT_SUMMARY_LOST, SV_U64, lost),
	SUMMARY_KEY(CT_SUMMARY_THREADS, SV_U64, threads),
	SUMMARY_KEY(CT_SUMMARY_COLLECTOR_CPU_MS, SV_DOUBLE, collector_cpu_ms),
	SUMMARY_KEY(CT_SUMMARY_HTTP, SV_STR, http),
	SUMMARY_KEY(CT_SUMMARY_EVENTS_LOST, SV_U64, events_lost),
	SUMMARY_KEY(CT_SUMMARY_WARNING, SV_STR, warning),
	SUMMARY_KEY(CT_SUMMARY_ANNOTATE_MISUSE, SV_STR, annotate_misuse),
	SUMMARY_KEY(CT_SUMMARY_CHECKPOINTS, SV_U64, checkpoints),
	SUMMARY_KEY(CT_SUMMARY_CHECKPOINT_CPU_MS, SV_DOUBLE, checkpoint_cpu_ms),
	SUMMARY_KEY(CT_SUMMARY_CHECKPOINT, SV_STR, checkpoint),
	SUMMARY_KEY(CT_SUMMARY_HEAP_INCOMPLETE, SV_STR, heap_incomplete),
	SUMMARY_KEY(CT_SUMMARY_CONFIG, SV_STR, config),
};

/* Stores one key's value into s; unknown keys are ignored. */
static void summary_set(ct_summary *s, const char *key, const char *v)
{
	if (!strcmp(key, CT_SUMMARY_ERROR)) {
		size_t used = strlen(s->errors);
		if (used + strlen(v) + 2 <= sizeof(s->errors))
			snprintf(s->errors + used, sizeof(s->errors) - used, "%s\n", v);
		return;
	}
	for (size_t i = 0; i < sizeof(summary_keys) / sizeof(summary_keys[0]); i++) {
		if (strcmp(key, summary_keys[i].key))
			continue;
		void *field = (char *)s + summary_keys[i].off;
		switch (summary_keys[i].type) {
		case SV_INT:
			*(int *)field = atoi(v);
			break;
		case SV_U64:
			*(uint64_t *)field = strtoull(v, NULL, 10);
			break;
		case SV_DOUBLE:
			*(double *)field = strtod(v, NULL);
			break;
		default:
			snprintf(field, summary_keys[i].size, "%s", v);
		}
		return;
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
