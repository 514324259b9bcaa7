/*
 * outdir.h — the vocabulary of a ctrace output directory, defined once for the agent and
 * the CLI: the recording modes and their parsing (`-e` / CTRACE_MODES), the names of the
 * files a run writes, and summary.txt — its keys, one writer and one reader.
 *
 * summary.txt is `key=value` lines (docs/env.md lists every key): pid, cmd, engine, reason,
 * samples, lost, threads, collector_cpu_ms, and one `error=` line per write failure;
 * `checkpoint=` when `ctrace record` rebuilt the profiles from a checkpoint.
 * Readers ignore keys they do not know, so keys can be added without breaking older CLIs.
 *
 * Thread-safety: the parsers and name functions are pure; ct_summary_write and
 * ct_summary_read do file I/O and may allocate (stdio), so not from a signal handler.
 */
#ifndef CT_OUTDIR_H
#define CT_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/error.h"

/* ---- modes ------------------------------------------------------------------------- */
enum {
	CT_MODE_CPU = 1,
	CT_MODE_HEAP = 2,
	CT_MODE_LOCK = 4,
	CT_MODE_BLOCK = 8,
	CT_MODE_SCHED = 16,
	CT_MODE_ALL = 31,
};

/* Parses a comma-separated list of mode names (cpu, heap, lock, block, sched; `all` for
 * every mode, `mutex` as another name for lock). *modes gets the bits of every name
 * recognized, even when the list also holds an unknown one. Returns 0, or -EINVAL when a
 * name is unknown or empty: then err says which ("unknown mode 'hepa' (modes: cpu, heap,
 * lock, block, sched, all)") with its offset in the list. */
int ct_modes_parse(const char *list, unsigned *modes, ct_error *err);

/* ---- files --------------------------------------------------------------------------- */
#define CT_FILE_CPU "cpu.pb.gz"
#define CT_FILE_HEAP "heap.pb.gz"
#define CT_FILE_HEAP_PEAK "heap-peak.pb.gz" /* the heap in use at its peak */
#define CT_FILE_MUTEX "mutex.pb.gz"
#define CT_FILE_BLOCK "block.pb.gz"
#define CT_FILE_SUMMARY "summary.txt"
#define CT_FILE_TRACE "trace.ctr"
#define CT_FILE_OWNER ".owner" /* pid of the process that owns the directory */
/* The agent's periodic checkpoints (libtrace/ckpt.h); removed once its final files are
 * written, so one left behind means the process ended without them. */
#define CT_FILE_CHECKPOINT "checkpoint.ctk"
/* In the top directory: one line per event of a process recorded in a folder of its own,
 * "<pid> start <cmd>" and "<pid> end <outcome>" (agent/out.c), for `ctrace record` to name
 * every child that wrote nothing. */
#define CT_FILE_CHILDREN ".children"
/* In the top directory: what became of CTRACE_HTTP in the run's first process, one line as
 * summary.txt's http= (agent/http.c), for `ctrace record --http` to print: the port it
 * listens on (port 0 picks one) or why it does not serve. */
#define CT_FILE_HTTP ".http"
#define CT_PROFILE_SUFFIX ".pb.gz"

/* The profiles a directory may hold, in the order they are summarized. */
typedef struct {
	const char *name; /* "cpu", "heap", "heap-peak", "mutex", "block" */
	const char *file; /* CT_FILE_* */
	unsigned mode;	  /* CT_MODE_* that writes it */
} ct_outdir_profile;

/* The table of profiles; *n gets its length. */
const ct_outdir_profile *ct_outdir_profiles(size_t *n);

/* The profile named by a file name or path ("x/heap-peak.pb.gz" → heap-peak), else NULL. */
const ct_outdir_profile *ct_outdir_profile_of(const char *path);

/* True for a name a run writes into its directory (a profile, summary, trace, owner):
 * what `ctrace record` may remove before a new run. */
bool ct_outdir_is_ours(const char *name);

/* True for a temporary file a writer creates before renaming it into place
 * (NAME.tmp.<pid>.<n>, NAME.tmp.<random>): one left behind is from a killed writer. */
