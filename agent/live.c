/*
 * live.c — Go's net/http/pprof protocol over the agent's profiles: the endpoints behind
 * /debug/pprof/, with Go's paths, parameters, headers and error texts
 * (src/net/http/pprof/pprof.go), so that `go tool pprof`, Parca and Grafana Alloy pull
 * from a native program as from a Go one.
 *
 * A profile is a snapshot of a source's aggregate taken on the collector thread
 * (ct_collector_call); `seconds=N` takes one, sleeps N seconds on the handler thread,
 * takes another and sends the difference (libtrace/profdelta.h) — the CPU profile is
 * always such a difference, and only one may run at a time, as in Go. Before sending,
 * the handler names the frames from the modules' symbol tables (livesym.c) and gzips.
 * `trace?seconds=N` opens a window trace (agent/tracewin.h) for N seconds and sends the
 * complete trace.ctr it made.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "agent/fdguard.h"
#include "agent/http.h"
#include "agent/internal.h"
#include "agent/live.h"
#include "agent/tracewin.h"
#include "libtrace/legacytext.h"
#include "libtrace/pprof.h"
#include "libtrace/profdelta.h"

#define PREFIX "/debug/pprof/"
#define MAX_SECONDS 600

typedef enum { SNAP_CPU, SNAP_HEAP, SNAP_MUTEX, SNAP_BLOCK, SNAP_THREADS, SNAP_NONE } snap_kind;

/* The named profiles, in the index's (alphabetical) order. */
static const struct {
	const char *name;
	snap_kind kind;
	int delta;		  /* accepts seconds=N (Go's profileSupportsDelta) */
	const char *default_type; /* pprof's default sample type, NULL for the last one */
	const char *doc;
} profiles[] = {
	{"allocs", SNAP_HEAP, 1, "alloc_space",
	 "A sampling of all past memory allocations (malloc and friends, sampled by "
	 "CTRACE_HEAP_RATE)"},
	{"block", SNAP_BLOCK, 1, NULL,
	 "Stack traces that led to blocking: waits in poll/epoll/select, condition variables, "
	 "joins, sleeps"},
	{"cmdline", SNAP_NONE, 0, NULL, "The command line invocation of the current program"},
	{"goroutine", SNAP_THREADS, 1, NULL,
	 "Stack traces of all current threads (a native program's goroutines). Use debug=2 as a "
	 "query parameter to export in the same format as a jstack dump"},
	{"heap", SNAP_HEAP, 1, NULL,
	 "A sampling of memory allocations of live objects. You can specify the gc GET "
	 "parameter; it is ignored here (there is no garbage collector)"},
	{"mutex", SNAP_MUTEX, 1, NULL, "Stack traces of holders of contended mutexes"},
	{"profile", SNAP_CPU, 0, NULL,
	 "CPU profile. You can specify the duration in the seconds GET parameter. After you get "
	 "the profile file, use the go tool pprof command to investigate the profile"},
	{"symbol", SNAP_NONE, 0, NULL, "Maps program counters to function names (GET and POST)"},
	{"threadcreate", SNAP_THREADS, 1, NULL, "The threads alive now, labelled by name and tid"},
	{"trace", SNAP_NONE, 0, NULL,
	 "A trace of execution of the current program: every thread's states, waits and "
	 "wake-ups (trace.ctr). You can specify the duration in the seconds GET parameter. "
	 "After you get the trace file, use ctrace report --sched or --timeline to investigate "
	 "it"},
};

static _Atomic int cpu_busy;   /* a CPU profile is being taken (Go allows one at a time) */
static _Atomic int trace_busy; /* and a trace */

typedef struct {
	snap_kind kind;
	ct_profile *p;
	uint64_t cpu_ns; /* the collector's CPU time for it */
} snap;

/* CPU time the collector spent on this handler thread's requests (see http.h). */
static __thread uint64_t collector_ns;

