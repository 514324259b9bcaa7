/*
 * finalize.c — an output directory after the program exited: temporary files removed,
 * profiles rebuilt from the last checkpoint where the agent's final write never came, and
 * the children that wrote nothing named with their reason (finalize.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/finalize.h"
#include "libtrace/ckpt.h"
#include "libtrace/outdir.h"
#include "libtrace/pprof.h"
#include "libtrace/procfs.h"
#include "libtrace/safefile.h"

/* The journal's profiles and a summary.txt saying where they came from. 0 or -errno. */
static int rebuild(const char *dir, const char *journal)
{
	ct_ckpt *c;
	ct_error err = {.offset = -1};
	int rc = ct_ckpt_read_file(journal, &c, &err);
	if (rc < 0) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", journal, err.msg);
		return rc;
	}
	static const struct {
		ct_ckpt_kind kind;
		const char *file;
	} outs[] = {{CT_CKPT_CPU, CT_FILE_CPU},
		    {CT_CKPT_HEAP, CT_FILE_HEAP},
		    {CT_CKPT_MUTEX, CT_FILE_MUTEX},
		    {CT_CKPT_BLOCK, CT_FILE_BLOCK}};
	ct_summary s = {0};
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		ct_profile *p = ct_ckpt_profile(c, outs[i].kind);
		if (!p)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, outs[i].file);
		int w = ct_pprof_write_file(p, path);
		ct_profile_free(p);
		if (w < 0) {
			size_t used = strlen(s.errors);
			snprintf(s.errors + used, sizeof(s.errors) - used, "cannot write %s: %s\n",
				 outs[i].file, strerror(-w));
		}
	}
	const ct_ckpt_info *in = ct_ckpt_get_info(c);
	s.pid = (int)in->start.pid;
	snprintf(s.cmd, sizeof(s.cmd), "%s", in->start.cmd);
	snprintf(s.engine, sizeof(s.engine), "%s", in->start.engine);
	snprintf(s.reason, sizeof(s.reason), "%s", in->start.reason);
	s.samples = in->last.samples;
	s.lost = in->last.lost;
	s.threads = in->last.threads;
	s.events_lost = in->last.events_lost;
	double at = in->last.mono_ns > in->start.mono_ns
			    ? (double)(in->last.mono_ns - in->start.mono_ns) / 1e9
			    : 0;
	snprintf(s.checkpoint, sizeof(s.checkpoint),
		 "profiles rebuilt from the last checkpoint, %.3f s after start (%llu "
		 "checkpoints): the process ended without the agent's final write (killed, or "
		 "exited without libc)",
		 at, (unsigned long long)in->commits);
	ct_ckpt_free(c);
	rc = ct_summary_write(dir, &s);
	if (rc < 0)
		fprintf(stderr, "ctrace: cannot write %s/%s: %s\n", dir, CT_FILE_SUMMARY,
			strerror(-rc));
	return rc;
}

/* The start time (clock ticks since boot) and state of process pid, from its stat; 0 when
 * it is gone. */
static unsigned long long start_ticks(int pid, char *state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	const char *f = ct_procfs_stat_fields(path, buf, sizeof(buf));
	unsigned long long t = 0;
	/* the state (field 3), then fields 4..21, then starttime (field 22) */
	if (!f || sscanf(f,
			 "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s "
			 "%*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			 state, &t) != 2)
		return 0;
	return t;
}

/* Whether pid still runs and started no earlier than `ctrace record`: a process of the run
 * that outlived the command (a daemon, a straggler), not an older one that has its pid. */
static int run_alive(int pid)
{
	char mine_state, state;
	unsigned long long mine = start_ticks((int)getpid(), &mine_state);
	unsigned long long theirs = pid > 0 ? start_ticks(pid, &state) : 0;
	return theirs && state != 'Z' && theirs >= mine;
}

/* The pid a child folder's name gives (DIR/<pid>), 0 for another or a pre-exec one. */
static int folder_pid(const char *dir)
{
	const char *b = strrchr(dir, '/');
	b = b ? b + 1 : dir;
	return ct_outdir_is_child(b) && !ct_outdir_is_pre_exec(b) ? atoi(b) : 0;
}

static void finalize_one(const char *dir, ct_finalize_stats *st)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (ct_outdir_is_temp(e->d_name) && e->d_type != DT_DIR) {
			if (unlinkat(dirfd(d), e->d_name, 0) == 0)
				st->temps_removed++;
		} else if (ct_outdir_is_child(e->d_name) && e->d_type == DT_DIR) {
			char sub[PATH_MAX];
			snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
			finalize_one(sub, st); /* a child's children nest */
		}
	}
	closedir(d);
	char summary[PATH_MAX], journal[PATH_MAX];
	snprintf(summary, sizeof(summary), "%s/%s", dir, CT_FILE_SUMMARY);
	snprintf(journal, sizeof(journal), "%s/%s", dir, CT_FILE_CHECKPOINT);
	struct stat sb;
	if (lstat(journal, &sb) != 0 || !S_ISREG(sb.st_mode))
		return;
	if (access(summary, F_OK) == 0) {
		unlink(journal); /* the final write came; only the journal's removal did not */
		return;
	}
	if (run_alive(folder_pid(dir)))
		return; /* it writes its files when it ends */
	if (rebuild(dir, journal) == 0) {
		st->from_checkpoint++;
		unlink(journal);
	} else {
		st->bad_checkpoint++;
	}
}

