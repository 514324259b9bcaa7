/*
 * internal.h — wiring between the agent core's own files (main, collector, samplers,
 * modules, unwinder, cpu source). Hook modules use agent.h only.
 */
#ifndef CT_AGENT_INTERNAL_H
#define CT_AGENT_INTERNAL_H

#include <poll.h>
#include <stdint.h>

#include "agent/agent.h"
#include "libtrace/clock.h"
#include "libtrace/stacks.h"

/* ---- config.c ---- */
void ct_config_load(void);
/* The complaints ct_config_warn gathered, "; "-joined ("" when none): summary.txt. */
const char *ct_config_warnings(void);

/* ---- stack.c ---- */
int ct_stack_init(void); /* loads libunwind privately, creates the table */
ct_stacks *ct_stack_table(void);
/* Whether pc lies in the code of the hooks' libunwind (which blocks every signal around
 * its caches, also from its thread-exit destructor: the agent's blocks, not the program's). */
int ct_stack_in_unwinder(const void *pc);

/* ---- modules.c: the process's loaded modules (kept after dlclose) ---- */
typedef struct {
	uintptr_t start, end;	/* executable segment, runtime addresses */
	uint64_t file_offset;	/* file offset of start */
	uintptr_t eh_frame_hdr; /* runtime address of .eh_frame_hdr, 0 if none */
	uintptr_t base;		/* load bias */
	char path[512];
	char build_id[80]; /* hex */
	int loaded;	   /* 0 once dlclosed */
} ct_module;

int ct_modules_refresh(void); /* re-reads dl_iterate_phdr; returns number of modules */
/* The loaded module whose executable segment holds pc, or NULL. Collector thread only. */
const ct_module *ct_modules_find(uintptr_t pc);
/* Every module ever seen (loaded or not); *n receives the count. Collector/exit only. */
const ct_module *ct_modules_all(int *n);
/* Whether [addr, addr+len) lies in a loaded module's mapped segments (safe to read). */
int ct_modules_readable(uintptr_t addr, size_t len);
/* Guard around unmapping: the collector holds it while it reads module memory (no
 * dlclose unmaps meanwhile); it must not call into the loader (dladdr, dlsym, dlopen)
 * while it holds it. Nests. The dlclose hook waits for it around the real dlclose. */
void ct_modules_hold(void);
void ct_modules_release(void);
/* Set (release) by the dlopen/dlclose hooks on any thread when the module list changed;
 * the collector takes it (acquire exchange) and refreshes the table before unwinding. */
extern _Atomic int ct_modules_dirty;

/* ---- unwind.c: off-thread unwinding of a copied user stack (registers: events.h) ---- */
int ct_unwind_init(void);
void ct_stack_warm(void);	/* the main thread's libunwind set-up at start (stack.c) */
void ct_stack_thread_tls(void); /* allocates libunwind's TLS block for a new thread */
/* Unwinds from regs over stack bytes copied from [regs[RSP], +stack_len). Fills pcs with
 * the exact leaf pc first, then return addresses. Returns the depth (>= 1). */
int ct_unwind(const uint64_t regs[CT_NREGS], const uint8_t *stack, size_t stack_len, uintptr_t *pcs,
	      int max);
/* How samples were unwound so far (collector thread; the CPU profile's comment). */
typedef struct {
	uint64_t by_rows, by_libunwind;	    /* samples unwound from cached rows / by libunwind */
	uint64_t rows_computed, rows_other; /* rows read from .eh_frame; of them not plain */
	uint64_t verify_mismatches; /* CTRACE_UNWIND_VERIFY: row unwinds libunwind disputes */
	int verify;
} ct_unwind_counts;
void ct_unwind_stats(ct_unwind_counts *out);
void ct_unwind_stats_reset(void); /* a forked child counts its own samples only */

/* ---- cpu.c: the CPU profile source (for summary.txt) ---- */
uint64_t ct_cpu_samples(void);
uint64_t ct_cpu_lost_count(void); /* in samples, bounded by hz x CPUs x duration */
size_t ct_cpu_threads(void);

