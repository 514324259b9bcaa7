/* sentinel.c — the witness that tells a signal sent to record alone from one sent to its
 * process group or cgroup (sentinel.h). */
#include "cli/sentinel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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

static void sentinel_main(pid_t parent, int out)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(0);
	prctl(PR_SET_NAME, "ctrace-sentinel");
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd); /* never holds record's terminal or pipes open */
	for (int fd = 3; fd < 1024; fd++)
		if (fd != out)
			close(fd);
	sigset_t all, watched;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	sigemptyset(&watched);
	sigaddset(&watched, SIGINT);
	sigaddset(&watched, SIGTERM);
	sigaddset(&watched, SIGHUP);
	for (;;) {
		int sig = sigwaitinfo(&watched, NULL);
		if (sig < 0)
			continue;
		report r = {sig, now_ns()};
		if (write(out, &r, sizeof(r)) != (ssize_t)sizeof(r) && errno != EINTR)
			_exit(0);
	}
}

int ct_sentinel_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0)
		sentinel_main(parent, p[1]);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	sentinel_pid = pid;
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
