/*
 * ann.h — the agent's side of include/ctrace/annotate.h, as the rest of the agent sees it:
 * label sets and region names (annlabel.c), the stacks that carry them, the threads' own
 * rings of region and label records (annring.c), the label timeline the CPU source
 * matches samples against (annhist.c), and the misuse counters (annotate.c).
 *
 * A label set is what a thread has pushed: an id (1..) naming a chain (parent set, key,
 * value) in a table that only grows, filled lock-free by the program's threads (so the
 * entry points are async-signal-safe) and read by the collector. Id 0 is "no labels".
 *
 * How labels reach profiles: a hook stack (sampled allocation, lock, block) is interned
 * with one extra trailing word, CT_ANN_MARK | set id, so that the (stack, labels) pair is
 * one stack id everywhere (heap sites and their frees, lock tables); ct_stack_get hides
 * the word and ct_stack_labels returns the set; out.c turns it into pprof labels. CPU
 * samples of the timer engine carry their thread's set (its signal handler reads it);
 * perf samples are taken by the kernel, so their thread's set is reconstructed: while the
 * CPU mode records with perf, every push and pop emits CT_EV_ANN_LABEL (the thread's new
 * set, stamped with ct_fast_now in the thread's own ring, annring.c) and the CPU source
 * looks the sample's time up in that thread's timeline (ct_ann_labels_at) one drain
 * later, when the records of every ring up to the sample have been seen.
 */
#ifndef CT_AGENT_ANN_H
#define CT_AGENT_ANN_H

#include <stddef.h>
#include <stdint.h>

#include "agent/events.h"
#include "libtrace/profile.h"
#include "libtrace/stacks.h"

/* The trailing stack word that carries a label set: a non-canonical address no frame has. */
#define CT_ANN_MARK CT_STACK_MARK
#define CT_ANN_MARK_MASK CT_STACK_MARK_MASK
enum { CT_ANN_DEPTH = 64, CT_ANN_KEY_MAX = 64, CT_ANN_VALUE_MAX = CT_ANN_NAME_MAX };

/* ---- label sets (annlabel.c) ---- */
/* The set `parent` plus key=value (both truncated; *truncated set to 1 then): its id, or
 * 0 when the table is full. Lock-free, allocation-free, async-signal-safe. */
uint32_t ct_ann_set_intern(uint32_t parent, const char *key, const char *value, int *truncated);
/* Fills out[0..max) with the set's labels (a shadowed key appears once, with its innermost
 * value; strings live as long as the process). Returns how many. Any thread. */
uint32_t ct_ann_set_labels(uint32_t set, ct_label *out, uint32_t max);
/* The calling thread's current set (0: none). Async-signal-safe. */
uint32_t ct_ann_current(void);
/* Notes the read-only segments of the objects loaded now, where a label's literal strings
 * cannot change (annlabel.c's cache then skips comparing them). Constructor. */
void ct_ann_const_snapshot(void);
/* Whether string s lies in one of those segments (it can never change). */
int ct_ann_constant(const char *s);
/* stack with the calling thread's labels: the same id without labels, else the id of the
 * stack plus a CT_ANN_MARK word (0 stays 0). For hooks, on the program's thread. */
uint32_t ct_ann_stack(uint32_t stack);
/* The same for a given set (the collector, for a CPU sample). */
uint32_t ct_ann_stack_with(uint32_t stack, uint32_t set);

/* A region name's id (1..) in the same table (name truncated to CT_ANN_NAME_MAX bytes;
 * *truncated set to 1 then), 0 when the table is full or holds its quota of names (the
 * first 2048 distinct names get ids). Async-signal-safe. */
uint32_t ct_ann_name_intern(const char *name, int *truncated);
/* The name behind an id ct_ann_name_intern returned (NULL for any other id). Any thread. */
const char *ct_ann_name(uint32_t id);