/* ---- samplers (perf.c, timer.c) ---- */
/* The engine that delivers samples (and, for perf, the scheduler's records). */
typedef enum { CT_ENGINE_OFF, CT_ENGINE_PERF, CT_ENGINE_TIMER } ct_engine;
/* Set by the thread that starts an engine (the constructor, or a forked child's atfork
 * handler) once the engine's rings are set up; read by the collector and the exit path.
 * Release/acquire: a reader that sees CT_ENGINE_PERF also sees the perf rings. */
void ct_engine_set(ct_engine e);
ct_engine ct_engine_get(void);
const char *ct_engine_name(ct_engine e); /* "off", "perf", "timer" */
/* Whether the engine has been chosen (ct_engine_get is final, maybe OFF): set by the
 * constructor and a forked child's atfork handler once the sampler started or failed. */
int ct_engine_known(void);
/* Why this engine (or none) runs; written with ct_engine_set's caller, read at exit. */
extern char ct_engine_reason[256];

/* Opens the perf events for the enabled modes (cpu: cpu-clock samples with registers and
 * stack; sched: context switches and thread fork/exit). 0 or -errno with why filled. */
int ct_perf_start(char *why, size_t whylen);
/* 1 when the events signal each sample so that its thread's labels are read (labelsig.c). */
int ct_perf_label_signal(void);
void ct_perf_forget(void);  /* forked child: drop the parent's events */
size_t ct_perf_drain(void); /* collector thread; records read */
/* Collector thread: the largest share of a ring, in 1/1024ths, that the drains since the
 * previous call found written. */
uint32_t ct_perf_fill(void);
/* The longest the collector may sleep with the perf rings filling as fast as they can
 * (no switch records: CPU samples at most hz a second per CPU), in ms; 0 when there is no
 * such bound (switch records come as fast as the program switches). */
uint32_t ct_perf_max_sleep_ms(void);
/* A later CPU's ring came out small: drain every 5 ms (a hint, read relaxed). */
extern _Atomic int ct_perf_small_rings;
void ct_perf_stop(void);
int ct_timer_start(char *why, size_t whylen);
int ct_timer_arm_thread(void); /* calling thread */
/* Appends to summary.txt's warning (buf, NUL-terminated) the threads that blocked the
 * timer's signal: their CPU time was not sampled while they did. */
void ct_timer_warning(char *buf, size_t len);
void ct_timer_disarm_thread(void); /* calling thread, at its exit */
/* Whether the calling thread's timer expired but its signal never came (CPU timers fire on
 * scheduler ticks: a thread that ends between two ticks loses that sample). */
int ct_timer_thread_overdue(void);
void ct_timer_fork_child(void);	 /* forked child: re-arm the only thread */
uint64_t ct_timer_dropped(void); /* timer samples a full ring refused */
void ct_timer_stop(void);

/* ---- collector.c ---- */
/* Hands ev to every subscriber of its type (agent.h: ct_source.subs) of the enabled
 * sources. Collector thread only (perf.c's drain, the ring consumer, a decoding source). */
void ct_dispatch(const ct_event *ev);
/* ct_dispatch of a new event of type, about ev's thread at ev's time, with payload data/len:
 * how a source hands what it made of ev (an unwound sample) to the other sources. */
void ct_dispatch_derived(const ct_event *ev, uint16_t type, const void *data, uint32_t len);
int ct_collector_start(void);
/* Runs fn(arg) on the collector thread after its next drain and waits until it ran: how
 * other agent threads (the live server) read the sources' aggregates, which only the
 * collector touches. One call at a time. 0, or -ESRCH when the collector does not run
 * (stopped, or stopping before it got to the call). */
int ct_collector_call(void (*fn)(void *), void *arg);
void ct_collector_stop(void); /* final drain and join */
/* Waits (at most 1 s) for one whole collector pass begun after the call: the files it opens
 * on its own are then open before the program goes on (collector.c). */
void ct_collector_sync(void);
void ct_sources_finish(void);
uint64_t ct_collector_dropped(void);
uint64_t ct_collector_cpu_ns(void); /* CPU time the collector thread used so far */
/* In a forked child: fresh rings, sources reset (or off), a new collector thread. */
int ct_collector_fork_child(void);

/* ---- checkpoint.c ---- */
/* Profile events (cpu samples, heap, lock and block records) seen since the recording
 * started here (or the fork): 0 means the process has nothing to write. Collector thread,
 * or the exit path after it stopped. */
