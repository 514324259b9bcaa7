/*
 * agent.h — what the modules of libctrace.so share.
 *
 * The agent is loaded into someone else's program. Its modules (samplers, heap hooks,
 * lock/io hooks) all follow the same pattern: a hook does the least possible on the
 * program's thread — check the guard, maybe capture and intern a stack, append one
 * record with ct_emit() — and the collector thread later hands each event (ring records
 * and decoded perf records alike, agent/events.h) to every ct_source that subscribed to its
 * type; a source aggregates what it receives and, at exit, writes its files with the
 * ct_out_* helpers.
 *
 * A source registers itself with CT_SOURCE(); nothing else needs editing:
 *
 *     static void heap_on_event(const ct_event *ev) { ... }
 *     static const ct_subscription heap_subs[] = {
 *         {CT_EV_HEAP_ALLOC, heap_on_event}, {CT_EV_HEAP_FREE, heap_on_event}, {0, NULL}};
 *     CT_SOURCE(heap_source) = { .name = "heap", .mode = CT_MODE_HEAP, .subs = heap_subs,
 *         .start = heap_start, .finish = heap_finish };
 */
#ifndef CT_AGENT_H
#define CT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <stdatomic.h>

#include "agent/events.h"
#include "agent/hot.h"
#include "libtrace/outdir.h"
#include "libtrace/profile.h"
#include "libtrace/ring.h"

/* Marks a function the agent exports (an interposed libc/libpthread function). Everything
 * else in libctrace.so is hidden. */
#define CT_EXPORT __attribute__((visibility("default")))

/* ---- configuration (agent/config.c; from CTRACE_* variables, see docs/env.md) ---- */
/* CT_MODE_* bits come from libtrace/outdir.h, shared with the CLI. */
enum { CT_SAMPLER_AUTO, CT_SAMPLER_PERF, CT_SAMPLER_TIMER };

/* out_dir last: the small fields, which hooks read, share the hot data's page (agent/hot.h). */
typedef struct {
	unsigned modes;	      /* CTRACE_MODES "cpu,heap,lock,block,sched", default all */
	int hz;		      /* CTRACE_HZ, default 99 */
	uint64_t heap_rate;   /* CTRACE_HEAP_RATE bytes, default 512 KiB; 1 = every allocation */
	int sampler;	      /* CTRACE_SAMPLER perf|timer, default auto */
	int verbose;	      /* CTRACE_VERBOSE */
	uint32_t stack_bytes; /* CTRACE_STACK_BYTES: user stack copied per CPU sample */
	uint32_t ring_bytes;  /* CTRACE_RING_BYTES: each CPU's hook-record ring, a power of 2 */
	uint64_t trace_max;   /* CTRACE_TRACE_MAX_MB in bytes: trace.ctr stops there; 0: no cap */
	char out_dir[4096];   /* CTRACE_OUT, default "ctrace.out" */
} ct_config;

/* Written by the constructor (and a forked child's atfork handler, while single-threaded)
 * before any other agent thread exists or recording starts; read-only afterwards. */
extern ct_config ct_cfg;
/* Whether the output folder is this process's own DIR/<pid>, not the run's top folder
 * (idhooks.c). */
int ct_own_folder(void);
/* sandbox.c: the program is about to install a seccomp filter (prctl's PR_SET_SECCOMP
 * mode, or seccomp(2)'s operation op): the recording ends here. */
void ct_before_seccomp(const char *how, unsigned long op, int from_prctl);
/* Set once the recording ended for a seccomp filter: no system call of the agent's after. */
extern _Atomic int ct_sandboxed;

/* ---- the re-entrancy guard (initial-exec TLS: no allocation, safe in signal handlers) ----
 * Set while the agent runs on a thread; hooks that find it set call straight through.
 * The collector thread has it set for its whole life. */
extern __thread int ct_tls_guard __attribute__((tls_model("initial-exec")));

/* 1 once the constructor has set everything up and recording is on; 0 before and after.
 * Owned by main.c (the constructor, the exit path, a forked child's atfork handler); read
 * by every hook. Use ct_active(). */
extern _Atomic int ct_agent_active;

/* Whether recording is on. Acquire: the constructor sets the flag with a release store
 * after the rings, the stack table and the sources are ready, so a hook that sees 1 also
 * sees them. On x86 this is a plain load, as cheap as the volatile it replaces. */
static inline int ct_active(void)
{
	return atomic_load_explicit(&ct_agent_active, memory_order_acquire);
}

/* ct_tls_guard's offset from the thread pointer, on the hooks' hot page (agent/hot.h: an
 * initial-exec access first loads the offset from the GOT, a page of its own, walked
 * after every system call of a hook that records); 0 until the constructor takes it. */
