/*
 * bench_io — what the file and readiness hooks cost calls that do not block, run bare and
 * with the agent preloaded from tests/bench/bench_io.sh.
 *
 *   bench_io read N    N read(2)s of 8 bytes from /dev/zero (a descriptor the agent must
 *                      time: it may block)
 *   bench_io nbsock N  N read(2)s of 8 bytes from an O_NONBLOCK socket holding them (written
 *                      first, through libc directly): a call that cannot wait
 *   bench_io epoll N   N epoll_wait(timeout -1)s on a ready pipe: a readiness wait that
 *                      returns at once
 *   bench_io loop N    N turns of an event loop's request: a request arrives on an
 *                      O_NONBLOCK socket (written by a raw system call, as from another
 *                      process), epoll_wait (ready), read it, malloc/malloc_usable_size/
 *                      free two blocks, write the reply (drained by a raw system call):
 *                      what redis-server does per request, system calls between the hooks
 * each in rounds of 500 through the program's call (so through the agent's hook when it is
 * preloaded), each followed by a round calling libc's function directly; prints
 * "added_ns X ns_per_call Y": the median over rounds of the difference per call, and the
 * fastest round of the program's calls.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define ROUND 500L /* calls per round: ~1 ms, rarely preempted */

static int fd, wfd; /* read from fd; nbsock: wfd is the socket's other end */
static ssize_t (*direct_read)(int, void *, size_t);
static ssize_t (*direct_write)(int, const void *, size_t);
static int (*direct_epoll_wait)(int, struct epoll_event *, int, int);
static int ep; /* loop: the epoll set watching fd */

/* The calls of one request, through the program's names or libc's directly. */
typedef struct {
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	void *(*malloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	void (*free)(void *);
} loop_calls;
static loop_calls hooked_calls = {epoll_wait, read, write, malloc, malloc_usable_size, free};
static loop_calls direct_calls;

/* A round of reads; with refill, each read's 8 bytes are written first (not timed). */
static double read_round(ssize_t (*rd)(int, void *, size_t), int refill)
{
	char buf[8];
	uint64_t t = 0, t0 = now_ns();
	for (long i = 0; i < ROUND; i++) {
		if (refill) {
			if (direct_write(wfd, "abcdefgh", sizeof(buf)) != (ssize_t)sizeof(buf))
				exit(1);
			t0 = now_ns();
		}
		if (rd(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			exit(1);
		if (refill)
			t += now_ns() - t0;
	}
	return (double)(refill ? t : now_ns() - t0) / ROUND;
}

static double epoll_round(int (*wait)(int, struct epoll_event *, int, int))
{
	struct epoll_event ev;
	uint64_t t0 = now_ns();
	for (long i = 0; i < ROUND; i++)
		if (wait(fd, &ev, 1, -1) != 1)
			exit(1);
	return (double)(now_ns() - t0) / ROUND;
}

/* A round of requests: the client's side by raw system calls (no hook either way). */
static double loop_round(const loop_calls *c)
{
	static const char req[] = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
	char buf[64];
	struct epoll_event ev[8];
	uint64_t t = 0;
	for (long i = 0; i < ROUND; i++) {
		if (syscall(SYS_write, wfd, req, sizeof(req) - 1) != (long)sizeof(req) - 1)
			exit(1);
		uint64_t t0 = now_ns();
		if (c->epoll_wait(ep, ev, 8, -1) != 1 ||
		    c->read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(req) - 1)
			exit(1);
		char *a = c->malloc(48), *b = c->malloc(16);
		if (!a || !b || c->malloc_usable_size(a) < 48)
			exit(1);
		c->free(a);
		c->free(b);
		if (c->write(fd, "$3\r\nval\r\n", 9) != 9)
			exit(1);
		t += now_ns() - t0;
		if (syscall(SYS_read, wfd, buf, sizeof(buf)) != 9)
			exit(1);
	}
	return (double)t / ROUND;
}

static double hooked_loop(void)
{
	return loop_round(&hooked_calls);
}
static double direct_loop(void)
{
	return loop_round(&direct_calls);
}

static double hooked_read(void)
{
	return read_round(read, 0);
}
static double direct_read_round(void)
{
	return read_round(direct_read, 0);
}
static double hooked_nbsock(void)
{
	return read_round(read, 1);
}
static double direct_nbsock(void)
{
	return read_round(direct_read, 1);
}
static double hooked_epoll(void)
{
	return epoll_round(epoll_wait);
}
static double direct_epoll(void)
{
	return epoll_round(direct_epoll_wait);
}

/* fd: the ready epoll set (epoll) or the socket to read (nbsock), or /dev/zero (read). */
static int open_mode(const char *mode)
{
	if (strcmp(mode, "read") == 0)
		return (fd = open("/dev/zero", O_RDONLY)) < 0 ? -1 : 0;
	int p[2];
	if (strcmp(mode, "nbsock") == 0 || strcmp(mode, "loop") == 0) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) < 0)
			return -1;
		fd = p[0];
		wfd = p[1];
		if (strcmp(mode, "nbsock") == 0)
			return 0;
		struct epoll_event e = {.events = EPOLLIN};
		ep = epoll_create1(0);
		return ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0 ? -1 : 0;
	}
	if (strcmp(mode, "epoll") != 0 || pipe(p) < 0 || write(p[1], "x", 1) != 1)
		return -1;
	struct epoll_event e = {.events = EPOLLIN};
	fd = epoll_create1(0);
	return fd < 0 || epoll_ctl(fd, EPOLL_CTL_ADD, p[0], &e) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 || open_mode(argv[1]) < 0) {
		fprintf(stderr, "usage: bench_io read|nbsock|epoll|loop N\n");
		return 2;
	}
	long rounds = atol(argv[2]) / ROUND;
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (!libc || rounds <= 0)
		return 1;
	direct_read = (ssize_t(*)(int, void *, size_t))dlsym(libc, "read");
	direct_write = (ssize_t(*)(int, const void *, size_t))dlsym(libc, "write");
	direct_epoll_wait = (int (*)(int, struct epoll_event *, int, int))dlsym(libc, "epoll_wait");
	direct_calls = (loop_calls){direct_epoll_wait,
				    direct_read,
				    direct_write,
				    (void *(*)(size_t))dlsym(libc, "malloc"),
				    (size_t(*)(void *))dlsym(libc, "malloc_usable_size"),
				    (void (*)(void *))dlsym(libc, "free")};
	if (!direct_read || !direct_write || !direct_epoll_wait || !direct_calls.malloc ||
	    !direct_calls.malloc_usable_size || !direct_calls.free)
		return 1;
	if (strcmp(argv[1], "read") == 0)
		return print_added(rounds, hooked_read, direct_read_round, "ns_per_call");
	if (strcmp(argv[1], "nbsock") == 0)
		return print_added(rounds, hooked_nbsock, direct_nbsock, "ns_per_call");
	if (strcmp(argv[1], "loop") == 0)
		return print_added(rounds, hooked_loop, direct_loop, "ns_per_request");
	return print_added(rounds, hooked_epoll, direct_epoll, "ns_per_call");
}