uint64_t ct_ckpt_has_data(void);
/* The final files are written: the checkpoint journal is removed. Exit path. */
void ct_ckpt_done(void);
/* Checkpoints appended so far, the collector CPU time they took and the longest one's
 * (for summary.txt). */
void ct_ckpt_stats(uint64_t *count, uint64_t *cpu_ns, uint64_t *max_ns);

/* ---- out.c ---- */
const char *ct_out_errors(void); /* "error=..." lines for summary.txt, "" if none */
/* One fd held from the start (constructor) for the exit path, released as the final write
 * begins: a program that ends with its fd table full (an fd leak, which one profiles)
 * would leave the agent no number to write its files with. */
void ct_out_reserve_fd(void);
void ct_out_release_fd(void);
/* Appends "<pid> what" to DIR/.children (outdir.h) — "start <cmd>" (then written as
 * "start <folder relative to DIR> <cmd>") or "end <outcome>" — for `ctrace record` to name
 * the children that wrote nothing. Exit path or a single-threaded atfork handler. */
void ct_out_child_note(const char *what);

/* ---- main.c ---- */
/* A terminating signal's request, polled by the collector between drains; it then brackets
 * its last drain with ct_flush_begin (stop sampling) and ct_flush_end (write files). */
int ct_flush_requested(void);
void ct_flush_begin(void);
void ct_flush_end(void);
/* The recording's start (wall and monotonic; constructor or forked child) and the
 * monotonic time sampling stopped (0 while recording); written by main.c, read at exit. */
extern ct_clock_snapshot ct_start_clock;
extern uint64_t ct_stop_mono;
void ct_shutdown(void);				/* idempotent: stop, drain, write everything */
void ct_sandbox_warning(char *buf, size_t len); /* for summary.txt */
/* Before an exec: the collector writes everything, as on a terminating signal (the
 * calling thread may be in a signal handler that interrupted malloc: it must not write
 * itself), waited for at most ms; the exec goes on either way. */
void ct_flush_for_exec(int ms);
/* exechooks.c: summary.txt's warning when the image exec'd; in the constructor, the
 * previous image's files moved out of the new image's folder (DIR, or own_folder: its own
 * DIR/<pid>) into <pid>.<n>/ (DIR/<pid>.<n>, or beside its own folder). */
void ct_exec_warning(char *buf, size_t len);
/* trace.c: summary.txt's warning when trace.ctr stopped at its size cap. */
void ct_trace_warning(char *buf, size_t len);
void ct_exec_set_aside(int own_folder);
/* Picks the output folder (ct_cfg.out_dir): 0 when this process owns DIR, 1 when it records
 * in DIR/<pid>, -1 when DIR cannot be made. */
int ct_out_claim(void);
void ct_thread_started(int small_stack); /* per new thread (the pthread_create trampoline) */
/* The collector's side of a flush a terminating signal asked for: between drains it
 * checks ct_flush_requested(), then calls ct_flush_begin(), drains, ct_flush_end(). */
int ct_flush_requested(void);
void ct_flush_begin(void);
void ct_flush_end(void);
extern uintptr_t ct_main_stack_top;
/* The calling thread's stack [lo, top), 0 until known: a thread learns it as it starts
 * only where a signal handler needs it (timer engine, live server); ct_stack_bounds()
 * makes it known (with the guard held, never in a signal handler). */
void ct_stack_bounds(void);
/* Runs fn on a 512 KiB stack of the agent's own, not the calling thread's (which may be
 * small): for the exit path's writing. One thread at a time; another runs fn in place. */
void ct_on_agent_stack(void (*fn)(void));
/* Appends to buf how many captures ct_stack_room refused, if any (summary.txt). */
void ct_stack_room_warning(char *buf, size_t len);
/* summary.txt's warning when a dlclosed module's addresses were taken by another module:
 * samples taken in one are written under the other's mapping (modules.c). */
void ct_modules_warning(char *buf, size_t len);
extern __thread uintptr_t ct_tls_stack_top __attribute__((tls_model("initial-exec")));
extern __thread uintptr_t ct_tls_stack_lo __attribute__((tls_model("initial-exec")));

#endif
