/*
 * record.c — `ctrace record`: run a command with the agent preloaded, in three steps.
 *
 * Parse: options, the mode list (libtrace/outdir.h), the command. Before anything runs,
 * refuse what cannot work: an -o path that is not a directory, a program the agent cannot
 * load into (statically linked: no PT_INTERP, cli/exe.h). Spawn: find libctrace.so next
 * to the binary (../lib, as built and as installed), clear the output directory of a
 * previous run's files, fork and exec CMD with LD_PRELOAD and CTRACE_* set; the child
 * asks to be SIGKILLed if ctrace dies (PR_SET_PDEATHSIG, checked against a parent already
 * gone), so it is never left running unobserved. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
 * SIGUSR2, SIGALRM and SIGWINCH (CT_FORWARDED) sent to ctrace alone are forwarded; one sent to the
 * process group (a terminal's Ctrl-C, `kill -PGID`) or to the cgroup has reached the program
 * already and is not sent twice (sentinel.h). Wait: once CMD has exited, symbolize the profiles,
 * print a one-paragraph summary on stderr and exit with CMD's status (128 + N when it was killed by
 * signal N; 127 when it could not be started).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exe.h"
#include "cli/finalize.h"
#include "cli/sentinel.h"
#include "libtrace/httpaddr.h"
#include "libtrace/outdir.h"
#include "libtrace/symbolize.h"
#include "libtrace/tracesched.h"

static volatile pid_t child;
/* --http: the agent's "not serving ..." was printed as it started; the summary's copy of it
 * is not printed again. */
static bool http_warned;

/* A signal a process sent: to ctrace alone, it goes on to the program; to the process group
 * or the cgroup (the sentinel got it too), the program has it already — if it is still in
 * our process group. One that left it (setpgid, setsid: `timeout`, a supervisor) gets
 * every signal forwarded, since a kill of our group does not reach it (a cgroup-wide one,
 * systemd's, then reaches it twice). */
static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	pid_t c = child;
	if (c <= 0 || !si || (si->si_code != SI_USER && si->si_code != SI_QUEUE))
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	uint64_t now = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
	if (getpgid(c) == getpgrp() && ct_sentinel_saw(sig, now, 50))
		return;
	if (child > 0)
		kill(child, sig);
}

static int find_agent(char *out, size_t cap)
{
	const char *env = getenv("CTRACE_AGENT");
	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return access(out, R_OK) == 0 ? 0 : -ENOENT;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	static const char *const rel[] = {"../lib/libctrace.so", "../lib/ctrace/libctrace.so",
					  "libctrace.so"};
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (snprintf(out, cap, "%s/%s", exe, rel[i]) >= (int)cap)
			continue;
		char real[PATH_MAX];
		if (realpath(out, real) && access(real, R_OK) == 0) {
			snprintf(out, cap, "%s", real);
			return 0;
		}
	}
	return -ENOENT;
}

/* Removes what a previous run left in dir (our files only) so results never mix. */
static void clear_previous(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		char p[PATH_MAX];
		if (snprintf(p, sizeof(p), "%s/%s", dir, n) >= (int)sizeof(p))
			continue;
		if (ct_outdir_is_child(n) && e->d_type == DT_DIR) {
			clear_previous(p);
			rmdir(p);
		} else if (ct_outdir_is_ours(n)) {
			unlink(p);
		}
	}
	closedir(d);
}

