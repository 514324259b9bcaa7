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
 * listen backlog, or get 503), sends with MSG_NOSIGNAL and at most 10 s to send a reply. Every
 * server thread runs with the agent guard set and every signal blocked, and is created
 * before the sampler starts (no perf event is inherited), so it is invisible in the
 * profiles and its allocations are not counted. A forked child closes the inherited
 * sockets and runs no server.
 *
 * Every socket (the listener and each connection) is held by the fd guard (fdguard.h): at a
 * high number, and pinned for each system call that reads, writes, accepts or shuts it
 * down (slot_send and the rest: a program's dup2 onto the number waits for the call, and
 * a number no longer ours is not used), so a program that closes or dup2()s over every fd
 * can neither break the server nor have it read, write or accept on the program's own
 * files. Those calls never block under the pin: the sockets are non-blocking and the
 * waits for readiness (poll) are made unpinned. A listener lost to a raw close_range is
 * made again on the same address (the server thread checks it at least every CHECK_MS); a
 * connection lost that way is dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#include "agent/fdguard.h"
#include "agent/http.h"
#include "agent/internal.h"
#include "agent/live.h"
#include "agent/sighooks.h"
#include "libtrace/httpaddr.h"
#include "libtrace/outdir.h"

#define REQ_MAX 8192
#define HEAD_TIMEOUT_MS 5000
#define SEND_TIMEOUT_S 10
#define MAX_CONNS 8
#define MAX_HANDLERS 4
#define CHECK_MS 1000 /* the listener's check when idle */
/* A poll's longest wait while the program moves our sockets (fd_daemon sock: a dup2 over
 * the agent's range, round after round): a poll set up on a number the program took over
 * meanwhile waits on the program's file, so a request stalled for up to CHECK_MS (test_fds:
 * 1 s, one request in ~8). Moves in the last CHURN_WINDOW_NS make every wait short. */
#define CHURN_MS 10
#define CHURN_WINDOW_NS 2000000000ull

/* How long a poll on our sockets may wait: CHECK_MS, or CHURN_MS while our fds move. */
static int check_ms(void)
{
	uint64_t t = ct_fdg_last_move_ns();
	return t && ct_now() - t < CHURN_WINDOW_NS ? CHURN_MS : CHECK_MS;
}

typedef struct {
	int slot; /* fd guard slot */
	size_t len;
	uint64_t deadline_ms;
	char buf[REQ_MAX + 1];
} conn;

static int listen_slot = -1;   /* fd guard slot; the server thread's; closed in a fork child */
static char listen_addr[160];  /* what to listen on again: unix:PATH, HOST:PORT (port bound) */
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

