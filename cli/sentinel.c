/* sentinel.c — the witness that tells a signal sent to record alone from one sent to its
 * process group or cgroup (sentinel.h). */
#include "cli/sentinel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	int sig;
	uint64_t ns;
} report;

static pid_t sentinel_pid = -1;
static int report_fd = -1;
/* Reports read but not yet claimed: another signal's handler may want one of them. */
#define KEPT 16
static report kept[KEPT];

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int ct_sentinel_main(int argc, char **argv)
{
	const int out = 3; /* the pipe, placed by ct_sentinel_start */
	pid_t parent = argc > 1 ? (pid_t)atoi(argv[1]) : 0;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || parent <= 0 || getppid() != parent)
		return 0;
	prctl(PR_SET_NAME, "ctrace-sentinel");
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);		       /* never holds record's terminal or pipes open */
	if (close_range(out + 1, ~0u, 0) != 0) /* one call where a loop made ~1000 */
		for (int fd = out + 1; fd < 1024; fd++)
			close(fd);
	sigset_t all, watched;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	sigemptyset(&watched);
	static const int forwarded[] = CT_FORWARDED;
	for (const int *s = forwarded; *s; s++)
		sigaddset(&watched, *s);
	for (;;) {
		int sig = sigwaitinfo(&watched, NULL);
		if (sig < 0)
			continue;
		report r = {sig, now_ns()};
		if (write(out, &r, sizeof(r)) != (ssize_t)sizeof(r) && errno != EINTR)
			return 0;
	}
}

/* record's environment without LD_PRELOAD (no agent in the sentinel), in a fresh array. */
static char **env_without_preload(void)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0, k = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	return env;
}

int ct_sentinel_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	char ppid[16];
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	char *argv[] = {"ctrace-sentinel", CT_SENTINEL_CMD, ppid, NULL};
	char **env = env_without_preload();
	posix_spawn_file_actions_t fa;
	int rc = env ? posix_spawn_file_actions_init(&fa) : ENOMEM;
	if (rc == 0) {
		rc = posix_spawn_file_actions_adddup2(&fa, p[1], 3); /* dup2 clears CLOEXEC */
		pid_t pid;
		if (rc == 0)
			rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, env);
		if (rc == 0)
			sentinel_pid = pid;
		posix_spawn_file_actions_destroy(&fa);
	}
	free(env);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return -rc;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	report_fd = p[0];
	return 0;
}

/* Claims a kept report of sig no older than oldest. */
static bool claim(int sig, uint64_t oldest)
{
	for (int i = 0; i < KEPT; i++)
		if (kept[i].sig == sig && kept[i].ns >= oldest) {
			kept[i].sig = 0;
			return true;
		}
	return false;
}

static void keep(report r, uint64_t oldest)
{
	int slot = 0;
	for (int i = 0; i < KEPT; i++) {
		if (!kept[i].sig || kept[i].ns < oldest) {
			slot = i;
			break;
		}
		if (kept[i].ns < kept[slot].ns)
			slot = i; /* full of recent ones: the oldest goes */
	}
	kept[slot] = r;
}

bool ct_sentinel_saw(int sig, uint64_t since_ns, int wait_ms)
{
	if (report_fd < 0)
		return false;
	int saved = errno;
	uint64_t oldest = since_ns > 100000000u ? since_ns - 100000000u : 0;
	uint64_t deadline = now_ns() + (uint64_t)wait_ms * 1000000u;
	bool seen = claim(sig, oldest);
	while (!seen) {
		report r;
		ssize_t n;
		while (!seen && (n = read(report_fd, &r, sizeof(r))) == (ssize_t)sizeof(r)) {
			if (r.sig == sig && r.ns >= oldest)
				seen = true;
			else if (r.ns >= oldest)
				keep(r, oldest);
		}
		uint64_t now = now_ns();
		if (seen || now >= deadline)
			break;
		struct pollfd pfd = {.fd = report_fd, .events = POLLIN};
		int ms = (int)((deadline - now + 999999u) / 1000000u);
		if (poll(&pfd, 1, ms) <= 0 && errno != EINTR)
			break;
		if (pfd.revents & (POLLHUP | POLLERR) && !(pfd.revents & POLLIN))
			break; /* the sentinel is gone */
	}
	errno = saved;
	return seen;
}

void ct_sentinel_stop(void)
{
	if (sentinel_pid > 0) {
		kill(sentinel_pid, SIGKILL);
		while (waitpid(sentinel_pid, NULL, 0) < 0 && errno == EINTR)
			;
		sentinel_pid = -1;
	}
	if (report_fd >= 0) {
		close(report_fd);
		report_fd = -1;
	}
}