static void print_summary(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, CT_FILE_SUMMARY);
	ct_summary sum;
	ct_error err = {.offset = -1};
	int rc = ct_summary_read(path, &sum, &err);
	char files[1024] = "";
	int children = 0, images = 0;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t len = strlen(e->d_name);
			if (ct_outdir_is_pre_exec(e->d_name))
				images++;
			else if (ct_outdir_is_child(e->d_name))
				children++;
			else if ((ct_outdir_profile_of(e->d_name) ||
				  strcmp(e->d_name, CT_FILE_TRACE) == 0) &&
				 strlen(files) + len + 2 < sizeof(files)) {
				strcat(files, " ");
				strcat(files, e->d_name);
			}
		}
		closedir(d);
	}
	if (rc == -EINVAL) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path, err.msg);
		return;
	}
	struct statvfs vs;
	if (rc && statvfs(dir, &vs) == 0 && (uint64_t)vs.f_bavail * vs.f_frsize < 256 * 1024) {
		fprintf(stderr,
			"ctrace: the agent wrote no summary to %s: its file system is full "
			"(%llu KiB free)\n",
			dir, (unsigned long long)((uint64_t)vs.f_bavail * vs.f_frsize / 1024));
		return;
	}
	if (rc) {
		struct rlimit rl; /* the program's, unless it changed its own */
		char fds[160] = "";
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 256)
			snprintf(fds, sizeof(fds),
				 ", or did it use every file descriptor its RLIMIT_NOFILE of %llu "
				 "allows, leaving the agent none to write with",
				 (unsigned long long)rl.rlim_cur);
		fprintf(stderr,
			"ctrace: the agent wrote no summary to %s (was the program killed "
			"before its first checkpoint, is the disk full, was it statically "
			"linked, did it exec away%s?)\n",
			dir, fds);
		return;
	}
	if (sum.http[0] && strncmp(sum.http, "serving", 7) != 0 && !http_warned)
		fprintf(stderr, "ctrace: agent: http: %s\n", sum.http);
	for (const char *m = sum.errors; *m;) {
		size_t n = strcspn(m, "\n");
		fprintf(stderr, "ctrace: agent: %.*s\n", (int)n, m);
		m += n + (m[n] == '\n');
	}
	fprintf(stderr,
		"ctrace: wrote %s:%s; %" PRIu64 " CPU samples from %" PRIu64 " thread%s, %" PRIu64
		" lost; engine %s (%s)\n",
		dir, *files ? files : " (no profiles)", sum.samples, sum.threads,
		sum.threads == 1 ? "" : "s", sum.lost, sum.engine, sum.reason);
	if (sum.events_lost)
		fprintf(stderr,
			"ctrace: %" PRIu64 " hook events lost on full rings (heap, lock, block and "
			"trace records; the profiles say which)\n",
			sum.events_lost);
	if (sum.config[0])
		fprintf(stderr, "ctrace: warning: settings not used as given: %s\n", sum.config);
	if (sum.warning[0])
		fprintf(stderr, "ctrace: warning: %s\n", sum.warning);
	if (sum.annotate_misuse[0])
		fprintf(stderr, "ctrace: annotation calls ignored or truncated: %s\n",
			sum.annotate_misuse);
	if (sum.checkpoint[0])
		fprintf(stderr, "ctrace: %s\n", sum.checkpoint);
	if (sum.heap_incomplete[0])
		fprintf(stderr, "ctrace: heap profile incomplete: %s\n", sum.heap_incomplete);
	if (children)
		fprintf(stderr, "ctrace: %d child process%s recorded in %s/<pid>/\n", children,
			children == 1 ? "" : "es", dir);
	if (images)
		fprintf(stderr, "ctrace: %d program%s before an exec recorded in %s/<pid>.<n>/\n",
			images, images == 1 ? "" : "s", dir);
}

/* Alive threads besides main that record's summary lists with their stacks; more (a JVM's
 * or node's helper threads, a pool never joined) get one line and `report --sched`. */
#define RECORD_ALIVE_LISTED 4

/* One line for many threads alive at the end: how many, and what they were doing. */
static void put_alive_brief(const ct_trace_model *m, uint32_t alive, const char *dir)
{
	uint32_t by[CT_WAIT_NREASONS] = {0}, other = 0;
	for (uint32_t i = 0; i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		if (!th->alive || th->tid == (uint32_t)m->trace->pid)
			continue;
		const ct_interval *iv = th->niv ? &th->iv[th->niv - 1] : NULL;
		if (iv && iv->state == CT_TS_WAITING && iv->reason < CT_WAIT_NREASONS)
			by[iv->reason]++;
		else
			other++;
	}
	fprintf(stderr,
		"ctrace: trace: %" PRIu32 " threads besides main were alive when it ended (",
		alive);
	const char *sep = "waiting: ";
	for (int r = 0; r < CT_WAIT_NREASONS; r++)
		if (by[r]) {
			fprintf(stderr, "%s%s %" PRIu32, sep,
				ct_wait_reason_name((ct_wait_reason)r), by[r]);
			sep = ", ";
		}
	if (other)
		fprintf(stderr, "%snot waiting %" PRIu32, *sep == 'w' ? "" : "; ", other);
	fprintf(stderr, "); `ctrace report --sched %s` lists them with their stacks\n", dir);
}

