/*
 * http.h — the live server's interface between its transport (agent/http.c: sockets,
 * connections, request reading, limits) and its endpoints (agent/live.c: Go's
 * /debug/pprof protocol).
 *
 * A handler runs on one of the server's own threads (agent guard set, every signal
 * blocked, no perf event inherited), fills a response and returns; http.c writes it with
 * Connection: close. Handlers may block (a `seconds=N` profile sleeps N seconds).
 * Response buffers come from malloc (with the guard set: never counted by the heap hooks).
 */
#ifndef CT_AGENT_HTTP_H
#define CT_AGENT_HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "libtrace/httpreq.h"

typedef struct {
	int status;	      /* 200 unless set */
	const char *ctype;    /* Content-Type; "text/plain; charset=utf-8" unless set */
	char disposition[96]; /* Content-Disposition value, "" for none */
	int go_error;	      /* adds X-Go-Pprof: 1 (Go's serveError) */
	char *body;	      /* malloc'd */
	size_t len, cap;
	int oom;  /* an append failed: http.c answers 500 instead */
	int conn; /* set by http.c: the connection's fd guard slot (for ct_http_wait) */
} ct_http_resp;

/* Appends to the body (growing it); on ENOMEM sets oom. */
void ct_http_append(ct_http_resp *r, const void *data, size_t len);
void ct_http_printf(ct_http_resp *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ct_http_vprintf(ct_http_resp *r, const char *fmt, va_list ap);
/* Go's serveError: status, text/plain, X-Go-Pprof: 1, no disposition, text + "\n". */
void ct_http_error(ct_http_resp *r, int status, const char *text);

/* Waits ns nanoseconds while r's client is still connected, as Go's handlers sleep on the
 * request's context: 0 after the whole wait, -ECONNRESET as soon as the client hung up
 * (or the program closed the connection's fd), so that a `seconds=N` request whose client
 * gave up stops holding what it holds (the CPU profile, the trace window). */
int ct_http_wait(const ct_http_resp *r, uint64_t ns);
/* live.c: the collector's CPU time (ns) spent on the calling handler thread's requests
 * since the last call (for the request log). */
uint64_t ct_live_collector_ns(void);

/* httpunix.c: binds fd to the unix socket path, created with mode 0600. A socket file
 * already there is replaced when stale (nothing listens), refused when a server listens
 * on it (-EADDRINUSE). 0 or -errno. */
int ct_http_unix_bind(int fd, const char *path);
/* Removes the socket file at path if it is still the one ct_http_unix_bind made. */
void ct_http_unix_remove(const char *path);

/* live.c: answers one request (body: the request body, body_len bytes). */
void ct_live_serve(const ct_http_req *req, const char *body, size_t body_len, ct_http_resp *resp);

#endif
