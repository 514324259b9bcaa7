/* fd_daemon LOG [raw|loop|sock [LINES]] — starts like a daemon: closes fds 0..1023 (with close(),
 * or with a raw close_range syscall over every fd when "raw"), reopens /dev/null on 0, 1, 2 and
 * its log file on 3. Then it dup2()s the log onto 1024..2099 (and closes those again); in raw
 * mode it also dup()s the log onto the next 2100 numbers, so every number anything held
 * before is now the program's. Then it works (allocations, a lock,
 * short sleeps, CPU) while writing LINES (default 40) lines to the log, and exits. The log must be
 * the same with and without the agent. In sock mode a thread meanwhile dup2()s one end of a
 * socketpair onto 1024..2099 and closes them again, round after round, while the agent's live
 * server (CTRACE_HTTP) answers requests on sockets at such numbers: at the end nothing may have
 * arrived at the pair's other end (the agent would have sent a reply into the program's
 * socket); otherwise the log says how much and the exit status is 7. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void daemon_work(int i)
{
	void *p[64];
	for (int k = 0; k < 64; k++)
		p[k] = malloc(1024 + (size_t)k * 4096 + (size_t)i);
	pthread_mutex_lock(&mu);
	burn(0.01);
	pthread_mutex_unlock(&mu);
	for (int k = 0; k < 64; k++)
		free(p[k]);
	struct timespec ts = {0, 10000000};
	nanosleep(&ts, NULL);
}

static int pair[2];
static atomic_int churning = 1, churn_failed;

/* sock mode: the program's socket onto the agent's range, round after round. */
static void *churn(void *arg)
{
	(void)arg;
	while (atomic_load(&churning)) {
		for (int fd = 1024; fd < 2100; fd++)
			if (dup2(pair[0], fd) != fd)
				atomic_store(&churn_failed, 1);
		for (int fd = 1024; fd < 2100; fd++)
			close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int raw = argc > 2 && strcmp(argv[2], "raw") == 0;
	if (raw)
		syscall(SYS_close_range, 0u, ~0u, 0);
	else
		for (int fd = 0; fd < 1024; fd++)
			close(fd);
	if (open("/dev/null", O_RDONLY) != 0 || open("/dev/null", O_WRONLY) != 1 ||
	    open("/dev/null", O_WRONLY) != 2)
		return 3;
	int log = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (log != 3)
		return 4;
	for (int fd = 1024; fd < 2100; fd++)
		if (dup2(log, fd) != fd)
			return 6;
	for (int fd = 1024; fd < 2100; fd++)
		close(fd);
	for (int i = 0; raw && i < 2100; i++)
		if (dup(log) < 0)
			return 5;
	int sock = argc > 2 && strcmp(argv[2], "sock") == 0;
	pthread_t t;
	if (sock && (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0 ||
		     pthread_create(&t, NULL, churn, NULL) != 0))
		return 8;
	int lines = argc > 3 ? atoi(argv[3]) : 40;
	for (int i = 0; i < lines; i++) {
		daemon_work(i);
		dprintf(log, "daemon line %d\n", i);
	}
	if (sock) {
		atomic_store(&churning, 0);
		pthread_join(t, NULL);
		char buf[4096];
		ssize_t n = recv(pair[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			dprintf(log, "stray bytes at the program's socket: %zd: %.*s\n", n, (int)n,
				buf);
			return 7;
		}
		if (atomic_load(&churn_failed))
			return 6;
	}
	dprintf(log, "daemon done\n");
	return 0;
}