uint64_t ct_live_collector_ns(void)
{
	uint64_t ns = collector_ns;
	collector_ns = 0;
	return ns;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void take_on_collector(void *arg)
{
	snap *s = arg;
	uint64_t t0 = thread_cpu_ns();
	switch (s->kind) {
	case SNAP_CPU:
		s->p = ct_cpu_profile_now();
		break;
	case SNAP_HEAP:
		s->p = ct_heap_profile_now();
		break;
	case SNAP_MUTEX:
		s->p = ct_lock_profile_now(0);
		break;
	case SNAP_BLOCK:
		s->p = ct_lock_profile_now(1);
		break;
	case SNAP_THREADS:
	case SNAP_NONE: /* mappings only */
		s->p = ct_out_profile_new();
		break;
	}
	s->cpu_ns = thread_cpu_ns() - t0;
}

/* A snapshot built on the collector thread; NULL when the source is off or stopped. */
static ct_profile *take(snap_kind kind)
{
	snap s = {.kind = kind};
	if (ct_collector_call(take_on_collector, &s) < 0)
		return NULL;
	collector_ns += s.cpu_ns;
	return s.p;
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Names, encodes and sends p (freed) as an attachment called filename. */
static void send_profile(ct_http_resp *r, ct_profile *p, const char *filename)
{
	ct_live_symbolize(p);
	uint8_t *buf;
	size_t len;
	int rc = ct_pprof_encode(p, true, &buf, &len);
	ct_profile_free(p);
	if (rc < 0) {
		ct_http_error(r, 500, "Could not encode the profile");
		return;
	}
	r->ctype = "application/octet-stream";
	snprintf(r->disposition, sizeof(r->disposition), "attachment; filename=\"%s\"", filename);
	ct_http_append(r, buf, len);
	free(buf);
}

/* The form value key from the query (GET) — Go's r.FormValue; "" when absent. */
static void form_value(const ct_http_req *req, const char *key, char *out, size_t len)
{
	if (ct_http_form_get(req->query, strlen(req->query), key, out, len) != 1)
		out[0] = 0;
}

/* Go's strconv.Atoi with the error ignored: 0 unless a valid integer. */
static int64_t form_int(const ct_http_req *req, const char *key)
{
	char v[32];
	int64_t n = 0;
	form_value(req, key, v, sizeof(v));
	if (ct_http_parse_int(v, &n) < 0)
		n = 0;
	return n;
}

static void serve_cpu(const ct_http_req *req, ct_http_resp *r)
{
	int64_t sec = form_int(req, "seconds");
	if (sec <= 0)
		sec = 30;
	if (sec > MAX_SECONDS) {
		ct_http_error(r, 400, "profile duration exceeds server's WriteTimeout");
		return;
	}
	if (!(ct_cfg.modes & CT_MODE_CPU) || ct_engine_get() == CT_ENGINE_OFF) {
		ct_http_error(r, 500, "Could not enable CPU profiling: cpu profiling is off");
		return;
	}
	if (atomic_exchange_explicit(&cpu_busy, 1, memory_order_acq_rel)) {
		ct_http_error(r, 500,
			      "Could not enable CPU profiling: cpu profiling already in use");
		return;
	}
	int64_t start = wall_ns();
	ct_profile *p0 = take(SNAP_CPU);
	if (p0 && ct_http_wait(r, (uint64_t)sec * 1000000000u) < 0) {
		ct_profile_free(p0); /* the client hung up: free the profiler for the next */
		p0 = NULL;
	}
	ct_profile *p1 = p0 ? take(SNAP_CPU) : NULL;
	atomic_store_explicit(&cpu_busy, 0, memory_order_release);
	if (!p1 || ct_profile_subtract(p1, p0) < 0) {
		ct_profile_free(p0);
		ct_profile_free(p1);
		ct_http_error(r, 500, "Could not enable CPU profiling: the recording has stopped");
		return;
	}
	ct_profile_free(p0);
	p1->time_nanos = start;
	p1->duration_nanos = sec * 1000000000;
	int64_t n = 0;
	for (size_t i = 0; i < p1->nsamples; i++)
		n += p1->samples[i].values[0];
	char c[64];
	snprintf(c, sizeof(c), "ctrace: %lld samples in these %lld s", (long long)n,
		 (long long)sec);
	ct_profile_add_comment(p1, c);
	send_profile(r, p1, "profile");
}

static void set_default_type(ct_profile *p, const char *type)
{
	if (type)
		p->default_sample_type = ct_profile_str(p, type);
}

/* ?seconds=N on a named profile: Go's serveDeltaProfile. */
static void serve_delta(const ct_http_req *req, ct_http_resp *r, int i, const char *secstr)
{
	int64_t sec;
	if (ct_http_parse_int(secstr, &sec) < 0 || sec <= 0) {
		ct_http_error(r, 400, "invalid value for \"seconds\" - must be a positive integer");
		return;
	}
	if (!profiles[i].delta) {
		ct_http_error(r, 400,
			      "\"seconds\" parameter is not supported for this profile type");
		return;
	}
	if (sec > MAX_SECONDS) {
		ct_http_error(r, 400, "profile duration exceeds server's WriteTimeout");
		return;
	}
	if (form_int(req, "debug") != 0) {
		ct_http_error(r, 400, "seconds and debug params are incompatible");
		return;
	}
	int64_t start = wall_ns();
	ct_profile *p0 = profiles[i].kind == SNAP_THREADS ? ct_live_threads(profiles[i].name)
							  : take(profiles[i].kind);
	if (p0 && ct_http_wait(r, (uint64_t)sec * 1000000000u) < 0) {
		ct_profile_free(p0); /* the client hung up */
		p0 = NULL;
	}
	ct_profile *p1 = !p0				    ? NULL
			 : profiles[i].kind == SNAP_THREADS ? ct_live_threads(profiles[i].name)
							    : take(profiles[i].kind);
	if (!p1 || ct_profile_subtract(p1, p0) < 0) {
		ct_profile_free(p0);
		ct_profile_free(p1);
		ct_http_error(r, 500, "failed to collect profile");
		return;
	}
	ct_profile_free(p0);
	p1->time_nanos = start;
	p1->duration_nanos = sec * 1000000000;
	set_default_type(p1, profiles[i].default_type);
	char fname[64];
	snprintf(fname, sizeof(fname), "%s-delta", profiles[i].name);
	send_profile(r, p1, fname);
}

/* ct_text_sink into a response. */
static void text_out(void *arg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ct_http_vprintf(arg, fmt, ap);
	va_end(ap);
}

/* debug=1 for a profile other than goroutine: Go's legacy text, which go tool pprof reads
 * (libtrace/legacytext.h), with named frames. */
static void write_text(ct_http_resp *r, ct_profile *p, const char *name)
{
	ct_live_symbolize(p);
	ct_legacy_text(p, name, text_out, r);
}

static void serve_named(const ct_http_req *req, ct_http_resp *r, int i)
{
	char sec[32];
	form_value(req, "seconds", sec, sizeof(sec));
	if (sec[0]) {
		serve_delta(req, r, i, sec);
		return;
	}
	int64_t debug = form_int(req, "debug");
	if (profiles[i].kind == SNAP_THREADS && debug != 0 &&
	    strcmp(profiles[i].name, "goroutine") == 0) {
		ct_live_threads_text(r, (int)debug);
		return;
	}
	ct_profile *p = profiles[i].kind == SNAP_THREADS ? ct_live_threads(profiles[i].name)
							 : take(profiles[i].kind);
	if (!p) {
		ct_http_error(r, 500,
			      "failed to collect profile (its mode is off in CTRACE_MODES)");
		return;
	}
	if (debug != 0) {
		write_text(r, p, profiles[i].name);
		ct_profile_free(p);
		return;
	}
	set_default_type(p, profiles[i].default_type);
	send_profile(r, p, profiles[i].name);
}

static void serve_cmdline(ct_http_resp *r)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	ssize_t n;
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		ct_http_append(r, buf, (size_t)n);
	if (fd >= 0)
		close(fd);
	if (r->len && r->body[r->len - 1] == 0)
		r->len--; /* Go joins os.Args with NULs: none after the last */
}

/* Go's Symbol: "num_symbols: 1", then "0xPC name" for each '+'-separated address of the
 * POST body (or the GET query) that names a function. */
static void serve_symbol(const ct_http_req *req, const char *body, size_t len, ct_http_resp *r)
{
	const char *in = strcmp(req->method, "POST") == 0 ? body : req->query;
	size_t n = in == body ? len : strlen(req->query);
	ct_http_printf(r, "num_symbols: 1\n");
	ct_profile *maps = n ? take(SNAP_NONE) : NULL;
	for (size_t pos = 0; maps && pos < n;) {
		const char *plus = memchr(in + pos, '+', n - pos);
		size_t wl = plus ? (size_t)(plus - (in + pos)) : n - pos;
		char word[32];
		if (wl < sizeof(word)) {
			memcpy(word, in + pos, wl);
			word[wl] = 0;
			char *end;
			unsigned long long pc = strtoull(word, &end, 0);
			for (uint32_t m = 0; pc && !*end && m < maps->nmappings; m++) {
				const char *name = ct_live_symbol(&maps->mappings[m], pc, NULL);
				char pretty[1024];
				if (name) {
					ct_http_printf(
						r, "%#llx %s\n", pc,
						ct_live_pretty(name, pretty, sizeof(pretty)));
					break;
				}
			}
		}
		pos += wl + (plus ? 1 : 0);
	}
	ct_profile_free(maps);
}

static void serve_index(ct_http_resp *r)
{
	r->ctype = "text/html; charset=utf-8";
	ct_http_printf(r, "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n"
			  "/debug/pprof/\n<br>\n<p>Set debug=1 as a query parameter to export "
			  "in legacy text format</p>\n<br>\nTypes of profiles available:\n"
			  "<table>\n<thead><td>Count</td><td>Profile</td></thead>\n");
	/* Count, as Go's: the records of each profile taken now (one snapshot per kind). */
	long long count[SNAP_NONE + 1];
	for (int k = 0; k <= SNAP_NONE; k++)
		count[k] = -1;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		snap_kind k = profiles[i].kind;
		if (k == SNAP_NONE || k == SNAP_CPU || count[k] >= 0)
			continue;
		ct_profile *p = k == SNAP_THREADS ? ct_live_threads("threadcreate") : take(k);
		count[k] = p ? (long long)p->nsamples : -1;
		ct_profile_free(p);
	}
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		char c[24] = "";
		if (count[profiles[i].kind] >= 0)
			snprintf(c, sizeof(c), "%lld", count[profiles[i].kind]);
		ct_http_printf(r, "<tr><td>%s</td><td><a href='%s?debug=1'>%s</a></td></tr>\n", c,
			       profiles[i].name, profiles[i].name);
	}
	ct_http_printf(r, "</table>\n<a href=\"goroutine?debug=2\">full goroutine stack "
			  "dump</a>\n<br>\n<p>\nProfile Descriptions:\n<ul>\n");
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		ct_http_printf(r, "<li><div class=profile-name>%s: </div> %s</li>\n",
			       profiles[i].name, profiles[i].doc);
	ct_http_printf(r, "</ul>\n</p>\n</body>\n</html>\n");
}

