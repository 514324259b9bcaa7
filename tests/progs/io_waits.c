/* io_waits — blocking file, pipe and socket calls, with their results printed so that a
 * run under the agent can be compared with a bare run:
 *   pipe_reader()   a read(2) of a pipe that waits 200 ms for a writer (reason io)
 *   sock_receiver() a recv(2) on a socketpair that waits 200 ms (reason net)
 *   sock_reader()   a read(2) on a socket that waits 200 ms (reason net, decided by fd type)
 *   nonblock_reads() 20000 reads of an empty O_NONBLOCK pipe: -1/EAGAIN, never a wait
 *   nonblock_sock_io() 2000 writes and reads that succeed on an O_NONBLOCK socketpair (made so
 *                   by socketpair, fcntl and ioctl): calls that cannot wait, never timed
 *   shared_flag_reader() a read(2) that waits 200 ms on a socket made non-blocking with
 *                   fcntl, then blocking again through a dup of it (the flag is shared)
 *   ready_polls()   2000 epoll_waits (timeout -1) on a ready pipe: each returns at once
 *   slow_poll()     an epoll_wait that waits 200 ms for a writer (reason net)
 * and the return values of a short read, an EINTR read, pread/pwrite, readv/writev,
 * send/recv/sendto/recvfrom/sendmsg/recvmsg, accept/accept4/connect, fsync/fdatasync. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Appends "FN NS" (how long the call since t0 took, as the program saw it) to the file
 * $IO_WAITS_TIMES, when set: the test compares the profile's waits with these, so a
 * loaded machine that stretches the 200 ms does not fail it. stdout stays the same. */
static void note_wait(const char *fn, uint64_t t0)
{
	uint64_t ns = now_ns() - t0;
	const char *path = getenv("IO_WAITS_TIMES");
	FILE *f = path ? fopen(path, "a") : NULL;
	if (f) {
		fprintf(f, "%s %llu\n", fn, (unsigned long long)ns);
		fclose(f);
	}
}

/* A pipe or socketpair whose write end a thread writes msg to after 200 ms. */
struct delayed {
	int fd[2];
	const char *msg;
	pthread_t writer;
};

static void *write_later(void *p)
{
	struct delayed *d = p;
	nap_ms(200);
	if (write(d->fd[1], d->msg, strlen(d->msg)) < 0)
		perror("write_later");
	return NULL;
}

/* Opens d's pair (a socketpair when sock, else a pipe) and starts its writer. */
static void delayed_open(struct delayed *d, int sock, const char *msg)
{
	if ((sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, d->fd) : pipe(d->fd)) < 0)
		exit(1);
	d->msg = msg;
	pthread_create(&d->writer, NULL, write_later, d);
}

/* Waits for d's writer, then closes the pair. */
static void delayed_close(struct delayed *d)
{
	pthread_join(d->writer, NULL);
	close(d->fd[0]);
	close(d->fd[1]);
}

__attribute__((noinline)) static void pipe_reader(void)
{
	struct delayed d;
	char buf[100];
	delayed_open(&d, 0, "0123456789");
	uint64_t t0 = now_ns();
	ssize_t n = read(d.fd[0], buf, sizeof(buf)); /* a short read: 10 of 100 */
	note_wait("pipe_reader", t0);
	printf("pipe read: %zd\n", n);
	delayed_close(&d);
}

__attribute__((noinline)) static void sock_receiver(void)
{
	struct delayed d;
	char buf[64];
	delayed_open(&d, 1, "hello");
	uint64_t t0 = now_ns();
	ssize_t n = recv(d.fd[0], buf, sizeof(buf), 0);
	note_wait("sock_receiver", t0);
	printf("recv: %zd\n", n);
	delayed_close(&d);
}

__attribute__((noinline)) static void sock_reader(void)
{
	struct delayed d;
	char buf[64];
	delayed_open(&d, 1, "sock");
	uint64_t t0 = now_ns();
	ssize_t n = read(d.fd[0], buf, sizeof(buf));
	note_wait("sock_reader", t0);
	printf("socket read: %zd\n", n);
	delayed_close(&d);
}

__attribute__((noinline)) static void nonblock_reads(void)
{
	int p[2];
	char c;
	if (pipe2(p, O_NONBLOCK) < 0)
		exit(1);
	int eagain = 0;
	for (int i = 0; i < 20000; i++)
		eagain += read(p[0], &c, 1) == -1 && errno == EAGAIN;
	printf("nonblocking reads: %d EAGAIN\n", eagain);
	close(p[0]);
	close(p[1]);
}

/* 500 write+read pairs on each end of a non-blocking socketpair. */
static int pairs(int s[2])
{
	char c = 'x';
	int ok = 0;
	for (int i = 0; i < 500; i++) {
		ok += write(s[0], &c, 1) == 1 && read(s[1], &c, 1) == 1;
		ok += send(s[1], &c, 1, 0) == 1 && recv(s[0], &c, 1, 0) == 1;
	}
	return ok;
}

__attribute__((noinline)) static void nonblock_sock_io(void)
{
	int s[2], t[2], on = 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, t) < 0)
		exit(1);
	fcntl(t[0], F_SETFL, fcntl(t[0], F_GETFL) | O_NONBLOCK);
	ioctl(t[1], FIONBIO, &on);
	printf("nonblocking socket calls: %d\n", pairs(s) + pairs(t));
	close(s[0]);
	close(s[1]);
	close(t[0]);
	close(t[1]);
}