void ct_http_vprintf(ct_http_resp *r, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n > 0)
		ct_http_append(r, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void ct_http_printf(ct_http_resp *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ct_http_vprintf(r, fmt, ap);
	va_end(ap);
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

/* One send on slot's socket, its fd pinned; -1 with errno EBADF when it is not ours any
 * more. Never blocks (EAGAIN instead). */
static ssize_t slot_send(int slot, const void *p, size_t n)
{
	int fd = ct_fdg_pin(slot);
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	int e = errno;
	ct_fdg_unpin();
	errno = e;
	return w;
}

/* The same for a receive. */
static ssize_t slot_recv(int slot, void *p, size_t n)
{
	int fd = ct_fdg_pin(slot);
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
	int e = errno;
	ct_fdg_unpin();
	errno = e;
	return r;
}

static void slot_shutdown(int slot, int how)
{
	int fd = ct_fdg_pin(slot);
	if (fd >= 0) {
		shutdown(fd, how);
		ct_fdg_unpin();
	}
}

/* Sends all n bytes, waiting (unpinned, checked again each CHECK_MS) while the peer's
 * window is full, for at most SEND_TIMEOUT_S in all: the peer left or stalled otherwise. */
static void send_all(int slot, const char *p, size_t n)
{
	uint64_t deadline = now_ms() + SEND_TIMEOUT_S * 1000u;
	while (n) {
		ssize_t w = slot_send(slot, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		uint64_t now = now_ms();
		int fd = ct_fdg_check(slot);
		if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || fd < 0 ||
		    now >= deadline)
			return;
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		uint64_t left = deadline - now;
		int wait = check_ms();
		poll(&pf, 1, left < (uint64_t)wait ? (int)left : wait);
	}
}

/* head_only: a HEAD request's reply, the headers alone (Go's server: the length the body
 * would have, no body). */
static void write_resp(int slot, const ct_http_resp *r, int head_only)
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
	send_all(slot, head, (size_t)n);
	if (!head_only)
		send_all(slot, r->body ? r->body : "", r->len);
}

/* A plain error written by the transport itself (Go's server texts: "400 Bad Request"). */
static void write_plain(int slot, int code)
{
	ct_http_resp r = {.status = code};
	char text[64];
	int n = snprintf(text, sizeof(text), "%d %s", code, reason(code));
	r.body = text;
	r.len = (size_t)n;
	write_resp(slot, &r, 0);
}

/* After an error reply to a request not read to its end: read what already arrived so
 * that the close sends FIN, not a reset that could discard the reply at the peer. */
static void linger_close(int slot)
{
	char sink[4096];
	slot_shutdown(slot, SHUT_WR);
	for (int i = 0; i < 16 && slot_recv(slot, sink, sizeof(sink)) > 0; i++)
		;
}

/* Closes conns[i] (lingering after an error reply). */
static void close_conn(int i, int linger)
{
	if (linger)
		linger_close(conns[i]->slot);
	ct_fdg_release(conns[i]->slot);
	free(conns[i]);
	conns[i] = NULL;
}

typedef struct {
	int slot;
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

int ct_http_wait(const ct_http_resp *r, uint64_t ns)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t t = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec, end = t + ns;
	while (t < end) {
		int fd = ct_fdg_check(r->conn); /* checked each round: the program may close it */
		if (fd < 0)
			return -ECONNRESET;
		uint64_t left_ms = (end - t + 999999) / 1000000;
		struct pollfd p = {.fd = fd, .events = POLLRDHUP};
		int wait = check_ms();
		if (poll(&p, 1, left_ms > (uint64_t)wait ? wait : (int)left_ms) > 0 &&
		    (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
			return -ECONNRESET;
		clock_gettime(CLOCK_MONOTONIC, &now);
		t = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	}
	return 0;
}

static void *handler_main(void *arg)
{
	ct_tls_guard = 1;
	job *j = arg;
	uint64_t t0 = thread_cpu_ns();
	ct_http_resp r = {.status = 200, .conn = j->slot};
	j->body[j->body_len] = 0;
	ct_live_serve(&j->req, j->body, j->body_len, &r);
	/* Each send checks the socket: a program that closed it meanwhile gets nothing. */
	if (r.oom)
		write_plain(j->slot, 500);
	else
		write_resp(j->slot, &r, strcmp(j->req.method, "HEAD") == 0);
	/* What serving cost the program, for CTRACE_VERBOSE and bench_live. */
	uint64_t mine = thread_cpu_ns() - t0, coll = ct_live_collector_ns();
	ct_log("http: %s %s: %d, %zu bytes, %.3f ms CPU (handler %.3f, collector %.3f)",
	       j->req.method, j->req.path, r.oom ? 500 : r.status, r.len,
	       (double)(mine + coll) / 1e6, (double)mine / 1e6, (double)coll / 1e6);
	slot_shutdown(j->slot, SHUT_WR);
	ct_fdg_release(j->slot);
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
		write_plain(c->slot, 503);
		close_conn(i, 1);
		return;
	}
	j->slot = c->slot;
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
		write_plain(j->slot, 503);
		ct_fdg_release(j->slot);
		free(j);
		atomic_fetch_sub_explicit(&handlers, 1, memory_order_relaxed);
	}
}

/* Reads what conns[i] has; answers 400/431 or dispatches once the request is whole. */
static void read_conn(int i)
{
	conn *c = conns[i];
	ssize_t n = slot_recv(c->slot, c->buf + c->len, REQ_MAX - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) { /* the peer left, or the socket is not ours any more */
		close_conn(i, 0);
		return;
	}
	c->len += (size_t)n;
	ct_http_req req;
	int r = ct_http_parse(c->buf, c->len, REQ_MAX, &req);
	if (r == 0 && c->len == REQ_MAX)
		r = -E2BIG;
	if (r < 0) {
		write_plain(c->slot, r == -E2BIG ? 431 : 400);
		close_conn(i, 1);
		return;
	}
	if (r == 1 && req.head_len + req.content_length > REQ_MAX) {
		write_plain(c->slot, 431);
		close_conn(i, 1);
	} else if (r == 1 && c->len >= req.head_len + req.content_length) {
		dispatch(i, &req);
	}
}

/* Takes one connection from the listener (pinned: never the program's socket at that
 * number; non-blocking, so a connection gone since the poll costs nothing). The new socket
 * is adopted at once: a 503 for a connection beyond MAX_CONNS is written to it held. */
static void accept_conn(void)
{
	int lfd = ct_fdg_pin(listen_slot);
	if (lfd < 0)
		return;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ct_fdg_unpin();
	if (fd < 0)
		return;
	int gslot = ct_fdg_adopt(fd, CT_FDG_FILE);
	if (gslot < 0) /* fd is closed */
		return;
	int i = 0;
	while (i < MAX_CONNS && conns[i])
		i++;
	conn *c = i < MAX_CONNS ? malloc(sizeof(conn)) : NULL;
	if (!c) {
		write_plain(gslot, 503);
		ct_fdg_release(gslot);
		return;
	}
	c->slot = gslot;
	c->len = 0;
	c->deadline_ms = now_ms() + HEAD_TIMEOUT_MS;
	conns[i] = c;
}

static int open_listener(const char *addr);

/* The listener's number, checked; made again on the same address when the program took it
 * (a raw close_range), -1 until then. Not at once: a program that just closed every fd is
 * about to open its own, and a socket made now would take one of the low numbers it
 * expects (open("/dev/null") must return 0) — so CHECK_MS after the loss was seen. */
static int listener(uint64_t now)
{
	static uint64_t lost_at;
	int fd = ct_fdg_check(listen_slot);
	if (fd >= 0)
		return fd;
	if (!lost_at)
		lost_at = now;
	if (now - lost_at < CHECK_MS)
		return -1;
	lost_at = 0;
	ct_fdg_release(listen_slot); /* forgotten: frees the slot, closes nothing */
	listen_slot = open_listener(listen_addr);
	if (listen_slot < 0)
		ct_log("http: lost the socket of %s and cannot listen again: %s", listen_addr,
		       strerror(-listen_slot));
	return ct_fdg_get(listen_slot);
}

static void at_exit_unlink(void);
static char asked[201]; /* CTRACE_HTTP */
static const char child_reason[] = "a child process (the run's first process serves)";
static _Atomic int stopping;
static pthread_t server_thread;
static int server_running; /* server_thread is joinable */

static void *server_main(void *arg)
{
	(void)arg;
	ct_tls_guard = 1;
	while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
		struct pollfd pfds[MAX_CONNS + 1];
		int idx[MAX_CONNS + 1], n = 0;
		uint64_t now = now_ms();
		int timeout = check_ms(), lfd = listener(now);
		pfds[n] = (struct pollfd){.fd = lfd, .events = POLLIN}; /* -1: ignored by poll */
		idx[n++] = -1;
		for (int i = 0; i < MAX_CONNS; i++) {
			if (!conns[i])
				continue;
			int fd = ct_fdg_check(conns[i]->slot);
			if (fd < 0 || now >= conns[i]->deadline_ms) {
				close_conn(i, 0); /* the head did not arrive in time, or fd lost */
				continue;
			}
			int left = (int)(conns[i]->deadline_ms - now);
			timeout = left < timeout ? left : timeout;
			pfds[n] = (struct pollfd){.fd = fd, .events = POLLIN};
			idx[n++] = i;
		}
		if (poll(pfds, (nfds_t)n, timeout) <= 0)
			continue;
		for (int k = 1; k < n; k++)
			if (pfds[k].revents)
				read_conn(idx[k]);
		/* Accept only while lfd is still ours (a raw close_range may have given its
		 * number to the program during the poll). */
		if ((pfds[0].revents & POLLIN) && ct_fdg_check(listen_slot) == lfd)
			accept_conn();
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i])
			close_conn(i, 0);
	return NULL;
}

