/*
 * http.c — the live server's transport: one listening socket (TCP on a loopback address,
 * or a unix socket created 0600), one server thread that accepts and reads requests with
 * poll, and a few handler threads that answer them (agent/live.c) — plain sockets, no
 * dependency.
 *
 * Limits, because the peer is untrusted and the program must never notice it: a request
 * head and body of at most 8 KiB together (a larger head gets Go's 431, a malformed one
 * 400), a head read within 5 s of the accept or the connection is closed, at most
 * MAX_CONNS connections being read and MAX_HANDLERS being answered (more wait in the
 * listen backlog, or get 503), sends with MSG_NOSIGNAL and a 10 s send timeout. Every
 * server thread runs with the agent guard set and every signal blocked, and is created
 * before the sampler starts (no perf event is inherited), so it is invisible in the
 * profiles and its allocations are not counted. A forked child closes the inherited
 * sockets and runs no server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent/http.h"
#include "agent/internal.h"
#include "agent/live.h"

#define REQ_MAX 8192
#define HEAD_TIMEOUT_MS 5000
#define SEND_TIMEOUT_S 10
#define MAX_CONNS 8
#define MAX_HANDLERS 4

typedef struct {
	int fd;
	size_t len;
	uint64_t deadline_ms;
	char buf[REQ_MAX + 1];
} conn;

static int listen_fd = -1;     /* the server thread's; closed in a forked child */
static conn *conns[MAX_CONNS]; /* server thread's */
static _Atomic int handlers;   /* handler threads running */
static char status[320];       /* written once by ct_http_start, read at exit */
static char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pid_t server_pid;

const char *ct_http_status(void)
{
	return status;
}

void ct_http_append(ct_http_resp *r, const void *data, size_t len)
{
	if (r->oom || !len)
		return;
	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		while (cap < r->len + len)
			cap *= 2;
		char *b = realloc(r->body, cap);
		if (!b) {
			r->oom = 1;
			return;
		}
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
}

void ct_http_printf(ct_http_resp *r, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		ct_http_append(r, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void ct_http_error(ct_http_resp *r, int code, const char *text)
{
	r->status = code;
	r->ctype = "text/plain; charset=utf-8";
	r->go_error = 1;
	r->disposition[0] = 0;
	r->len = 0;
	ct_http_printf(r, "%s\n", text);
}

static uint64_t now_ms(void)
{
	return ct_now() / 1000000u;
}

static const char *reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the peer left or stalled past the send timeout */
		p += w;
		n -= (size_t)w;
	}
}

static void write_resp(int fd, const ct_http_resp *r)
{
	char head[768];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "X-Content-Type-Options: nosniff\r\n%s%s%s%sConnection: close\r\n\r\n",
			 r->status, reason(r->status),
			 r->ctype ? r->ctype : "text/plain; charset=utf-8", r->len,
			 r->go_error ? "X-Go-Pprof: 1\r\n" : "",
			 r->disposition[0] ? "Content-Disposition: " : "", r->disposition,
			 r->disposition[0] ? "\r\n" : "");
	send_all(fd, head, (size_t)n);
	send_all(fd, r->body ? r->body : "", r->len);
}

/* A plain error written by the transport itself (Go's server texts: "400 Bad Request"). */
static void write_plain(int fd, int code)
{
	ct_http_resp r = {.status = code};
	char text[64];
	int n = snprintf(text, sizeof(text), "%d %s", code, reason(code));
	r.body = text;
	r.len = (size_t)n;
	write_resp(fd, &r);
}

/* After an error reply to a request not read to its end: read what already arrived so
 * that the close sends FIN, not a reset that could discard the reply at the peer. */
static void linger_close(int fd)
{
	char sink[4096];
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	close(fd);
}

static void close_conn(int i)
{
	linger_close(conns[i]->fd);
	free(conns[i]);
	conns[i] = NULL;
}