/* A window trace's open or close, on the collector (agent/tracewin.h). */
typedef struct {
	int slot, id; /* in: the file's slot (open) or the window (close); out: the result */
} win_call;

static void win_open(void *arg)
{
	win_call *c = arg;
	c->id = ct_trace_window_open(c->slot);
}

static void win_close(void *arg)
{
	win_call *c = arg;
	c->id = ct_trace_window_close(c->id);
}

/* The trace of the next `ns` nanoseconds into the file of slot: 0 or -errno (-ECONNRESET:
 * r's client hung up before the end, the window is closed at once). */
static int record_window(int slot, uint64_t ns, const ct_http_resp *r)
{
	win_call c = {.slot = slot, .id = -EAGAIN};
	for (int i = 0; i < 100 && c.id == -EAGAIN; i++) { /* the engine is chosen at start */
		if (i)
			sleep_ns(10000000);
		if (ct_collector_call(win_open, &c) < 0)
			return -ESRCH;
	}
	if (c.id < 0)
		return c.id;
	int gone = ct_http_wait(r, ns);
	if (ct_collector_call(win_close, &c) < 0)
		return -ESRCH;
	return gone < 0 ? gone : c.id;
}

/* Go's Trace: a trace of the next `seconds` (a decimal number; 1 when absent, invalid or
 * not positive), one at a time. The window is written to an anonymous file held by the
 * fd guard, then sent. */