void ct_finalize_dir(const char *dir, ct_finalize_stats *st)
{
	*st = (ct_finalize_stats){0};
	finalize_one(dir, st);
}

/* One process of DIR/.children: its last start line's command and its last end line. */
typedef struct {
	int pid;
	char folder[64]; /* relative to DIR: "<pid>", or "<ppid>/<pid>" for a grandchild */
	char cmd[200];
	char end[300];
} child_rec;

static child_rec *find_or_add(child_rec **v, size_t *n, int pid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].pid == pid)
			return &(*v)[i];
	child_rec *nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return NULL;
	*v = nv;
	nv[*n] = (child_rec){.pid = pid};
	return &nv[(*n)++];
}

/* Why pid's folder holds no summary, from its end line and what the folder holds. */
static void reason(const char *dir, const child_rec *c, char *out, size_t cap)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, c->folder);
	struct stat sb;
	int folder = stat(p, &sb) == 0;
	if (c->end[0])
		snprintf(out, cap, "%s", c->end);
	else if (folder)
		snprintf(out, cap,
			 "its folder holds no summary and no checkpoint: it ended before its "
			 "first checkpoint without the agent's final write (SIGKILL, the OOM "
			 "killer, or a raw exit)");
	else
		snprintf(out, cap,
			 "no agent output: it ended without the agent's final write before its "
			 "first checkpoint (SIGKILL, the OOM killer, a raw exit), or exec'd a "
			 "program the agent cannot load into");
}

/* DIR/.children for reading, or NULL. */
static FILE *open_children(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, CT_FILE_CHILDREN);
	int fd = ct_open_regular(path);
	FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!in && fd >= 0)
		close(fd);
	return in;
}

int ct_finalize_report(FILE *f, const char *dir)
{
	FILE *in = open_children(dir);
	if (!in)
		return 0;
	child_rec *v = NULL;
	size_t n = 0;
	char line[512];
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = 0;
		int pid, off = 0;
		char what[8];
		if (sscanf(line, "%d %7s %n", &pid, what, &off) < 2 || pid <= 0)
			continue;
		child_rec *c = find_or_add(&v, &n, pid);
		if (!c)
			break;
		if (strcmp(what, "start") == 0) {
			int k = 0;
			if (sscanf(line + off, "%63s %n", c->folder, &k) < 1)
				continue;
			snprintf(c->cmd, sizeof(c->cmd), "%s", line + off + k);
			c->end[0] = 0; /* an exec starts over */
		} else if (strcmp(what, "end") == 0) {
			snprintf(c->end, sizeof(c->end), "%s", line + off);
		}
	}
	fclose(in);
	int nothing = 0, quiet = 0;
	for (size_t i = 0; i < n; i++) {
		char sp[PATH_MAX];
		snprintf(sp, sizeof(sp), "%s/%s/%s", dir, v[i].folder, CT_FILE_SUMMARY);
		if (access(sp, F_OK) == 0)
			continue;
		if (strncmp(v[i].end, "nothing", 7) == 0) {
			quiet++; /* recorded nothing, as intended: counted, not listed */
			continue;
		}
		if (!v[i].end[0] && run_alive(v[i].pid)) {
			fprintf(f,
				"ctrace: child %d (%s) still runs (it outlived the command): it "
				"writes "
				"%s/%s when it ends; `ctrace symbolize %s` then names its frames\n",
				v[i].pid, v[i].cmd[0] ? v[i].cmd : "?", dir, v[i].folder, dir);
			continue;
		}
		char why[400];
		reason(dir, &v[i], why, sizeof(why));
		fprintf(f, "ctrace: child %d (%s) wrote nothing: %s\n", v[i].pid,
			v[i].cmd[0] ? v[i].cmd : "?", why);
		nothing++;
	}
	if (quiet)
		fprintf(f, "ctrace: %d child process%s recorded no samples or events (no folder)\n",
			quiet, quiet == 1 ? "" : "es");
	free(v);
	return nothing;
}

int ct_finalize_wait(const char *dir, int ms)
{
	int left = 0;
	for (int waited = 0;; waited += 20) {
		FILE *in = open_children(dir);
		if (!in)
			return 0;
		/* A pid with a start line and no end line after it, still running. */
		int pids[64], n = 0;
		char line[512];
		while (fgets(line, sizeof(line), in)) {
			int pid, k;
			char what[8];
			if (sscanf(line, "%d %7s", &pid, what) != 2 || pid <= 0)
				continue;
			for (k = 0; k < n && pids[k] != pid; k++)
				;
			if (strcmp(what, "start") == 0 && k == n && n < 64)
				pids[n++] = pid;
			else if (strcmp(what, "end") == 0 && k < n)
				pids[k] = pids[--n];
		}
		fclose(in);
		left = 0;
		for (int k = 0; k < n; k++)
			left += run_alive(pids[k]);
		if (!left || waited >= ms)
			return left;
		usleep(20000);
	}
}