__attribute__((noinline)) static void shared_flag_reader(void)
{
	struct delayed d;
	char buf[64];
	delayed_open(&d, 1, "late");
	fcntl(d.fd[0], F_SETFL, O_NONBLOCK);
	int dup_fd = dup(d.fd[0]);
	fcntl(dup_fd, F_SETFL, 0); /* the description, so d.fd[0], blocks again */
	uint64_t t0 = now_ns();
	ssize_t n = read(d.fd[0], buf, sizeof(buf));
	note_wait("shared_flag_reader", t0);
	printf("read after the flag was cleared through a dup: %zd\n", n);
	close(dup_fd);
	delayed_close(&d);
}

/* An epoll set watching fd for input. */
static int epoll_on(int fd)
{
	int ep = epoll_create1(0);
	struct epoll_event e = {.events = EPOLLIN};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
		exit(1);
	return ep;
}

__attribute__((noinline)) static void ready_polls(void)
{
	int p[2], ready = 0;
	if (pipe(p) < 0 || write(p[1], "x", 1) != 1)
		exit(1);
	int ep = epoll_on(p[0]);
	struct epoll_event ev;
	for (int i = 0; i < 2000; i++)
		ready += epoll_wait(ep, &ev, 1, -1) == 1;
	printf("ready polls: %d\n", ready);
	close(ep);
	close(p[0]);
	close(p[1]);
}

__attribute__((noinline)) static void slow_poll(void)
{
	struct delayed d;
	delayed_open(&d, 0, "x");
	int ep = epoll_on(d.fd[0]);
	struct epoll_event ev;
	printf("slow poll: %d\n", epoll_wait(ep, &ev, 1, -1));
	close(ep);
	delayed_close(&d);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void eintr_read(void)
{
	int p[2];
	char c;
	if (pipe(p) < 0)
		exit(1);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: the read fails with EINTR */
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	errno = 0;
	ssize_t n = read(p[0], &c, 1);
	printf("interrupted read: %zd %s\n", n, n < 0 ? strerror(errno) : "");
	close(p[0]);
	close(p[1]);
}

static void files(void)
{
	char path[] = "/tmp/io_waits.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		exit(1);
	unlink(path);
	printf("pwrite: %zd\n", pwrite(fd, "abcdef", 6, 10));
	char buf[16] = "";
	printf("pread: %zd %.3s\n", pread(fd, buf, 3, 12), buf);
	struct iovec iov[2] = {{"xy", 2}, {"z", 1}};
	printf("writev: %zd\n", writev(fd, iov, 2));
	char a[2], b[8];
	struct iovec rv[2] = {{a, 2}, {b, 8}};
	lseek(fd, 10, SEEK_SET);
	printf("readv: %zd\n", readv(fd, rv, 2));
	printf("fsync: %d fdatasync: %d\n", fsync(fd), fdatasync(fd));
	ssize_t r = read(-1, buf, 1);
	printf("read of a bad fd: %zd %s\n", r, strerror(errno));
	int rc = fsync(-5);
	printf("fsync of a bad fd: %d %s\n", rc, strerror(errno));
	close(fd);
}

static void sockets(void)
{
	int s[2];
	char buf[32];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, s) < 0)
		exit(1);
	printf("send: %zd\n", send(s[0], "ab", 2, 0));
	printf("recvfrom: %zd\n", recvfrom(s[1], buf, sizeof(buf), 0, NULL, NULL));
	printf("sendto: %zd\n", sendto(s[0], "abc", 3, 0, NULL, 0));
	printf("recv: %zd\n", recv(s[1], buf, sizeof(buf), 0));
	struct iovec iov = {"abcd", 4};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	printf("sendmsg: %zd\n", sendmsg(s[0], &m, 0));
	struct iovec riov = {buf, sizeof(buf)};
	struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1};
	printf("recvmsg: %zd\n", recvmsg(s[1], &rm, 0));
	ssize_t r = recv(s[1], buf, 1, MSG_DONTWAIT);
	printf("nonblocking recv: %zd %s\n", r, strerror(errno));
	close(s[0]);
	close(s[1]);

	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/io_waits.%d", (int)getpid());
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(sun.sun_path);
	if (bind(l, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(l, 4) < 0)
		exit(1);
	int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	printf("connect: %d\n", connect(c1, (struct sockaddr *)&sun, sizeof(sun)));
	int a1 = accept(l, NULL, NULL);
	printf("accept: %s\n", a1 >= 0 ? "ok" : strerror(errno));
	printf("connect: %d\n", connect(c2, (struct sockaddr *)&sun, sizeof(sun)));
	int a2 = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	printf("accept4: %s\n", a2 >= 0 ? "ok" : strerror(errno));
	int bad = accept(1000, NULL, NULL);
	printf("accept of a bad fd: %d %s\n", bad, strerror(errno));
	unlink(sun.sun_path);
	close(a1);
	close(a2);
	close(c1);
	close(c2);
	close(l);
}

int main(void)
{
	pipe_reader();
	sock_receiver();
	sock_reader();
	nonblock_reads();
	nonblock_sock_io();
	shared_flag_reader();
	ready_polls();
	slow_poll();
	eintr_read();
	files();
	sockets();
	return 0;
}