typedef struct {
	int fd;
	ct_http_req req;
	size_t body_len;
	char body[REQ_MAX + 1];
} job;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *handler_main(void *arg)
{
	ct_tls_guard = 1;
	job *j = arg;
	uint64_t t0 = thread_cpu_ns();
	ct_http_resp r = {.status = 200};
	j->body[j->body_len] = 0;
	ct_live_serve(&j->req, j->body, j->body_len, &r);
	if (r.oom)
		write_plain(j->fd, 500);
	else
		write_resp(j->fd, &r);
	/* What serving cost the program, for CTRACE_VERBOSE and bench_live. */
	uint64_t mine = thread_cpu_ns() - t0, coll = ct_live_collector_ns();
	ct_log("http: %s %s: %d, %zu bytes, %.3f ms CPU (handler %.3f, collector %.3f)",
	       j->req.method, j->req.path, r.oom ? 500 : r.status, r.len,
	       (double)(mine + coll) / 1e6, (double)mine / 1e6, (double)coll / 1e6);
	shutdown(j->fd, SHUT_WR);
	close(j->fd);
	free(r.body);
	free(j);
	atomic_fetch_sub_explicit(&handlers, 1, memory_order_relaxed);
	return NULL;
}

/* The head and body of conns[i] are complete: hand it to a handler thread. */
static void dispatch(int i, const ct_http_req *req)
{
	conn *c = conns[i];
	job *j = malloc(sizeof(*j));
	if (!j || atomic_fetch_add_explicit(&handlers, 1, memory_order_relaxed) >= MAX_HANDLERS) {
		if (j)
			atomic_fetch_sub_explicit(&handlers, 1, memory_order_relaxed);
		free(j);
		write_plain(c->fd, 503);
		close_conn(i);
		return;
	}
	j->fd = c->fd;
	j->req = *req;
	j->body_len = req->content_length;
	memcpy(j->body, c->buf + req->head_len, j->body_len);
	free(c);
	conns[i] = NULL;
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &attr, handler_main, j);
	pthread_attr_destroy(&attr);
	if (r) {
		write_plain(j->fd, 503);
		close(j->fd);
		free(j);
		atomic_fetch_sub_explicit(&handlers, 1, memory_order_relaxed);
	}
}

/* Reads what conns[i] has; answers 400/431 or dispatches once the request is whole. */
static void read_conn(int i)
{
	conn *c = conns[i];
	ssize_t n = recv(c->fd, c->buf + c->len, REQ_MAX - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_conn(i);
		return;
	}
	c->len += (size_t)n;
	ct_http_req req;
	int r = ct_http_parse(c->buf, c->len, REQ_MAX, &req);
	if (r == 0 && c->len == REQ_MAX)
		r = -E2BIG;
	if (r < 0) {
		write_plain(c->fd, r == -E2BIG ? 431 : 400);
		close_conn(i);
		return;
	}
	if (r == 1 && req.head_len + req.content_length > REQ_MAX) {
		write_plain(c->fd, 431);
		close_conn(i);
	} else if (r == 1 && c->len >= req.head_len + req.content_length) {
		dispatch(i, &req);
	}
}

static void accept_conn(void)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	int slot = -1;
	for (int i = 0; i < MAX_CONNS && slot < 0; i++)
		if (!conns[i])
			slot = i;
	conn *c = slot < 0 ? NULL : malloc(sizeof(conn));
	if (!c) {
		write_plain(fd, 503);
		close(fd);
		return;
	}
	struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	c->len = 0;
	c->deadline_ms = now_ms() + HEAD_TIMEOUT_MS;
	conns[slot] = c;
}