/* What the trace says at a glance: its threads, whether states were merged, and the
 * threads other than the main one that were still alive at exit (leaked, stuck, or
 * helpers never joined): listed when few, summed up when many. */
static void print_trace(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, CT_FILE_TRACE);
	ct_trace *t = NULL;
	ct_trace_model *m = NULL;
	ct_error err = {.offset = -1};
	if (access(path, F_OK) != 0)
		return;
	if (ct_trace_read_file(path, &t, &err) != 0) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path, err.msg);
		return;
	}
	if (ct_trace_model_build(t, &m) != 0) {
		fprintf(stderr, "ctrace: cannot read %s: %s\n", path, strerror(ENOMEM));
		ct_trace_free(t);
		return;
	}
	uint32_t stuck = 0;
	for (uint32_t i = 0; i < m->nthreads; i++)
		stuck += m->threads[i].alive && m->threads[i].tid != (uint32_t)t->pid;
	fprintf(stderr, "ctrace: trace %s: %" PRIu32 " thread%s, %" PRIu64 " events lost%s\n", path,
		m->nthreads, m->nthreads == 1 ? "" : "s", t->lost - t->capped,
		t->truncated ? " (truncated: the recording was cut)"
		: t->capped  ? " (stopped at its size cap: CTRACE_TRACE_MAX_MB)"
			     : "");
	if (t->capped)
		stuck = 0; /* alive when the trace stopped, not at exit */
	if (m->merged)
		fprintf(stderr,
			"ctrace: trace: no context switches with the %s engine: running and "
			"runnable are merged into one state, \"on CPU or runnable\"\n",
			t->engine);
	if (stuck > RECORD_ALIVE_LISTED) {
		put_alive_brief(m, stuck, dir);
	} else if (stuck) {
		err.msg[0] = '\0';
		if (ct_symbolize_profile(t->prof, NULL, &err) != 0)
			fprintf(stderr, "ctrace: cannot symbolize %s: %s\n", path, err.msg);
		fflush(stdout);
		ct_trace_report_leaked(stderr, m);
	}
	ct_trace_model_free(m);
	ct_trace_free(t);
}

/* What finalizing the directory did, and the children that wrote nothing. */
static void print_finalized(const char *dir, const ct_finalize_stats *fin)
{
	if (fin->from_checkpoint)
		fprintf(stderr,
			"ctrace: %d process%s ended without the agent's final write: profiles "
			"rebuilt from %s last checkpoint (summary.txt says so)\n",
			fin->from_checkpoint, fin->from_checkpoint == 1 ? "" : "es",
			fin->from_checkpoint == 1 ? "its" : "their");
	if (fin->temps_removed)
		fprintf(stderr, "ctrace: removed %d temporary file%s a killed writer left\n",
			fin->temps_removed, fin->temps_removed == 1 ? "" : "s");
	ct_finalize_report(stderr, dir);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ctrace record [-o DIR] [-F HZ] [-e LIST] [--sampler perf|timer] "
		   "[--http ADDR] [-q] -- CMD [ARGS...]\n"
		   "  -o DIR        output directory (default ctrace.out)\n"
		   "  -F HZ         CPU sampling frequency (default 99)\n"
		   "  -e LIST       what to record: cpu,heap,lock,block,sched (default all)\n"
		   "  --sampler S   perf (default where permitted) or timer\n"
		   "  --heap-rate B heap sampling: mean bytes between samples (default 524288)\n"
		   "  --http ADDR   serve live profiles (Go's /debug/pprof) on 127.0.0.1:PORT,\n"
		   "                [::1]:PORT or unix:PATH\n"
		   "  --no-symbolize  leave addresses for `ctrace symbolize`\n"
		   "  -q            no summary\n");
}