bool ct_outdir_is_temp(const char *name);

/* True for the name of a child process's subdirectory (DIR/<pid>/: a decimal pid), or of
 * a process's image before it exec'd (<pid>.<n>/, n from 1: ct_outdir_is_pre_exec). */
bool ct_outdir_is_child(const char *name);
bool ct_outdir_is_pre_exec(const char *name);

/* ---- summary.txt --------------------------------------------------------------------- */
#define CT_SUMMARY_PID "pid"
#define CT_SUMMARY_CMD "cmd"
#define CT_SUMMARY_ENGINE "engine"
#define CT_SUMMARY_REASON "reason"
#define CT_SUMMARY_SAMPLES "samples"
#define CT_SUMMARY_LOST "lost"
#define CT_SUMMARY_THREADS "threads"
#define CT_SUMMARY_COLLECTOR_CPU_MS "collector_cpu_ms"
#define CT_SUMMARY_ERROR "error"
#define CT_SUMMARY_HTTP "http"
#define CT_SUMMARY_EVENTS_LOST "events_lost"
#define CT_SUMMARY_WARNING "warning"
#define CT_SUMMARY_ANNOTATE_MISUSE "annotate_misuse"
#define CT_SUMMARY_CHECKPOINT "checkpoint"
#define CT_SUMMARY_CHECKPOINT_MAX_MS "checkpoint_max_ms"
#define CT_SUMMARY_CHECKPOINTS "checkpoints"
#define CT_SUMMARY_CHECKPOINT_CPU_MS "checkpoint_cpu_ms"
#define CT_SUMMARY_HEAP_INCOMPLETE "heap_incomplete"
#define CT_SUMMARY_CONFIG "config"

typedef struct {
	/* The longest checkpoint's CPU time, with checkpoints and checkpoint_cpu_ms (below). */
	double checkpoint_max_ms;
	int pid;
	char cmd[256];		 /* the command line, arguments joined by spaces; "" when unknown */
	char engine[32];	 /* "perf", "timer" or "off" */
	char reason[256];	 /* why that engine */
	uint64_t samples;	 /* CPU samples recorded */
	uint64_t lost;		 /* CPU samples lost, bounded by hz x CPUs x duration */
	uint64_t events_lost;	 /* hook records a full ring refused (heap, locks, trace) */
	uint64_t threads;	 /* threads seen */
	double collector_cpu_ms; /* CPU time of the agent's collector thread */
	char errors[1024];	 /* write failures, one message per line, each ending in '\n' */
	char http[320];		 /* the live server (CTRACE_HTTP): where, or why not; "" */
	char warning[256];	 /* what the recording could not cover (raw clone threads); "" */
	/* misuse of include/ctrace/annotate.h: "N (kind=count ...)", "" when none */
	char annotate_misuse[512];
	/* Set by `ctrace record` when it rebuilt the profiles from the agent's last checkpoint
	 * (the process ended without the agent's final write): when and why; "" otherwise. */
	char checkpoint[256];
	uint64_t checkpoints;	   /* checkpoints the agent appended (written when any) */
	double checkpoint_cpu_ms;  /* collector CPU time they took */
	char heap_incomplete[224]; /* heap records were lost: what it did to the profile; "" */
	/* CTRACE_* settings the agent could not use as given: "NAME=VALUE: why; what instead",
	 * several joined by "; "; "" when every setting was valid */
	char config[512];
} ct_summary;

/* Writes dir/summary.txt: to a temporary name created with O_EXCL|O_NOFOLLOW (a planted
 * file or symlink is never followed or overwritten), then renamed into place. Values are
 * written on one line each (newlines in cmd/reason become spaces). 0 or -errno. */
int ct_summary_write(const char *dir, const ct_summary *s);

/* Reads a summary.txt. Unknown keys are skipped; a line without '=' is an error naming its
 * byte offset. 0, -ENOENT when absent, -EINVAL (err filled), or -errno. */
int ct_summary_read(const char *path, ct_summary *s, ct_error *err);

#endif