extern intptr_t ct_tls_guard_off;

/* The calling thread's guard word. Async-signal-safe. */
static inline int *ct_guard_word(void)
{
	intptr_t off = __atomic_load_n(&ct_tls_guard_off, __ATOMIC_RELAXED);
	return __builtin_expect(off != 0, 1) ? (int *)ct_tls_at(off) : &ct_tls_guard;
}

/* Enters the agent on this thread: returns 1 if the caller may record (and must call
 * ct_guard_exit), 0 if it must call straight through (already inside, or not active). */
static inline int ct_guard_enter(void)
{
	int *g = ct_guard_word();
	if (*g || !ct_active())
		return 0;
	*g = 1;
	return 1;
}
static inline void ct_guard_exit(void)
{
	*ct_guard_word() = 0;
}

/* Asks for the cache line at p in the exclusive state, ahead of writing it: for a ring's
 * producer, whose lines the collector read on another CPU since it last wrote them —
 * without it each one comes back through an ownership request the writing thread waits
 * for (x86 PREFETCHW, a NOP on processors without it). */
static inline void ct_prefetchw(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/* The next definition of name after the agent (dlsym(RTLD_NEXT)); NULL if none. */
void *ct_real(const char *name);

/* Cached kernel thread id of the calling thread. Async-signal-safe. */
uint32_t ct_gettid(void);

/* ---- stacks (agent/stack.c) ---- */
#define CT_MAX_FRAMES 128
/* Captures the calling thread's stack as return addresses, innermost first, skipping
 * `skip` frames besides ct_capture_stack itself. Uses libunwind's unw_backtrace (loaded
 * privately), never inside a signal handler. Returns the depth. */
int ct_capture_stack(uintptr_t *pcs, int max, int skip);
/* What a capture may need of the program's stack below ct_capture_stack's frame: libunwind
 * with its first-use setup and lazy binding took up to about 8 KiB (measured below a hook);
 * half as much again. A capture with less room takes no stack (stack.c: ct_stack_room). */
#define CT_UNWIND_ROOM (12 * 1024)
/* Whether the calling thread's stack has room bytes below here: on its own stack by its
 * bounds, on an alternate signal stack by sigaltstack's; yes where that is unknown: a
 * thread whose bounds are not known has a large stack (the main thread's and those of
 * threads made with stacks under CT_SMALL_STACK are learned as they start), and a stack
 * the program switched to (a coroutine's) has none. Makes no allocation and takes no
 * lock (a hook may run in a signal handler). A refusal is counted (summary warning). */
#define CT_SMALL_STACK (256 * 1024)
int ct_stack_room(size_t room);
/* Interns pcs[0..n) into the global stack table; returns its id, 0 if the table is full
 * (counted). Async-signal-safe. */
uint32_t ct_stack_intern(const uintptr_t *pcs, int n);
/* Looks up an interned stack; returns its depth and sets *pcs, or 0 if unknown. */
int ct_stack_get(uint32_t id, const uintptr_t **pcs);
/* The label set (agent/ann.h) a stack was interned with, 0 if none. */
uint32_t ct_stack_labels(uint32_t id);

/* ---- events (agent/collector.c) ---- */
/* Appends one record of the given type with a copy of payload to the current CPU's ring,
 * stamping tid and time. 0, or -ENOSPC when dropped (counted and reported).
 * Async-signal-safe. */
int ct_emit(uint16_t type, uint16_t flags, const void *payload, uint32_t len);
/* The same in two steps, for a producer that fills the record in place (and stamps tid
 * and time itself, e.g. with a coarser clock): reserve returns a record with payload room
 * for len bytes, or NULL when dropped (counted); commit publishes it. Async-signal-safe. */
ct_rec *ct_emit_reserve(uint16_t type, uint32_t len);
void ct_emit_commit(ct_rec *rec);
/* Whether the current CPU's ring has room for a len-byte payload now (a hint that counts
 * nothing), and a request that the collector drain now: for a producer that waits rather
 * than drops. Both async-signal-safe. */
int ct_emit_has_room(uint32_t len);
void ct_collector_wake(void);

/* ---- sources ---- */
/* A subscriber to one event type; called on the collector thread, in the order the
 * events were drained (per ring; rings are drained one after the other). */
typedef void (*ct_event_fn)(const ct_event *ev);
typedef struct {
	uint16_t type; /* ct_ev_type */
	ct_event_fn fn;
} ct_subscription;

typedef struct ct_source {
	const char *name;
	unsigned mode;		     /* CT_MODE_* bits, any of which enables this source */
	const ct_subscription *subs; /* the events it receives, ended by {0, NULL} */
	int (*start)(void);	     /* in the constructor, after config; 0 or -errno */
	void (*finish)(void);	     /* at exit, after the last drain: write its files */
	/* On the collector thread after every drain (every 5-50 ms while recording), with
	 * ct_now(): for a source that streams its output (the trace). NULL: none. */
	void (*tick)(uint64_t now);
	/* In a forked child (single-threaded, inside the atfork handler): forget what the
	 * parent recorded and be ready to record the child. A source without it is off in
	 * the child (its finish is not called there). */
	void (*fork_child)(void);
} ct_source;

#define CT_SOURCE(var)                                                                             \
	static const ct_source var;                                                                \
	static const ct_source *const var##_ptr __attribute__((used, section("ct_sources"))) =     \
		&var;                                                                              \
	static const ct_source var

/* ---- output (agent/out.c) ---- */
/* A new profile with the process's mappings (executable segments with paths, offsets
 * and build ids) already added, and the engine/loss comments every ctrace file carries. */
ct_profile *ct_out_profile_new(void);
/* Adds one sample whose stack is the interned stack id: locations are made from its
 * addresses (callers as return address - 1), mapped to their modules. values holds
 * p->nsample_types values. 0 or -errno. */
int ct_out_add_stack(ct_profile *p, uint32_t stack_id, const int64_t *values,
		     const ct_label *labels, uint32_t nlabels);
/* Same for a raw PC array (pcs[0] is the exact leaf PC when leaf_exact, e.g. a sample). */
int ct_out_add_pcs(ct_profile *p, const uintptr_t *pcs, int n, bool leaf_exact,
		   const int64_t *values, const ct_label *labels, uint32_t nlabels);
/* Writes p gzipped as DIR/name atomically and frees it. 0 or -errno (logged). */
int ct_out_write(ct_profile *p, const char *name);
/* Records that DIR/name could not be made (why), for summary.txt's error lines. */
void ct_out_fail(const char *name, const char *why);
/* Any other file of the output directory, written the same way: ct_out_create opens a new
 * DIR/name.tmp.<pid>.<n> (O_EXCL | O_NOFOLLOW; its path in tmp) or returns NULL;
 * ct_out_commit closes it and renames it into place (0 or -errno; no temporary stays). */
FILE *ct_out_create(const char *name, char *tmp, size_t tmplen);
int ct_out_commit(FILE *f, const char *tmp, const char *name);
/* Copies /tmp/perf-<pid>.map (a JIT's symbols), if the process wrote one, to DIR. */
/* Creates the output directory (a process's own DIR/<pid> must be a real directory of
 * ours). Writers call it, so a forked child's folder exists only once it writes. 0 or
 * -errno. */
int ct_out_dir_create(void);
/* The run's directory (DIR, absolute), once the first ct_out_dir_create set it; else "". */
const char *ct_out_top(void);
/* "error=..." lines for the files that could not be written, for summary.txt. */
const char *ct_out_errors(void);
/* Appends one item to summary.txt's warning (buf, NUL-terminated, len bytes), after "; "
 * when it holds one already. */
void ct_warning_add(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Diagnostics to stderr when CTRACE_VERBOSE is set (never to stdout). */
void ct_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A CTRACE_* setting the agent cannot use as given: logged, and kept for summary.txt's
 * `config` line (`ctrace record` prints it). Start-up only; no allocation. */
void ct_config_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads the environment variable name as a whole number: false when unset or empty, or
 * when it is not a number (warned); a number outside lo..hi is clamped (warned). */
bool ct_env_u64(const char *name, uint64_t lo, uint64_t hi, uint64_t *out);

/* Around the calling thread's libunwind calls in a stack capture (heapdivert.c): the
 * allocations the loader, the C library and libunwind make come from the heap arena and
 * their frees wait for the collector, which ct_heap_divert_drain passes them on. Nested
 * calls (a handler's capture inside one) are fine: end restores what begin found. */
typedef struct {
	int64_t countdown_not; /* the heap hooks' countdown word, as found */
	uint32_t was;
} ct_heap_divert_t;
ct_heap_divert_t ct_heap_divert_begin(void);
void ct_heap_divert_end(ct_heap_divert_t d);
void ct_heap_divert_drain(void);
/* libunwind.so.8's code [lo, hi): its allocator calls inside a capture are diverted too. */
void ct_heap_divert_add_code(uintptr_t lo, uintptr_t hi);
/* Allocations, frees put aside, and allocations the full arena sent to the allocator. */
void ct_heap_divert_stats(uint64_t *allocs, uint64_t *frees, uint64_t *fallbacks);

#endif
