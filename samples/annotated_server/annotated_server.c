/* annotated_server — a small epoll server that tells its profiler what it is doing, with
 * include/ctrace/annotate.h (docs/annotate.md). Run it under `ctrace record` (`make demo`
 * does) and ask which endpoint burns the CPU:
 *
 *     ctrace report --tag endpoint=/render ctrace.out/cpu.pb.gz
 *     go tool pprof -tags ctrace.out/cpu.pb.gz
 *
 * An acceptor thread waits in epoll for connections and request lines ("GET /path"); each
 * request becomes a task (ctrace_task_begin) handed through a queue to one of two worker
 * threads, which handle it inside a task region with the profile label endpoint=<path>
 * pushed, so every CPU sample and sampled allocation of the handler names the endpoint.
 * A client thread of the same program sends REQUESTS requests over loopback (/render
 * costs ~4x /search, /health nearly nothing) and the program exits when all are answered.
 * Without ctrace the annotations cost a branch each and the program runs the same.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctrace/annotate.h"

enum { REQUESTS = 600, QUEUE = 64, WORKERS = 2 };

typedef struct {
	int fd;
	uint64_t task;
	char path[32];
} request;

static request queue[QUEUE];
static int q_head, q_tail, q_done;
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static volatile unsigned long sink;

static void spin(long n)
{
	for (long i = 0; i < n; i++)
		sink = sink * 31 + (unsigned long)i;
}

/* The handlers: what each endpoint costs. */
static void handle(const char *path, char *reply, size_t len)
{
	if (strcmp(path, "/render") == 0) {
		char *page = malloc(64 * 1024); /* the rendered page */
		spin(4000000);
		memset(page, 'x', 64 * 1024);
		snprintf(reply, len, "200 rendered %c\n", page[100]);
		free(page);
	} else if (strcmp(path, "/search") == 0) {
		spin(1000000);
		snprintf(reply, len, "200 found %lu\n", sink % 100);
	} else {
		snprintf(reply, len, "200 ok\n");
	}
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&q_mu);
		while (q_head == q_tail && !q_done)
			pthread_cond_wait(&q_cv, &q_mu);
		if (q_head == q_tail) {
			pthread_mutex_unlock(&q_mu);
			return NULL;
		}
		request r = queue[q_head++ % QUEUE];
		pthread_cond_broadcast(&q_cv);
		pthread_mutex_unlock(&q_mu);

		char reply[64];
		ctrace_task_region_begin(r.task, "handle");
		ctrace_label_push("endpoint", r.path);
		handle(r.path, reply, sizeof reply);
		ctrace_label_pop();
		ctrace_region_end();
		ssize_t w = write(r.fd, reply, strlen(reply));
		(void)w;
		close(r.fd);
		ctrace_task_end(r.task);
	}
}

static void enqueue(request r)
{
	pthread_mutex_lock(&q_mu);
	while (q_tail - q_head == QUEUE)
		pthread_cond_wait(&q_cv, &q_mu);
	queue[q_tail++ % QUEUE] = r;
	pthread_cond_broadcast(&q_cv);
	pthread_mutex_unlock(&q_mu);
}

/* Reads one request line from a ready connection and hands it to a worker as a task. */
static void accept_request(int ep, int fd)
{
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	if (n <= 0) {
		close(fd);
		return;
	}
	buf[n] = 0;
	request r = {.fd = fd};
	if (sscanf(buf, "GET %31s", r.path) != 1)
		snprintf(r.path, sizeof r.path, "/bad");
	r.task = ctrace_task_begin("request");
	ctrace_task_region_begin(r.task, "accept");
	ctrace_log("http", "GET %s on fd %d", r.path, fd);
	ctrace_region_end();
	enqueue(r);
}

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (int served = 0; served < REQUESTS;) {
		struct epoll_event ready[16];
		int n = epoll_wait(ep, ready, 16, 1000);
		for (int i = 0; i < n; i++) {
			int fd = ready[i].data.fd;
			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
				if (c >= 0)
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
			} else {
				accept_request(ep, fd);
				served++;
			}
		}
	}
	close(ep);
	return NULL;
}

/* The load: REQUESTS requests, one connection each, 4 /search : 2 /render : 1 /health. */
static void *client(void *arg)
{
	struct sockaddr_in addr = *(struct sockaddr_in *)arg;
	static const char *const paths[] = {"/search", "/render", "/search", "/health",
					    "/search", "/render", "/search"};
	int answered = 0;
	for (int i = 0; i < REQUESTS; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
			close(fd);
			continue;
		}
		char req[64], reply[64];
		int len = snprintf(req, sizeof req, "GET %s\n", paths[i % 7]);
		if (write(fd, req, (size_t)len) == len && read(fd, reply, sizeof reply) > 0)
			answered++;
		close(fd);
	}
	printf("annotated_server: %d of %d requests answered\n", answered, REQUESTS);
	return NULL;
}

int main(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof addr;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(lfd, 128) < 0 || getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("annotated_server: listen");
		return 1;
	}
	pthread_t acc, cli, work[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&work[i], NULL, worker, NULL);
	pthread_create(&acc, NULL, acceptor, &lfd);
	pthread_create(&cli, NULL, client, &addr);
	pthread_join(cli, NULL);
	pthread_join(acc, NULL);
	pthread_mutex_lock(&q_mu);
	q_done = 1;
	pthread_cond_broadcast(&q_cv);
	pthread_mutex_unlock(&q_mu);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(work[i], NULL);
	close(lfd);
	return 0;
}