/* What `ctrace record` was asked to do. */
struct record_args {
	const char *dir, *hz, *modes, *sampler, *heap_rate, *http;
	bool quiet, symbolize;
	char **cmd; /* CMD [ARGS...], NULL-terminated */
};

/* Whether s is a whole decimal number in lo..hi, as the agent reads its settings. */
static bool whole_in(const char *s, uint64_t lo, uint64_t hi)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	return *s >= '0' && *s <= '9' && !*end && !errno && x >= lo && x <= hi;
}

/* Parses argv into a; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct record_args *a)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"freq", required_argument, NULL, 'F'},
		{"events", required_argument, NULL, 'e'},
		{"sampler", required_argument, NULL, 's'},
		{"heap-rate", required_argument, NULL, 'r'},
		{"http", required_argument, NULL, 'H'},
		{"no-symbolize", no_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*a = (struct record_args){.dir = "ctrace.out", .symbolize = true};
	unsigned m;
	ct_error err = {.offset = -1};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:F:e:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->dir = optarg;
			break;
		case 'F':
			a->hz = optarg;
			if (!whole_in(optarg, 1, 100000)) {
				fprintf(stderr,
					"ctrace: -F wants a frequency in Hz (1..100000), "
					"not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'e':
			a->modes = optarg;
			if (ct_modes_parse(optarg, &m, &err) != 0) {
				fprintf(stderr, "ctrace: -e %s: %s\n", optarg, err.msg);
				return 2;
			}
			break;
		case 's':
			a->sampler = optarg;
			if (strcmp(optarg, "perf") && strcmp(optarg, "timer")) {
				fprintf(stderr, "ctrace: --sampler is perf or timer, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			a->heap_rate = optarg;
			if (!whole_in(optarg, 1, UINT64_MAX)) {
				fprintf(stderr,
					"ctrace: --heap-rate wants the mean bytes between samples "
					"(1 for every allocation), not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'H':
			a->http = optarg;
			if (ct_http_addr_check(optarg) < 0) {
				fprintf(stderr, "ctrace: --http %s: %s\n", optarg,
					ct_http_addr_error(ct_http_addr_check(optarg)));
				return 2;
			}
			break;
		case 'n':
			a->symbolize = false;
			break;
		case 'q':
			a->quiet = true;
			break;
		default:
			return ct_cli_opt_other(c, usage);
		}
	}
	int missing = ct_cli_operand_missing(argc, "record needs a command to run", usage);
	if (missing >= 0)
		return missing;
	a->cmd = argv + optind;
	return -1;
}

/* Whether dir may take a recording: it is empty, or an earlier recording's (the agent's
 * .owner or the CLI's .children is there). Anything else is the user's: clearing the earlier
 * run's files and symbolizing the profiles under dir would delete or rewrite it. Otherwise
 * one of its names goes to other. */
static bool dir_takes_recording(const char *dir, char *other, size_t size)
{
	DIR *d = opendir(dir);
	if (!d)
		return true; /* the agent reports what it cannot write */
	struct dirent *e;
	bool ours = false;
	other[0] = 0;
	while ((e = readdir(d)) && !ours) {
		const char *n = e->d_name;
		if (strcmp(n, CT_FILE_OWNER) == 0 || strcmp(n, CT_FILE_CHILDREN) == 0)
			ours = true;
		else if (strcmp(n, ".") != 0 && strcmp(n, "..") != 0 && !other[0])
			snprintf(other, size, "%s", n);
	}
	closedir(d);
	return ours || !other[0];
}

/* Makes the output directory ready: refuses a path that exists and is not a directory
 * (a file, or a symlink to one: the agent could write nothing there) or holds the user's
 * files, creates it, clears a previous run's files. Its absolute path goes to absdir. 0, or the
 * exit status. */
