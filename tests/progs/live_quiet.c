/*
 * live_quiet.c — threads that a stack dump must not disturb (test_live): the live
 * server's /goroutine read running threads' stacks with a signal, which ended every
 * sleeping thread's call with EINTR (nanosleep, poll, epoll_wait, sigtimedwait return it
 * whatever SA_RESTART says), and stayed pending on threads that block it, where a
 * program that blocks every signal to take them with sigtimedwait took it as its own.
 *
 * Main blocks every signal and waits in sigtimedwait for any, SECONDS and a half. Four
 * threads, with every signal unblocked, sleep SECONDS each: in nanosleep, poll and
 * epoll_wait (hooked calls) and in a raw syscall(SYS_nanosleep) (quiet_raw_sleep: no hook,
 * no wait registered). Each prints "CALL ok" when its call
 * ran its full time, else what cut it short; main prints "no signal" when it timed out.
 * usage: live_quiet SECONDS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int seconds;

static void unblock_all(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_UNBLOCK, &all, NULL);
}

static void report(const char *call, long rc, int err)
{
	if (rc == 0)
		printf("%s ok\n", call);
	else
		printf("%s returned %ld: %s\n", call, rc, strerror(err));
}

static void *quiet_nanosleep(void *arg)
{
	(void)arg;
	unblock_all();
	struct timespec ts = {seconds, 0};
	int rc = nanosleep(&ts, NULL);
	report("nanosleep", rc, errno);
	return NULL;
}

static void *quiet_poll(void *arg)
{
	(void)arg;
	unblock_all();
	int rc = poll(NULL, 0, seconds * 1000);
	report("poll", rc, errno);
	return NULL;
}

static void *quiet_epoll(void *arg)
{
	(void)arg;
	unblock_all();
	struct epoll_event ev;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int rc = epoll_wait(ep, &ev, 1, seconds * 1000);
	report("epoll_wait", rc, errno);
	close(ep);
	return NULL;
}

__attribute__((noinline)) static long quiet_raw_sleep(void)
{
	struct timespec ts = {seconds, 0};
	return syscall(SYS_nanosleep, &ts, NULL);
}

static void *quiet_raw(void *arg)
{
	(void)arg;
	unblock_all();
	long rc = quiet_raw_sleep();
	report("raw nanosleep", rc, errno);
	return NULL;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	seconds = argc > 1 ? atoi(argv[1]) : 2;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	void *(*fns[])(void *) = {quiet_nanosleep, quiet_poll, quiet_epoll, quiet_raw};
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, fns[i], NULL);
	struct timespec ts = {seconds, 500000000};
	siginfo_t si;
	int sig = sigtimedwait(&all, &si, &ts);
	if (sig < 0 && errno == EAGAIN)
		printf("no signal\n");
	else
		printf("took signal %d (code %d)\n", sig, sig < 0 ? errno : si.si_code);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return 0;
}
