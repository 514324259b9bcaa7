/*
 * live.h — the live-profile server's wiring: the snapshot each profile source offers, and
 * the server's own entry points (agent/http.c, agent/live*.c).
 *
 * The snapshots build the same profile the source writes at exit, from what it aggregated
 * so far (cumulative since the recording started; addresses and mappings, no names). They
 * run on the collector thread only — the server reaches them through ct_collector_call —
 * and return NULL when the source is off or memory ran out. The caller frees the profile.
 */
#ifndef CT_AGENT_LIVE_H
#define CT_AGENT_LIVE_H

#include "agent/http.h"
#include "libtrace/profile.h"

ct_profile *ct_cpu_profile_now(void);	    /* cpu.c: cpu.pb.gz's content */
ct_profile *ct_heap_profile_now(void);	    /* heapsrc.c: heap.pb.gz's (no reorder flush) */
ct_profile *ct_lock_profile_now(int block); /* lockprof.c: mutex.pb.gz's, or block's */

/* livesym.c (any server thread): names p's locations from the ELF symbol tables of their
 * mappings (demangled C++ and Rust names, the symbol as system_name); ct_live_symbol gives
 * the symbol of one address of mapping m (NULL when unknown), ct_live_pretty its human
 * form (demangled into out, or name itself). */
void ct_live_symbolize(ct_profile *p);
const char *ct_live_symbol(const ct_mapping *m, uint64_t addr, uint64_t *offset);
const char *ct_live_pretty(const char *name, char *out, size_t len);

/* livethreads.c (a handler thread): every program thread's stack now, as a profile of
 * type "goroutine" (one sample per thread, labelled thread and tid) or "threadcreate"
 * (the same samples without stacks); NULL on failure. The text forms of debug=1 (Go's
 * goroutine profile text) and debug=2 (one block per thread, like a jstack dump) go into
 * the response. */
ct_profile *ct_live_threads(const char *type);
void ct_live_threads_text(ct_http_resp *r, int debug);

/* agent/http.c: starts the server when CTRACE_HTTP is set (constructor, before the sampler
 * so that its threads never carry perf events). 0 when off or started; a failure (bad
 * address, port in use) is logged, kept for summary.txt and returned as -errno. */
int ct_http_start(void);
/* "" when no server was asked for; else "serving http://ADDR/debug/pprof/" or why not. */
const char *ct_http_status(void);
/* Stops the server: its thread closes the connections and ends, waited for (at most 2 s);
 * a request being answered on a handler thread is not. For a sandbox (sandbox.c). */
void ct_http_stop(void);

/* liveperiod.c: CTRACE_PERIOD windows. Start with the server (constructor, before the
 * sampler); ct_period_final writes the last window at exit, after the collector stopped
 * and before the sources write their files. 0 when off or started, else -errno. */
int ct_period_start(void);
void ct_period_final(void);

#endif