void ct_http_stop(void)
{
	if (!server_running)
		return;
	atomic_store_explicit(&stopping, 1, memory_order_relaxed);
	/* Wakes the poll: the listener turns readable, with an error. */
	int fd = ct_fdg_check(listen_slot);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(server_thread, NULL, &until) == 0)
		server_running = 0;
	at_exit_unlink(); /* now: the exit's would be a system call past a sandbox's filter */
}

static void at_fork_child(void)
{
	server_running = 0; /* the thread is not in the child */
	snprintf(status, sizeof(status), "not serving %.200s: %s", asked, child_reason);
	ct_fdg_release(listen_slot);
	listen_slot = -1;
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i]) {
			ct_fdg_release(conns[i]->slot);
			free(conns[i]);
			conns[i] = NULL;
		}
}

static void at_exit_unlink(void)
{
	if (unix_path[0] && getpid() == server_pid)
		ct_http_unix_remove(unix_path);
	unix_path[0] = 0;
}

/* A unix socket at path (httpunix.c: mode 0600, a stale socket file replaced, a live one
 * refused). */
static int listen_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int r = ct_http_unix_bind(fd, path);
	if (r < 0 || listen(fd, 16) < 0) {
		r = r < 0 ? r : -errno;
		close(fd);
		return r;
	}
	snprintf(unix_path, sizeof(unix_path), "%s", path);
	snprintf(status, sizeof(status), "serving unix:%s", path);
	snprintf(listen_addr, sizeof(listen_addr), "unix:%s", path);
	return fd;
}