static void serve_trace(const ct_http_req *req, ct_http_resp *r)
{
	char v[32], *end;
	form_value(req, "seconds", v, sizeof(v));
	double sec = strtod(v, &end); /* Go's ParseFloat: no hex without an exponent, no spaces */
	if (!v[0] || *end || strspn(v, "0123456789.eE+-") != strlen(v) || !(sec > 0))
		sec = 1;
	if (sec > MAX_SECONDS) {
		ct_http_error(r, 400, "profile duration exceeds server's WriteTimeout");
		return;
	}
	if (atomic_exchange_explicit(&trace_busy, 1, memory_order_acq_rel)) {
		ct_http_error(r, 500, "Could not enable tracing: tracing is already enabled");
		return;
	}
	int fd = memfd_create("ctrace-trace", MFD_CLOEXEC);
	int slot = fd < 0 ? -errno : ct_fdg_adopt(fd, CT_FDG_FILE);
	int rc = slot < 0 ? slot : record_window(slot, (uint64_t)(sec * 1e9), r);
	atomic_store_explicit(&trace_busy, 0, memory_order_release);
	/* Each read with the memfd pinned (fdguard.h): never the program's file at its number. */
	fd = rc < 0 ? -1 : ct_fdg_check(slot);
	char buf[65536];
	for (off_t at = 0; fd >= 0;) {
		fd = ct_fdg_pin(slot);
		ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf), at);
		if (fd >= 0)
			ct_fdg_unpin();
		if (n <= 0)
			break;
		ct_http_append(r, buf, (size_t)n);
		at += n;
	}
	if (slot >= 0)
		ct_fdg_release(slot);
	if (rc < 0 || fd < 0) {
		char text[160];
		snprintf(text, sizeof(text), "Could not enable tracing: %s",
			 rc == -ENOENT	? "the sched mode is off in CTRACE_MODES"
			 : rc == -ESRCH ? "the recording has stopped"
					: strerror(rc < 0 ? -rc : EBADF));
		ct_http_error(r, 500, text);
		return;
	}
	r->ctype = "application/octet-stream";
	snprintf(r->disposition, sizeof(r->disposition), "attachment; filename=\"trace\"");
}

void ct_live_serve(const ct_http_req *req, const char *body, size_t body_len, ct_http_resp *r)
{
	if (strncmp(req->path, PREFIX, strlen(PREFIX)) != 0) {
		r->status = 404; /* Go's ServeMux: not a pprof path at all */
		ct_http_printf(r, "404 page not found\n");
		return;
	}
	const char *name = req->path + strlen(PREFIX);
	if (!*name) {
		serve_index(r);
	} else if (strcmp(name, "profile") == 0) {
		serve_cpu(req, r);
	} else if (strcmp(name, "trace") == 0) {
		serve_trace(req, r);
	} else if (strcmp(name, "cmdline") == 0) {
		serve_cmdline(r);
	} else if (strcmp(name, "symbol") == 0) {
		serve_symbol(req, body, body_len, r);
	} else {
		for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
			if (strcmp(name, profiles[i].name) == 0 && profiles[i].kind != SNAP_NONE) {
				serve_named(req, r, (int)i);
				return;
			}
		ct_http_error(r, 404, "Unknown profile");
	}
}
