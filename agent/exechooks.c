/*
 * exechooks.c — the exec family, interposed: an exec replaces the image the agent records,
 * so that image's recording ends there and is written, as at an exit.
 *
 * Without this, what an image did before it exec'd was lost: its collector died with it
 * unwritten, and the new image's agent started over in the same folder (a wrapper's 1.5 s
 * of CPU before `exec`, gone without a word; a forked shell's stream left as a truncated
 * trace.ctr). Now each of execve, execv, execvp, execvpe, execl, execle, execlp, fexecve
 * and execveat first ends the recording (the collector stops, drains and writes, as on a
 * terminating signal; a forked child that recorded nothing leaves no folder), then calls
 * the real one. glibc's own execs
 * (posix_spawn, system, popen) run in a child sharing our memory, not through these.
 *
 * The new image writes where a process of its pid would: the owner's DIR, or DIR/<pid>/.
 * If the previous image's files are there, it first moves them into a folder of their own,
 * <pid>.<n> (n = 1, 2, ... the first free), where a child's folder <pid> would be: inside
 * DIR for the owner, beside DIR/<pid>/ otherwise. So DIR always ends with the last
 * image's profiles (a wrapper script's `exec ./server` leaves the server's in DIR), and
 * the images before are kept next to it (ct_exec_set_aside, from the constructor).
 *
 * An exec of a program that is not there or not runnable is let fail without ending the
 * recording (may_succeed). If an exec fails otherwise, the process goes on unrecorded:
 * its recording ended at the call, and summary.txt says so (the warning names the program
 * it tried to exec). Both the warning
 * and, for a process with a folder of its own, DIR/.children say what the environment the
 * program gets makes of its recording: none (no libctrace.so in LD_PRELOAD: `env -i`, a
 * sandbox), disabled, or into another directory (a nested `ctrace record`).
 *
 * daemon() is interposed too: glibc's forks and ends the parent with its own internal
 * _exit, which no hook sees, so the parent's recording was never written (and `ctrace
 * record` blamed a kill or a full disk). Ours does what glibc's does with the exported
 * calls: the parent leaves through the _exit hook, which writes its files.
 *
 * A relative CTRACE_OUT (or none) reaches the exec'd program as DIR's absolute path, so a
 * `cd` before the exec keeps one recording; this part runs in vfork children too (a
 * shell's, on the stack, touching nothing else: they share the parent's memory).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/internal.h"
#include "agent/sighooks.h"
#include "libtrace/outdir.h"

static char exec_target[160]; /* the program the image exec'd, for summary.txt */
/* The recorded process: a vfork child (posix_spawn's, a shell's) shares our memory but has
 * its own pid and runs no atfork handler — its exec must touch nothing of ours. */
static pid_t image_pid;

static void image_forked(void)
{
	image_pid = getpid();
}

/* CTRACE_OUT as this image started with it (the program may change its environment). */
static char start_out[4096];
static int start_out_set;

__attribute__((constructor)) static void exec_hooks_init(void)
{
	const char *out = getenv("CTRACE_OUT");
	start_out_set = out != NULL;
	snprintf(start_out, sizeof(start_out), "%s", out ? out : "");
	image_pid = getpid();
	pthread_atfork(NULL, NULL, image_forked);
}

static const char *exec_fate; /* what becomes of the exec'd program's recording */
static int exec_elsewhere;    /* ...which is not DIR's: nothing, or another directory */

void ct_exec_warning(char *buf, size_t len)
{
	if (exec_target[0])
		ct_warning_add(buf, len, "the recording ends where the program exec'd %s, %s",
			       exec_target, exec_fate);
}

static const char *env_get(char *const envp[], const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	return NULL;
}

/* Why the exec'd program will not be recorded here, from the environment it gets (`env -i`,
 * a sandbox's clean environment, a nested `ctrace record`); NULL if it will be. */
static const char *fate(char *const envp[])
{
	const char *pre = env_get(envp, "LD_PRELOAD");
	const char *off = env_get(envp, "CTRACE_DISABLE");
	const char *out = env_get(envp, "CTRACE_OUT"), *ours = start_out_set ? start_out : NULL;
	if (!pre || !strstr(pre, "libctrace"))
		return "which runs without the agent (its environment has no libctrace.so in "
		       "LD_PRELOAD)";
	if (off && *off && strcmp(off, "0") != 0)
		return "which runs with the agent disabled (CTRACE_DISABLE in its environment)";
	if (!out != !ours || (out && strcmp(out, ours) != 0))
		return "which records into another directory (its environment's CTRACE_OUT "
		       "differs)";
	return NULL;
}