static int listen_tcp(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (ct_http_addr_parse(addr, &ss, &len) < 0)
		return -EINVAL;
	if (!ct_http_addr_allowed(&ss))
		return -EACCES;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
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
		snprintf(listen_addr, sizeof(listen_addr), "[%s]:%d", host, port);
	} else {
		struct sockaddr_in *in = (void *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(status, sizeof(status), "serving http://%s:%d/debug/pprof/", host, port);
		snprintf(listen_addr, sizeof(listen_addr), "%s:%d", host, port);
	}
	return fd;
}

/* A listening socket on addr, held by the fd guard: its slot, or -errno. */
static int open_listener(const char *addr)
{
	int fd = strncmp(addr, "unix:", 5) == 0 ? listen_unix(addr + 5) : listen_tcp(addr);
	return fd < 0 ? fd : ct_fdg_adopt(fd, CT_FDG_FILE);
}

/* The run's first process tells `ctrace record --http` what became of CTRACE_HTTP
 * (DIR/.http, libtrace/outdir.h): record announces the real port, or why it does not
 * serve, rather than the address it was given. */
static void announce(void)
{
	char path[sizeof(ct_cfg.out_dir) + 16], line[sizeof(status) + 1];
	snprintf(path, sizeof(path), "%s/%s", ct_cfg.out_dir, CT_FILE_HTTP);
	int n = snprintf(line, sizeof(line), "%s\n", status);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		ct_log("http: cannot write %s", path);
	close(fd);
}

/* Port 0 asked for, in a program that the run's first process exec'd (a wrapper's `exec
 * ./server`): the port the image before it announced in DIR/.http, so that the address
 * `ctrace record` printed stays good; any port when that one cannot be had. */
static int open_announced(const char *addr)
{
	size_t len = strlen(addr);
	char path[sizeof(ct_cfg.out_dir) + 16], line[400] = "", again[200];
	if (len < 2 || strcmp(addr + len - 2, ":0") != 0 || len - 1 > sizeof(again) - 8)
		return open_listener(addr);
	snprintf(path, sizeof(path), "%s/%s", ct_cfg.out_dir, CT_FILE_HTTP);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, line, sizeof(line) - 1);
		line[n > 0 ? n : 0] = 0;
		close(fd);
	}
	const char *p = strncmp(line, "serving http://", 15) == 0 ? strchr(line + 15, '/') : NULL;
	const char *colon = p ? memrchr(line, ':', (size_t)(p - line)) : NULL;
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;
	if (port > 0 && port < 65536) {
		snprintf(again, sizeof(again), "%.*s%ld", (int)(len - 1), addr, port);
		if ((fd = open_listener(again)) >= 0)
			return fd;
	}
	return open_listener(addr);
}

static int start(const char *addr)
{
	int fd = open_announced(addr);
	if (fd < 0) {
		snprintf(status, sizeof(status), "not serving %.200s: %s", addr,
			 ct_http_addr_error(fd));
		ct_log("http: %s", status); /* stderr under CTRACE_VERBOSE */
		return fd;
	}
	listen_slot = fd;
	server_pid = getpid();
	int r = ct_sig_thread_create(&server_thread, server_main, "ctrace-http");
	if (r) {
		ct_fdg_release(listen_slot);
		listen_slot = -1;
		snprintf(status, sizeof(status), "not serving %.200s: %s", addr, strerror(-r));
		return r;
	}
	server_running = 1; /* joined by ct_http_stop only: an exit just leaves it */
	pthread_atfork(NULL, NULL, at_fork_child);
	atexit(at_exit_unlink);
	ct_log("http: %s", status);
	return 0;
}

int ct_http_start(void)
{
	const char *addr = getenv("CTRACE_HTTP");
	if (!addr || !*addr)
		return 0;
	/* Only the run's first process serves (and the programs it execs): every process it
	 * started inherited CTRACE_HTTP, and each served on a port of its own (a `make` ran a
	 * server per compiler) or, with a fixed port, reported it in use. */
	snprintf(asked, sizeof(asked), "%s", addr);
	if (ct_own_folder()) {
		snprintf(status, sizeof(status), "not serving %.200s: %s", addr, child_reason);
		return 0;
	}
	int r = start(addr);
	announce();
	return r;
}