static int prepare_dir(const char *dir, char *absdir, int *created)
{
	struct stat st;
	*created = 0;
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"ctrace: -o %s: it exists and is not a directory; -o names the output "
			"directory (ctrace.out by default)\n",
			dir);
		return 2;
	}
	if (mkdir(dir, 0777) == 0) {
		*created = 1;
	} else if (errno != EEXIST) {
		fprintf(stderr, "ctrace: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (!realpath(dir, absdir) || stat(absdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ctrace: cannot use %s as the output directory: %s\n", dir,
			strerror(errno ? errno : ENOTDIR));
		return 1;
	}
	char other[NAME_MAX + 1];
	if (!dir_takes_recording(absdir, other, sizeof(other))) {
		fprintf(stderr,
			"ctrace: -o %s: it holds files that are not a ctrace recording (such as "
			"%s); "
			"name a new or empty directory, or one ctrace recorded to before\n",
			dir, other);
		return 2;
	}
	clear_previous(absdir);
	return 0;
}

/* Refuses a program the agent cannot load into (statically linked, another machine)
 * before running it. 0, or the exit status. */
static int check_program(const char *cmd)
{
	char path[PATH_MAX], why[256];
	if (ct_exe_resolve(cmd, path, sizeof(path)) != 0)
		return 0; /* the exec reports it */
	if (ct_exe_check_loadable(path, why, sizeof(why)) != -ENOEXEC)
		return 0;
	fprintf(stderr, "ctrace: cannot record %s: %s; not running it\n", path, why);
	return 1;
}

/* In the child: the environment for the agent, then exec. Never returns. */
static void exec_child(const struct record_args *a, const char *agent, const char *absdir,
		       pid_t parent, int errfd)
{
	/* Die with ctrace, never left running unobserved; the parent may already be gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	const char *pre = getenv("LD_PRELOAD");
	char preload[2 * PATH_MAX];
	snprintf(preload, sizeof(preload), "%s%s%s", agent, pre && *pre ? ":" : "", pre ? pre : "");
	setenv("LD_PRELOAD", preload, 1);
	setenv("CTRACE_OUT", absdir, 1);
	/* The run's name (agent/exechooks.c: ct_out_claim): DIR stays its first process's. */
	uint64_t run = 0;
	if (getrandom(&run, sizeof(run), GRND_NONBLOCK) != (ssize_t)sizeof(run))
		run = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	char id[24];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)run);
	setenv("CTRACE_RUN", id, 1);
	if (a->hz)
		setenv("CTRACE_HZ", a->hz, 1);
	if (a->modes)
		setenv("CTRACE_MODES", a->modes, 1);
	if (a->sampler)
		setenv("CTRACE_SAMPLER", a->sampler, 1);
	if (a->heap_rate)
		setenv("CTRACE_HEAP_RATE", a->heap_rate, 1);
	if (a->http)
		setenv("CTRACE_HTTP", a->http, 1);
	execvp(a->cmd[0], a->cmd);
	int e = errno;
	if (write(errfd, &e, sizeof(e)) != sizeof(e))
		_exit(127);
	_exit(e == ENOENT ? 127 : 126);
}

/* Starts the program with the agent, forwarding the signals sent to ctrace (CT_FORWARDED).
 * Returns its pid, or -1 (error printed); *errfd reads the exec's errno if it fails. */
static pid_t spawn(const struct record_args *a, const char *agent, const char *absdir, int *errfd)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "ctrace: pipe: %s\n", strerror(errno));
		return -1;
	}
	int sr = ct_sentinel_start();
	if (sr < 0)
		fprintf(stderr,
			"ctrace: warning: no sentinel process (%s): a signal sent to the "
			"whole process group may reach the program twice\n",
			strerror(-sr));
	static const int forwarded[] = CT_FORWARDED;
	enum { NFWD = sizeof(forwarded) / sizeof(forwarded[0]) };
	struct sigaction sa, old[NFWD];
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask); /* one forward at a time: they share the sentinel's reports */
	for (int i = 0; forwarded[i]; i++)
		sigaddset(&sa.sa_mask, forwarded[i]);
	for (int i = 0; forwarded[i]; i++)
		sigaction(forwarded[i], &sa, &old[i]);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ctrace: fork: %s\n", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		for (int i = 0; forwarded[i]; i++)
			sigaction(forwarded[i], &old[i], NULL);
		exec_child(a, agent, absdir, parent, pipefd[1]);
	}
	child = pid;
	close(pipefd[1]);
	*errfd = pipefd[0];
	return pid;
}

