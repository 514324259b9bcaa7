/*
 * record.c — `ctrace record`: run a command with the agent preloaded.
 *
 * Finds libctrace.so next to the binary (../lib, as built and as installed), clears the
 * output directory of a previous run's files, runs CMD with LD_PRELOAD and CTRACE_*
 * set, forwards SIGINT/SIGTERM/SIGHUP sent to ctrace itself (a terminal's Ctrl-C already
 * reaches the whole process group, so those are not sent twice), symbolizes the profiles
 * once CMD has exited, prints a one-paragraph summary on stderr and exits with CMD's
 * status (128 + N when it was killed by signal N; 127 when it could not be started).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "libtrace/outdir.h"

static volatile pid_t child;

static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (child > 0 && si && (si->si_code == SI_USER || si->si_code == SI_QUEUE))
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
	int children = 0;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t len = strlen(e->d_name);
			if (ct_outdir_is_child(e->d_name))
				children++;
			else if (ct_outdir_profile_of(e->d_name) &&
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
	if (rc) {
		fprintf(stderr,
			"ctrace: the agent wrote no summary to %s (is the disk full, was "
			"the program statically linked, or did it exec away?)\n",
			dir);
		return;
	}
	for (const char *m = sum.errors; *m;) {
		size_t n = strcspn(m, "\n");
		fprintf(stderr, "ctrace: agent: %.*s\n", (int)n, m);
		m += n + (m[n] == '\n');
	}
	fprintf(stderr,
		"ctrace: wrote %s:%s; %" PRIu64 " CPU samples, %" PRIu64 " threads, %" PRIu64
		" lost; engine %s (%s)\n",
		dir, *files ? files : " (no profiles)", sum.samples, sum.threads, sum.lost,
		sum.engine, sum.reason);
	if (children)
		fprintf(stderr, "ctrace: %d child process%s recorded in %s/<pid>/\n", children,
			children == 1 ? "" : "es", dir);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ctrace record [-o DIR] [-F HZ] [-e LIST] [--sampler perf|timer] "
		   "[-q] -- CMD [ARGS...]\n"
		   "  -o DIR        output directory (default ctrace.out)\n"
		   "  -F HZ         CPU sampling frequency (default 99)\n"
		   "  -e LIST       what to record: cpu,heap,lock,block,sched (default all)\n"
		   "  --sampler S   perf (default where permitted) or timer\n"
		   "  --heap-rate B heap sampling: mean bytes between samples (default 524288)\n"
		   "  --no-symbolize  leave addresses for `ctrace symbolize`\n"
		   "  -q            no summary\n");
}

int ct_cmd_record(int argc, char **argv)
{
	const char *dir = "ctrace.out", *hz = NULL, *modes = NULL, *sampler = NULL,
		   *heap_rate = NULL;
	int quiet = 0, symbolize = 1;
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"freq", required_argument, NULL, 'F'},
		{"events", required_argument, NULL, 'e'},
		{"sampler", required_argument, NULL, 's'},
		{"heap-rate", required_argument, NULL, 'r'},
		{"no-symbolize", no_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:F:e:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'F':
			hz = optarg;
			if (atoi(hz) <= 0 || atoi(hz) > 100000) {
				fprintf(stderr,
					"ctrace: -F wants a frequency in Hz (1..100000), "
					"not '%s'\n",
					hz);
				return 2;
			}
			break;
		case 'e': {
			unsigned m;
			ct_error err = {.offset = -1};
			modes = optarg;
			if (ct_modes_parse(modes, &m, &err) != 0) {
				fprintf(stderr, "ctrace: -e %s: %s\n", modes, err.msg);
				return 2;
			}
			if (m & CT_MODE_SCHED)
				fprintf(stderr,
					"ctrace: -e sched: the scheduler trace (trace.ctr) is "
					"not implemented yet; ignored\n");
			break;
		}
		case 's':
			sampler = optarg;
			if (strcmp(sampler, "perf") && strcmp(sampler, "timer")) {
				fprintf(stderr, "ctrace: --sampler is perf or timer, not '%s'\n",
					sampler);
				return 2;
			}
			break;
		case 'r':
			heap_rate = optarg;
			break;
		case 'n':
			symbolize = 0;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ctrace: record needs a command to run\n");
		usage(stderr);
		return 2;
	}
	char agent[PATH_MAX];
	if (find_agent(agent, sizeof(agent)) < 0) {
		fprintf(stderr, "ctrace: cannot find libctrace.so next to ctrace (../lib) "
				"or in CTRACE_AGENT\n");
		return 1;
	}
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "ctrace: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char absdir[PATH_MAX];
	if (!realpath(dir, absdir)) {
		fprintf(stderr, "ctrace: cannot use %s: %s\n", dir, strerror(errno));
		return 1;
	}
	clear_previous(absdir);

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "ctrace: pipe: %s\n", strerror(errno));
		return 1;
	}
	struct sigaction sa, old_int, old_term, old_hup;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ctrace: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		const char *pre = getenv("LD_PRELOAD");
		char preload[2 * PATH_MAX];
		snprintf(preload, sizeof(preload), "%s%s%s", agent, pre && *pre ? ":" : "",
			 pre ? pre : "");
		setenv("LD_PRELOAD", preload, 1);
		setenv("CTRACE_OUT", absdir, 1);
		if (hz)
			setenv("CTRACE_HZ", hz, 1);
		if (modes)
			setenv("CTRACE_MODES", modes, 1);
		if (sampler)
			setenv("CTRACE_SAMPLER", sampler, 1);
		if (heap_rate)
			setenv("CTRACE_HEAP_RATE", heap_rate, 1);
		execvp(argv[optind], argv + optind);
		int e = errno;
		if (write(pipefd[1], &e, sizeof(e)) != sizeof(e))
			_exit(127);
		_exit(e == ENOENT ? 127 : 126);
	}
	child = pid;
	close(pipefd[1]);
	int exec_errno = 0;
	ssize_t got;
	do
		got = read(pipefd[0], &exec_errno, sizeof(exec_errno));
	while (got < 0 && errno == EINTR);
	close(pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	child = 0;
	if (got == (ssize_t)sizeof(exec_errno)) {
		fprintf(stderr, "ctrace: cannot run '%s': %s\n", argv[optind],
			strerror(exec_errno));
		return exec_errno == ENOENT ? 127 : 126;
	}
	if (symbolize)
		ct_symbolize_dir(absdir, quiet);
	if (!quiet)
		print_summary(dir);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		if (!quiet)
			fprintf(stderr, "ctrace: %s was killed by signal %d (%s)\n", argv[optind],
				WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	return 1;
}
