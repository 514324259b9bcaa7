/*
 * epoll_server — a small epoll echo server on 127.0.0.1 and client threads that talk to it
 * at a slow pace: a program whose threads spend nearly all their time waiting for the
 * network in epoll_wait.
 *
 * The server thread (server_loop) accepts CLIENTS connections and echoes every message
 * back. Each client thread (client_loop) sends MESSAGES messages, waits for each echo in
 * epoll_wait, and paces itself by waiting THINK_MS on its own epoll instance between
 * messages, as an event loop with a timer would. The server stops once every client has
 * hung up; main joins everything. Bounded: about 0.6 s, output deterministic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { CLIENTS = 3, MESSAGES = 60, THINK_MS = 10, MSG_LEN = 32 };

static struct sockaddr_in server_addr;
static long echoed_bytes;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void add_fd(int ep, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

/* Echoes what is readable on fd; returns 0 once the peer has hung up. */
static int echo_once(int fd)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	echoed_bytes += n;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(fd, buf + off, (size_t)(n - off));
		if (w < 0)
			return 0;
		off += w;
	}
	return 1;
}

__attribute__((noinline)) static void server_loop(int lfd)
{
	int ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	add_fd(ep, lfd);
	int accepted = 0, closed = 0;
	while (closed < CLIENTS) {
		struct epoll_event evs[16];
		int n = epoll_wait(ep, evs, 16, 2000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("epoll_wait (server)");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				int c = accept(lfd, NULL, NULL);
				if (c < 0)
					die("accept");
				add_fd(ep, c);
				accepted++;
			} else if (!echo_once(fd)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				closed++;
			}
		}
	}
	close(ep);
	printf("server: %d connections, %ld bytes echoed\n", accepted, echoed_bytes);
}

static void *server_main(void *arg)
{
	server_loop((int)(long)arg);
	return NULL;
}

/* Waits up to ms on ep; returns the number of ready events. */
__attribute__((noinline)) static int client_wait(int ep, int ms)
{
	struct epoll_event ev;
	int n;
	do
		n = epoll_wait(ep, &ev, 1, ms);
	while (n < 0 && errno == EINTR);
	return n;
}

__attribute__((noinline)) static void client_loop(int id)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0)
		die("connect");
	int ep = epoll_create1(0), timer = epoll_create1(0);
	if (ep < 0 || timer < 0)
		die("epoll_create1");
	add_fd(ep, fd);
	char msg[MSG_LEN], reply[MSG_LEN];
	for (int i = 0; i < MESSAGES; i++) {
		snprintf(msg, sizeof(msg), "client %d message %d", id, i);
		if (write(fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			die("write");
		size_t got = 0;
		while (got < sizeof(reply)) {
			if (client_wait(ep, 2000) != 1)
				die("no echo");
			ssize_t n = read(fd, reply + got, sizeof(reply) - got);
			if (n <= 0)
				die("read");
			got += (size_t)n;
		}
		if (memcmp(msg, reply, sizeof(msg)) != 0)
			die("echo mismatch");
		client_wait(timer, THINK_MS); /* nothing ever arrives: a timed pause */
	}
	close(timer);
	close(ep);
	close(fd);
}

static void *client_main(void *arg)
{
	client_loop((int)(long)arg);
	return NULL;
}

int main(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(server_addr);
	if (bind(lfd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0 ||
	    listen(lfd, CLIENTS) < 0 || getsockname(lfd, (struct sockaddr *)&server_addr, &len) < 0)
		die("listen");
	pthread_t server, clients[CLIENTS];
	pthread_create(&server, NULL, server_main, (void *)(long)lfd);
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&clients[i], NULL, client_main, (void *)(long)i);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(clients[i], NULL);
	pthread_join(server, NULL);
	close(lfd);
	printf("clients: %d x %d messages\n", CLIENTS, MESSAGES);
	return 0;
}