/* --http: what the agent made of it (DIR/.http, written as it starts): the address it
 * serves on (the real port when asked for port 0), or why it does not serve. Waits up to
 * 3 s for it, or until the program ends (1 then, with its wait status in *status). */
static int announce_http(const char *absdir, pid_t pid, int *status)
{
	char path[PATH_MAX + 16], line[400] = "";
	snprintf(path, sizeof(path), "%s/%s", absdir, CT_FILE_HTTP);
	int reaped = 0;
	for (int ms = 0; ms < 3000 && !reaped; ms += 10) {
		FILE *f = fopen(path, "re");
		if (f) {
			bool whole = fgets(line, sizeof(line), f) && strchr(line, '\n');
			fclose(f);
			if (whole && strncmp(line, "serving ", 8) == 0) {
				fprintf(stderr, "ctrace: %s", line);
				return 0;
			}
			if (whole) {
				fprintf(stderr,
					"ctrace: warning: --http: %.*s (recording goes on)\n",
					(int)strcspn(line, "\n"), line);
				http_warned = true;
				return 0;
			}
		}
		reaped = waitpid(pid, status, WNOHANG) == pid;
		if (!reaped)
			nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	fprintf(stderr, "ctrace: warning: --http: the agent did not say whether it serves (%s)\n",
		reaped ? "the program ended first" : "nothing within 3 s");
	return reaped;
}

/* Waits for the program; *status gets its wait status. Returns the exec's errno when it
 * could not be started, else 0. */
static int wait_child(const struct record_args *a, const char *absdir, pid_t pid, int errfd,
		      int *status)
{
	int exec_errno = 0;
	ssize_t got;
	do
		got = read(errfd, &exec_errno, sizeof(exec_errno));
	while (got < 0 && errno == EINTR);
	close(errfd);
	int reaped = got == 0 && a->http && announce_http(absdir, pid, status);
	while (!reaped && waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	child = 0;
	return got == (ssize_t)sizeof(exec_errno) ? exec_errno : 0;
}

int ct_cmd_record(int argc, char **argv)
{
	struct record_args a;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	char agent[PATH_MAX], absdir[PATH_MAX];
	if (find_agent(agent, sizeof(agent)) < 0) {
		fprintf(stderr, "ctrace: cannot find libctrace.so next to ctrace (../lib) "
				"or in CTRACE_AGENT\n");
		return 1;
	}
	int created;
	if ((rc = check_program(a.cmd[0])) || (rc = prepare_dir(a.dir, absdir, &created)))
		return rc;
	int errfd, status = 0;
	pid_t pid = spawn(&a, agent, absdir, &errfd);
	if (pid < 0)
		return 1;
	int exec_errno = wait_child(&a, absdir, pid, errfd, &status);
	ct_sentinel_stop();
	if (exec_errno) {
		if (created) { /* nothing ran: no directory left behind */
			clear_previous(absdir);
			rmdir(absdir);
		}
		char path[PATH_MAX], what[PATH_MAX + 64];
		if (exec_errno == ENOENT && ct_exe_resolve(a.cmd[0], path, sizeof(path)) == 0 &&
		    ct_exe_missing_interp(path, what, sizeof(what)))
			fprintf(stderr, "ctrace: cannot run '%s': %s\n", a.cmd[0], what);
		else
			fprintf(stderr, "ctrace: cannot run '%s': %s\n", a.cmd[0],
				strerror(exec_errno));
		return exec_errno == ENOENT ? 127 : 126;
	}
	ct_finalize_stats fin;
	FILE *real = ct_cli_escape_stderr_begin(); /* the program's thread and module names */
	ct_finalize_wait(absdir, 1000); /* children that outlived the command: a straggler */
	ct_finalize_dir(absdir, &fin);
	if (a.symbolize)
		ct_symbolize_dir(absdir, a.quiet);
	if (!a.quiet) {
		print_summary(a.dir);
		print_trace(a.dir);
		print_finalized(a.dir, &fin);
	}
	ct_cli_escape_stderr_end(real);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		if (!a.quiet)
			fprintf(stderr, "ctrace: %s was killed by signal %d (%s)\n", a.cmd[0],
				WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	return 1;
}