/* Ends this image's recording before it is replaced by a program that gets envp. */
static void before_exec(const char *what, char *const envp[])
{
	if (ct_tls_guard || getpid() != image_pid)
		return;
	int saved = errno;
	if (!exec_target[0]) {
		snprintf(exec_target, sizeof(exec_target), "%s", what ? what : "?");
		exec_fate = fate(envp);
		exec_elsewhere = exec_fate != NULL;
		if (!exec_fate)
			exec_fate = "which is recorded on its own (if the agent can load into it)";
	}
	int was_active = ct_active();
	/* Not ct_shutdown here: execve is async-signal-safe, and a handler that interrupted
	 * malloc and execs would deadlock in our writing. The collector writes; a flush that
	 * has not ended in time (that case) lets the exec go on, its files unwritten: 5 s, or
	 * 200 ms from what may be a signal handler (a handled signal blocked). */
	ct_flush_for_exec(ct_sig_maybe_in_handler() ? 200 : 5000);
	/* DIR/.children's last word on this process, when the next program will not write
	 * there: `ctrace record` names it if this image left no files. */
	if (was_active && exec_elsewhere) {
		char line[300];
		snprintf(line, sizeof(line), "end exec'd %.120s, %s", exec_target, exec_fate);
		ct_out_child_note(line);
	}
	errno = saved;
}

/* The exec'd program finds DIR from CTRACE_OUT, against its own working directory: the
 * relative one this image started with (or none: "ctrace.out") would, after a chdir, be
 * another directory, and the run's recording would split. Such an environment is given
 * DIR's absolute path instead, in a copy on the stack (no allocation: a vfork child runs
 * this too, in its parent's memory). The copy's size (entries, with the NULL), or 0 when
 * envp goes as it is: absolute, another directory, not recorded here, or too big. */
static size_t out_fix_size(char *const envp[])
{
	const char *out = env_get(envp, "CTRACE_OUT"), *top = ct_out_top();
	if (!envp || !*top || (out && *out == '/') || (!out) != !start_out_set ||
	    (out && strcmp(out, start_out) != 0) || fate(envp))
		return 0;
	size_t n = 0;
	while (envp[n])
		n++;
	return n < 65536 ? n + 2 : 0;
}

static char *const *with_out(char **env, char *var, size_t varlen, char *const envp[])
{
	snprintf(var, varlen, "CTRACE_OUT=%s", ct_out_top());
	size_t k = 0;
	for (size_t i = 0; envp[i]; i++)
		if (strncmp(envp[i], "CTRACE_OUT=", 11) != 0)
			env[k++] = envp[i];
	env[k++] = var;
	env[k] = NULL;
	return env;
}

