/*
 * internal.h — wiring between the agent core's own files (main, collector, samplers,
 * modules, unwinder, cpu source). Hook modules use agent.h only.
 */
#ifndef CT_AGENT_INTERNAL_H
#define CT_AGENT_INTERNAL_H

#include <poll.h>
#include <stdint.h>

#include "agent/agent.h"
#include "libtrace/stacks.h"

/* ---- config.c ---- */
void ct_config_load(void);

/* ---- stack.c ---- */
int ct_stack_init(void); /* loads libunwind privately, creates the table */
ct_stacks *ct_stack_table(void);
void ct_stack_warm(void); /* warms unw_backtrace's per-thread cache */

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
/* Readers/writer guard around unmapping: the unwinder holds it shared while it reads module
 * memory; the dlclose hook holds it exclusively around the real dlclose. */
void ct_modules_read_lock(void);
void ct_modules_read_unlock(void);
extern volatile int ct_modules_dirty;

/* ---- unwind.c: off-thread unwinding of a copied user stack ---- */
/* Register numbering is libunwind's x86_64 one: RAX RDX RCX RBX RSI RDI RBP RSP R8..R15 RIP */
enum { CT_NREGS = 17, CT_REG_RBP = 6, CT_REG_RSP = 7, CT_REG_RIP = 16 };
int ct_unwind_init(void);
/* Unwinds from regs over stack bytes copied from [regs[RSP], +stack_len). Fills pcs with
 * the exact leaf pc first, then return addresses. Returns the depth (>= 1). */
int ct_unwind(const uint64_t regs[CT_NREGS], const uint8_t *stack, size_t stack_len, uintptr_t *pcs,
	      int max);

/* ---- cpu.c: the CPU profile source ---- */
void ct_cpu_sample(uint32_t tid, uint64_t time, uint64_t weight_ns, const uint64_t regs[CT_NREGS],
		   const uint8_t *stack, size_t stack_len);
void ct_cpu_lost(uint64_t n);
void ct_cpu_thread_name(uint32_t tid, const char *name);
uint64_t ct_cpu_samples(void);
uint64_t ct_cpu_lost_count(void); /* in samples, bounded by hz x CPUs x duration */
size_t ct_cpu_threads(void);

/* ---- samplers (perf.c, timer.c) ---- */
int ct_perf_start(char *why, size_t whylen); /* 0 or -errno with why filled */
void ct_perf_forget(void);		     /* forked child: drop the parent's events */
size_t ct_perf_drain(void);		     /* collector thread; records read */
/* Fills pfds with the perf ring fds (POLLIN when a ring is a quarter full). */
int ct_perf_pollfds(struct pollfd *pfds, int max);
extern int ct_perf_small_rings; /* a later CPU's ring came out small: drain every 5 ms */
void ct_perf_stop(void);
int ct_timer_start(char *why, size_t whylen);
int ct_timer_arm_thread(void);	   /* calling thread */
void ct_timer_fork_child(void);	   /* forked child: re-arm the only thread */
void ct_timer_disarm_thread(void); /* calling thread, at its exit */
uint64_t ct_timer_period_ns(void);
uint64_t ct_timer_dropped(void);	    /* timer samples a full ring refused */
void ct_timer_on_record(const ct_rec *rec); /* the cpu source hands it the timer's records */
void ct_timer_stop(void);
extern const char *ct_engine_name; /* "perf", "timer" or "off" */
extern char ct_engine_reason[256];

/* ---- collector.c ---- */
int ct_collector_start(void);
void ct_collector_stop(void); /* final drain and join */
void ct_sources_finish(void);
uint64_t ct_collector_dropped(void);
uint64_t ct_collector_cpu_ns(void); /* CPU time the collector thread used so far */
/* In a forked child: fresh rings, sources reset (or off), a new collector thread. */
int ct_collector_fork_child(void);

/* ---- main.c ---- */
void ct_shutdown(void);	      /* idempotent: stop, drain, write everything */
void ct_thread_started(void); /* per new thread (from the pthread_create trampoline) */
/* The collector's side of a flush a terminating signal asked for: between drains it
 * checks ct_flush_requested(), then calls ct_flush_begin(), drains, ct_flush_end(). */
int ct_flush_requested(void);
void ct_flush_begin(void);
void ct_flush_end(void);
extern uintptr_t ct_main_stack_top;
/* The calling thread's stack [lo, top), 0 until known. */
extern __thread uintptr_t ct_tls_stack_top __attribute__((tls_model("initial-exec")));
extern __thread uintptr_t ct_tls_stack_lo __attribute__((tls_model("initial-exec")));

#endif