/* ---- per-thread annotation rings (annring.c) ---- */
/* In the constructor. 0 or -errno (annotations then take the shared rings). */
int ct_ann_ring_init(void);
/* Appends a CT_EV_ANN_LABEL (id: the set), _REGION_BEGIN (id: the name) or _REGION_END
 * record, stamped with ct_fast_now, to the calling thread's ring; task (when not 0) goes
 * with it. 0; -EAGAIN when the thread has no ring, -ENOSPC when it is full: the caller
 * sends the record through the shared rings. Async-signal-safe; never reentered on a
 * thread (annotate.c's enter/leave). */
int ct_ann_ring_push(uint16_t type, uint32_t id, uint16_t depth, uint64_t task);
/* Dispatches every record the rings hold as CT_EV_ANN_* events, times converted to
 * CLOCK_MONOTONIC ns. Collector thread (or the exit path once it stopped). Returns how
 * many. */
size_t ct_ann_ring_drain(void);
/* In a forked child's atfork handler: forget the parent's records and threads. */
void ct_ann_ring_fork_child(void);

/* ---- the label timeline (annhist.c; collector thread) ---- */
/* Whether any label record was ever seen: until then samples need no lookup. */
int ct_ann_labels_seen(void);
/* Set by the program's first label push (annotate.c): from then on a perf sample waits a
 * drain for its labels even if none of their records reached the collector yet (perf rings
 * are drained before the threads' rings: the first drain's samples went unlabelled). */
extern _Atomic int ct_ann_pushed;
/* The set thread tid had at time (0 if none or unknown). */
uint32_t ct_ann_labels_at(uint32_t tid, uint64_t time);

/* 1 while the engine's samples carry their thread's label set (the timer's handler reads
 * it: CT_SAMPLE_LABELS), so that label changes need no record; 0 while they are matched
 * by time (perf). Set by ct_engine_set (relaxed: a push that sees it late records one
 * change too many, which is harmless; it only goes from 1 to 0 in a forked child, while
 * single-threaded). */
extern _Atomic int ct_ann_sample_labels;

/* ---- labels read at each perf sample (labelsig.c, annotate.c) ---- */
/* The perf event's sig_data: tells its SIGTRAPs from the program's. */
#define CT_LABELSIG_COOKIE 0x637472616365ull
/* A CT_EV_ANN_LABEL record's second word: 0 for a change (the set from its time on),
 * CT_ANN_OBSERVED for the set read right after a sample of the thread (annhist.c). */
#define CT_ANN_OBSERVED 1u
/* Decides (CTRACE_LABELS, annotate.h's note) whether the perf engine should have the
 * kernel signal each sample, and if so installs the SIGTRAP handler: 1 when it may.
 * Constructor (or forked child), before the events open. */
int ct_labelsig_prepare(void);
/* The SIGTRAP handler's part: records the thread's current set as observed at its last
 * sample; async (SIGTRAP was blocked, the signal came late) switches the thread to
 * stamped changes from now on. Async-signal-safe. */
void ct_ann_observe(int async);
/* The program (code at caller) changed SIGTRAP in the calling thread's mask (sighooks.c's
 * watch, event CT_SIG_*): once it blocked it (CT_SIG_BLOCKED), its label changes are stamped from
 * now on — unless the caller is the hooks' libunwind, whose blocks are brief and the agent's own.
 */
void ct_ann_label_blocked(int event, const void *caller);
/* Appends to buf (summary.txt's warning) how many threads blocked SIGTRAP and had their
 * label changes stamped instead, when any did. */
void ct_ann_label_warning(char *buf, size_t len);

/* ---- misuse (annotate.c) ---- */
/* "kind=count ..." of every misuse counted so far (empty when none) into buf; returns the
 * total. For summary.txt. */
uint64_t ct_ann_misuse(char *buf, size_t len);
/* "total (kind=count ...)" into buf when there was misuse (summary.txt); else untouched. */
void ct_ann_misuse_line(char *buf, size_t len);

#endif