#define REAL(name)                                                                                 \
	static __typeof__(&name) real_##name;                                                      \
	if (!real_##name)                                                                          \
	*(void **)&real_##name = ct_real(#name)

enum { BY_PATH, BY_SEARCH, BY_FD, BY_AT }; /* execve, execvpe, fexecve, execveat */

static int runnable_at(int dirfd, const char *path, int flags)
{
	struct stat st;
	return fstatat(dirfd, path, &st, flags & AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       faccessat(dirfd, path, X_OK, AT_EACCESS | (flags & AT_SYMLINK_NOFOLLOW)) == 0;
}

/* Whether the exec can work: a program that tries one that is not there or not runnable
 * (an optional helper; Python's os.execvp trying each PATH entry) goes on recorded, as if
 * it had not tried. What else makes an exec fail (E2BIG, ETXTBSY, ...) ends the recording.
 * The search as execvpe's: the caller's PATH, or glibc's default. */
static int may_succeed(int how, int fd, const char *path, int flags)
{
	if (how == BY_FD || (how == BY_AT && !*path && (flags & AT_EMPTY_PATH)))
		return 1;
	if (how == BY_AT)
		return runnable_at(fd, path, flags);
	if (how == BY_PATH || strchr(path, '/'))
		return runnable_at(AT_FDCWD, path, 0);
	const char *dirs = getenv("PATH");
	if (!dirs)
		dirs = "/bin:/usr/bin";
	char cand[4096];
	for (const char *d = dirs;; d++) {
		size_t n = strcspn(d, ":");
		int len = snprintf(cand, sizeof(cand), "%.*s%s%s", (int)n, d, n ? "/" : "", path);
		if (len > 0 && (size_t)len < sizeof(cand) && runnable_at(AT_FDCWD, cand, 0))
			return 1;
		d += n;
		if (!*d)
			return 0;
	}
}

/* The real call, after the recording ended, with CTRACE_OUT made absolute when needed.
 * Not inlined: argv may be NULL here (the callers' declarations say it cannot be). */
__attribute__((noinline)) static int exec_as(int how, int fd, const char *path, char *const argv[],
					     char *const envp[], int flags)
{
	REAL(execve);
	REAL(execvpe);
	REAL(fexecve);
	REAL(execveat);
	/* Past the program's seccomp filter (sandbox.c) the recording has ended: no checks,
	 * whose system calls the filter may punish. The exec'd program starts an agent of its
	 * own inside the filter, as one a sandboxing launcher runs does (docs/env.md). */
	if (!atomic_load(&ct_sandboxed) && may_succeed(how, fd, path, flags))
		before_exec(how == BY_FD      ? (argv && argv[0] ? argv[0] : "a file descriptor")
			    : *path	      ? path
			    : argv && argv[0] ? argv[0]
					      : "?",
			    envp);
	size_t n = out_fix_size(envp);
	char *fixed[n ? n : 1], var[sizeof(ct_cfg.out_dir) + 16];
	char *const *env = n ? with_out(fixed, var, sizeof(var), envp) : envp;
	switch (how) {
	case BY_SEARCH:
		return real_execvpe(path, argv, env);
	case BY_FD:
		return real_fexecve(fd, argv, env);
	case BY_AT:
		return real_execveat(fd, path, argv, env, flags);
	default:
		return real_execve(path, argv, env);
	}
}

CT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return exec_as(BY_PATH, -1, path, argv, envp, 0);
}

CT_EXPORT int execv(const char *path, char *const argv[])
{
	return exec_as(BY_PATH, -1, path, argv, environ, 0);
}

CT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return exec_as(BY_SEARCH, -1, file, argv, envp, 0);
}

CT_EXPORT int execvp(const char *file, char *const argv[])
{
	return exec_as(BY_SEARCH, -1, file, argv, environ, 0);
}

CT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	return exec_as(BY_FD, fd, "", argv, envp, 0);
}

CT_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags)
{
	return exec_as(BY_AT, dirfd, path, argv, envp, flags);
}

/* The variadic forms: their arguments up to the NULL, as an argv (as glibc does, on the
 * stack), then the vector form. */
static size_t count_args(va_list ap)
{
	va_list c;
	va_copy(c, ap);
	size_t n = 1; /* arg0, already taken */
	while (va_arg(c, const char *))
		n++;
	va_end(c);
	return n;
}

#define ARGV_FROM_VA(argv, arg0, ap)                                                               \
	size_t n_ = count_args(ap);                                                                \
	if (n_ > 1u << 20) {                                                                       \
		va_end(ap);                                                                        \
		errno = E2BIG;                                                                     \
		return -1;                                                                         \
	}                                                                                          \
	char *argv[n_ + 1];                                                                        \
	argv[0] = (char *)(arg0);                                                                  \
	for (size_t i_ = 1; i_ <= n_; i_++)                                                        \
	argv[i_] = va_arg(ap, char *) /* the last is the NULL */

CT_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	ARGV_FROM_VA(argv, arg, ap);
	va_end(ap);
	return execv(path, argv);
}

CT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	ARGV_FROM_VA(argv, arg, ap);
	va_end(ap);
	return execvp(file, argv);
}

CT_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	ARGV_FROM_VA(argv, arg, ap);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/* ---- the new image: the previous one's files out of its way ---- */

static int is_window(const char *name) /* a CTRACE_PERIOD window: 20261204T101500.123Z */
{
	return strlen(name) == 20 && name[8] == 'T' && name[19] == 'Z' &&
	       strspn(name, "0123456789") == 8;
}

static int belongs_to_image(const char *name, int pid)
{
	char map[32];
	snprintf(map, sizeof(map), "perf-%d.map", pid);
	return (ct_outdir_is_ours(name) && strcmp(name, CT_FILE_OWNER) != 0 &&
		strcmp(name, CT_FILE_CHILDREN) != 0 && strcmp(name, CT_FILE_HTTP) != 0) ||
	       ct_outdir_is_temp(name) || strcmp(name, map) == 0 || is_window(name);
}