static void *server_main(void *arg)
{
	(void)arg;
	ct_tls_guard = 1;
	for (;;) {
		struct pollfd pfds[MAX_CONNS + 1];
		int idx[MAX_CONNS + 1], n = 0;
		uint64_t now = now_ms();
		int timeout = HEAD_TIMEOUT_MS;
		pfds[n] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
		idx[n++] = -1;
		for (int i = 0; i < MAX_CONNS; i++) {
			if (!conns[i])
				continue;
			if (now >= conns[i]->deadline_ms) {
				close_conn(i); /* the head did not arrive in time */
				continue;
			}
			int left = (int)(conns[i]->deadline_ms - now);
			timeout = left < timeout ? left : timeout;
			pfds[n] = (struct pollfd){.fd = conns[i]->fd, .events = POLLIN};
			idx[n++] = i;
		}
		if (poll(pfds, (nfds_t)n, timeout) <= 0)
			continue;
		for (int k = 1; k < n; k++)
			if (pfds[k].revents)
				read_conn(idx[k]);
		if (pfds[0].revents & POLLIN)
			accept_conn();
		if (pfds[0].revents & POLLNVAL)
			return NULL; /* the socket is gone */
	}
}

static void at_fork_child(void)
{
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i]) {
			close(conns[i]->fd);
			free(conns[i]);
			conns[i] = NULL;
		}
}

static void at_exit_unlink(void)
{
	if (unix_path[0] && getpid() == server_pid)
		unlink(unix_path);
}

/* Whether a TCP address may be served: loopback, unless CTRACE_HTTP_ALLOW_REMOTE=1. */
static int allowed(const struct sockaddr_storage *ss)
{
	const char *v = getenv("CTRACE_HTTP_ALLOW_REMOTE");
	if (v && strcmp(v, "1") == 0)
		return 1;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *in6 = (const void *)ss;
	return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* Parses HOST:PORT or [V6]:PORT into *ss. 0 or -EINVAL. */
static int parse_tcp(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	long port = atol(colon + 1);
	size_t hl = (size_t)(colon - addr);
	if (port > 65535 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = 0;
	memset(ss, 0, sizeof(*ss));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *in6 = (void *)ss;
		host[hl - 1] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *in = (void *)ss;
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	*len = sizeof(*in);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

/* A unix socket at path, mode 0600 from its creation on (umask around bind: the
 * constructor runs before the program's threads). A stale socket file is replaced. */
static int listen_unix(const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	if (!*path || strlen(path) >= sizeof(un.sun_path))
		return -ENAMETOOLONG;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	snprintf(unix_path, sizeof(unix_path), "%s", path);
	snprintf(status, sizeof(status), "serving unix:%s", path);
	return fd;
}

static int listen_tcp(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (parse_tcp(addr, &ss, &len) < 0)
		return -EINVAL;
	if (!allowed(&ss))
		return -EACCES;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	char host[INET6_ADDRSTRLEN] = "?";
	int port;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (void *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(status, sizeof(status), "serving http://[%s]:%d/debug/pprof/", host, port);
	} else {
		struct sockaddr_in *in = (void *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(status, sizeof(status), "serving http://%s:%d/debug/pprof/", host, port);
	}
	return fd;
}

int ct_http_start(void)
{
	const char *addr = getenv("CTRACE_HTTP");
	if (!addr || !*addr)
		return 0;
	int fd = strncmp(addr, "unix:", 5) == 0 ? listen_unix(addr + 5) : listen_tcp(addr);
	if (fd < 0) {
		const char *why = fd == -EACCES	  ? "not a loopback address (set "
						    "CTRACE_HTTP_ALLOW_REMOTE=1 to allow it)"
				  : fd == -EINVAL ? "not HOST:PORT, [V6]:PORT or unix:PATH"
						  : strerror(-fd);
		snprintf(status, sizeof(status), "not serving %.200s: %s", addr, why);
		ct_log("http: %s", status); /* stderr under CTRACE_VERBOSE */
		return fd;
	}
	listen_fd = fd;
	server_pid = getpid();
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int r = pthread_create(&t, NULL, server_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		close(listen_fd);
		listen_fd = -1;
		snprintf(status, sizeof(status), "not serving %.200s: %s", addr, strerror(r));
		return -r;
	}
	pthread_detach(t);
	pthread_setname_np(t, "ctrace-http");
	pthread_atfork(NULL, NULL, at_fork_child);
	atexit(at_exit_unlink);
	ct_log("http: %s", status);
	return 0;
}