void ct_exec_set_aside(int own_folder)
{
	char path[sizeof(ct_cfg.out_dir) + 32];
	snprintf(path, sizeof(path), "%s/%s", ct_cfg.out_dir, CT_FILE_SUMMARY);
	struct stat sb;
	if (lstat(path, &sb) != 0) {
		snprintf(path, sizeof(path), "%s/%s", ct_cfg.out_dir, CT_FILE_CHECKPOINT);
		if (lstat(path, &sb) != 0)
			return; /* no earlier image wrote here */
	}
	/* Where a child folder <pid> would be: in DIR for the owner, beside DIR/../<pid>. */
	int pid = (int)getpid(), n = 1;
	int base = (int)strlen(ct_cfg.out_dir);
	if (own_folder)
		base = (int)(strrchr(ct_cfg.out_dir, '/') - ct_cfg.out_dir);
	while (snprintf(path, sizeof(path), "%.*s/%d.%d", base, ct_cfg.out_dir, pid, n),
	       mkdir(path, 0755) < 0)
		if (errno != EEXIST || ++n > 1000) {
			ct_log("cannot make %s: %s", path, strerror(errno));
			return;
		}
	DIR *d = opendir(ct_cfg.out_dir);
	if (!d)
		return;
	/* Passes until one moves nothing: a directory changed while read may skip names. */
	for (int moved = 1, pass = 0; moved && pass < 8; pass++) {
		moved = 0;
		rewinddir(d);
		struct dirent *e;
		while ((e = readdir(d)))
			if (belongs_to_image(e->d_name, pid)) {
				char to[sizeof(path) + 256];
				snprintf(to, sizeof(to), "%s/%s", path, e->d_name);
				if (renameat(dirfd(d), e->d_name, AT_FDCWD, to) == 0)
					moved++;
				else
					ct_log("cannot move %s to %s: %s", e->d_name, to,
					       strerror(errno));
			}
	}
	closedir(d);
}

/* .owner holds "<pid> <run>": the run is CTRACE_RUN, which `ctrace record` sets for
 * everything it runs. Whether the pid in b, which no longer runs, owned this same run. */
static int same_run(const char *b)
{
	const char *run = getenv("CTRACE_RUN"), *theirs = strchr(b, ' ');
	size_t n = run ? strlen(run) : 0;
	return n && theirs && strncmp(theirs + 1, run, n) == 0 && theirs[1 + n] == '\n';
}

/* The first process of a run owns DIR (its .owner); a program that a traced process execs
 * later (another pid) writes to DIR/<pid>. A .owner whose process has gone is a stale one
 * left by an earlier run, taken over — unless it names this run: then the run's first
 * process has ended, and a late one (a background job that execs after the script that
 * started it) must not write over its files. Files an earlier image of this pid left move
 * aside first (ct_exec_set_aside). */
int ct_out_claim(void)
{
	if (ct_out_dir_create() < 0)
		return -1;
	char owner[sizeof(ct_cfg.out_dir) + 16];
	snprintf(owner, sizeof(owner), "%s/%s", ct_cfg.out_dir, CT_FILE_OWNER);
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(owner, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0) {
			char b[128];
			const char *run = getenv("CTRACE_RUN");
			int n = snprintf(b, sizeof(b), "%d %.64s\n", (int)getpid(), run ? run : "");
			if (write(fd, b, (size_t)n) != n)
				ct_log("cannot write %s", owner);
			close(fd);
			return 0;
		}
		char b[128] = "";
		fd = open(owner, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, b, sizeof(b) - 1);
			close(fd);
			b[n > 0 ? n : 0] = 0;
		}
		int pid = atoi(b);
		if (pid == getpid()) { /* we exec'd ourselves: still the owner */
			ct_exec_set_aside(0);
			return 0;
		}
		if ((pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)) || same_run(b))
			break; /* owned by a live process, or by this run's first, ended */
		unlink(owner); /* stale */
	}
	size_t len = strlen(ct_cfg.out_dir);
	snprintf(ct_cfg.out_dir + len, sizeof(ct_cfg.out_dir) - len, "/%d", (int)getpid());
	ct_exec_set_aside(1);
	return 1;
}

CT_EXPORT int daemon(int nochdir, int noclose)
{
	switch (fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		_exit(0); /* the hook: this image's recording is written */
	}
	if (setsid() == -1)
		return -1;
	if (!nochdir)
		(void)chdir("/");
	if (!noclose) { /* as glibc: stdin, stdout and stderr on /dev/null, if it is one */
		struct stat st;
		int fd = open("/dev/null", O_RDWR); /* 0..2 when one is closed: no CLOEXEC */
		if (fd == -1 || fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
			if (fd != -1)
				close(fd);
			return -1;
		}
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
	return 0;
}
