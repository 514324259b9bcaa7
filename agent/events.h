/*
 * events.h — every event the agent's collector dispatches: the record types, their payload
 * structs and the envelope sources receive.
 *
 * Two kinds of events travel the same path (collector.c's ct_dispatch):
 * - ring records, written by hooks and the timer signal handler with ct_emit() or
 *   ct_emit_reserve(): their payload is the fixed-layout struct below, copied into a user
 *   ring, and the envelope's tid/time come from the record header;
 * - perf records, drained from the kernel's rings by perf.c and decoded into the structs
 *   below (never copied into a user ring): samples, context switches, comm, fork/exit and
 *   lost counts.
 * A source subscribes to the types it wants (agent.h: ct_source.subs); any number of
 * sources may subscribe to one type, in registration order, and nobody else needs to know.
 *
 * Adding a record type is a one-place change here: an enumerator (below CT_EV_NTYPES) and,
 * when it carries data, its payload struct. Values are private to one process (never
 * stored in a file), so they may be renumbered freely.
 *
 * Thread-safety: plain types. A payload seen through ct_event.data is valid only during the
 * callback and may be unaligned for ring records (copy it out with memcpy).
 */
#ifndef CT_AGENT_EVENTS_H
#define CT_AGENT_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "libtrace/waitreason.h"

/* Register numbering of samples is libunwind's x86_64 one:
 * RAX RDX RCX RBX RSI RDI RBP RSP R8..R15 RIP. */
enum { CT_NREGS = 17, CT_REG_RBP = 6, CT_REG_RSP = 7, CT_REG_RIP = 16 };

typedef enum {
	/* ---- ring records ---- */
	/* Timer signal: uint64_t regs[CT_NREGS] then the copied stack bytes; flags = timer
	 * overrun (the record stands for 1 + flags periods). Decoded into CT_EV_SAMPLE. */
	CT_EV_TIMER_SAMPLE = 1,
	/* Heap hooks, ct_ev_heap payload (heapagg.h's event kinds, in the same order). */
	CT_EV_HEAP_ALLOC = 16, /* a sampled allocation, remembered in the table */
	CT_EV_HEAP_FREE,       /* the free of a remembered block */
	CT_EV_HEAP_UNTRACKED,  /* a sampled allocation the table had no room for */
	CT_EV_HEAP_ALLOC_AT,   /* rate 1: an allocation, matched by the collector */
	CT_EV_HEAP_FREE_AT,    /* rate 1: the free of an address */
	CT_EV_HEAP_NONE,       /* rate 1: a sequence number a failed realloc used */
	/* Lock and blocking hooks. */
	CT_EV_LOCK_WAIT = 32, /* ct_ev_lock_wait: one finished wait (block profile) */
	CT_EV_LOCK_HOLD,      /* ct_ev_lock_hold: delay a holder caused (mutex profile) */
	CT_EV_UNBLOCK,	      /* ct_ev_unblock: this thread released a waiter (trace edge) */
	/* Thread lifecycle and names seen by hooks (the trace; the timer engine has no perf
	 * FORK/COMM records). */
	CT_EV_THREAD_START = 40, /* ct_ev_thread_start: first event of a thread we created */
	CT_EV_THREAD_END,	 /* no payload: the thread is about to end (TSD destructor) */
	CT_EV_THREAD_NAME,	 /* ct_ev_comm: pthread_setname_np / prctl(PR_SET_NAME) */
	CT_EV_THREAD_CPU,	 /* ct_ev_thread_cpu: unsampled CPU time of ended threads */

	/* ---- decoded perf records (perf.c) and decoded timer samples ---- */
	CT_EV_SAMPLE = 48, /* ct_ev_sample: a CPU sample to unwind */
	CT_EV_SWITCH,	   /* ct_ev_switch: PERF_RECORD_SWITCH, thread on or off a CPU */
	CT_EV_COMM,	   /* ct_ev_comm: PERF_RECORD_COMM, a thread's (new) name */
	CT_EV_FORK,	   /* ct_ev_task: PERF_RECORD_FORK, a thread or process created */
	CT_EV_EXIT,	   /* ct_ev_task: PERF_RECORD_EXIT, a thread or process ended */
	CT_EV_LOST,	   /* ct_ev_lost: PERF_RECORD_LOST, records the kernel dropped */
	/* A CT_EV_SAMPLE after the CPU source unwound and interned it (cpu.c): the trace's
	 * view of a sample, so that samples are unwound once. */
	CT_EV_SAMPLE_STACK,
	/* Annotations (include/ctrace/annotate.h), ring records with a ct_ev_annot payload
	 * followed by its strings. */
	CT_EV_ANN_REGION_BEGIN = 64, /* a region began on the envelope's thread */
	CT_EV_ANN_REGION_END,	     /* the innermost open region of the thread ended */
	CT_EV_ANN_TASK_BEGIN,	     /* a task was created (by the envelope's thread) */
	CT_EV_ANN_TASK_END,	     /* a task ended */
	CT_EV_ANN_LOG,		     /* an instant log message */
	/* The envelope's thread now has label set `uint32_t set` (agent/ann.h; 0 = none),
	 * followed by 4 bytes of padding: emitted at label pushes and pops while the CPU
	 * mode records, so that samples can be matched to labels by time. */
	CT_EV_ANN_LABEL,
	CT_EV_NTYPES
} ct_ev_type;

/* What a subscriber receives. tid is the thread the event is about; time is CLOCK_MONOTONIC
 * ns (ct_now() for ring records, the perf events use the same clock). data/len: the
 * payload struct of the type (for ring records a pointer into the ring). */
typedef struct {
	uint16_t type;	/* ct_ev_type */
	uint16_t flags; /* ring records: the producer's flags; 0 for perf records */
	uint32_t tid;
	uint64_t time;
	const void *data;
	uint32_t len;
} ct_event;

/* Copies the event's payload struct (size bytes) into out: 1, or 0 when the payload is
 * shorter (a malformed record, which the caller may count). */
static inline int ct_event_get(const ct_event *ev, void *out, size_t size)
{
	if (ev->len < size)
		return 0;
	memcpy(out, ev->data, size);
	return 1;
}

/* ---- payloads of ring records ---- */

/* CT_EV_HEAP_*. */
typedef struct {
	uint64_t seq;  /* from the heap's global counter: the order of all heap events */
	uint64_t size; /* requested bytes */
	uint64_t addr; /* the block, in the *_AT records */
	uint32_t stack;
	uint32_t pad;
} ct_ev_heap;

/* CT_EV_LOCK_WAIT: one finished wait. The envelope's time is when it was emitted. */
typedef struct {
	uint32_t stack;	 /* interned waiter stack, 0 if none */
	uint32_t reason; /* ct_wait_reason */
	uint64_t obj;	 /* lock/cond/sem address, epoll fd, joined thread; 0 if none */
	uint64_t start;	 /* ct_now() when the wait began (ticks: agent/lockprof.h) */
	uint64_t delay;	 /* ns waited */
} ct_ev_lock_wait;

/* CT_EV_LOCK_HOLD: delay a lock holder caused — charged when it released a lock others
 * waited for (by the releasing thread), or the wake-up time of a waiter that then acquired
 * it (by that waiter, with count 0, to the releasing holder's stack). */
typedef struct {
	uint32_t stack; /* interned holder stack (at the release), 0 if none */
	uint32_t count; /* contentions: waiters that started waiting during this hold */
	uint64_t obj;	/* lock address */
	uint64_t delay; /* ns the waiters spent waiting during this hold */
} ct_ev_lock_hold;

/* CT_EV_UNBLOCK: the envelope's thread (the waker) released a waiter of obj: a mutex
 * unlock with waiters, a cond signal/broadcast, a sem_post, an exit that a joiner waits for. */
typedef struct {
	uint32_t stack; /* interned waker stack, 0 if none */
	uint32_t woken; /* the woken thread's tid, 0 when the waker cannot know it */
	uint64_t obj;	/* the object waited on (lock, cond, sem address; joined thread) */
} ct_ev_unblock;

/* CT_EV_THREAD_START: emitted by the new thread itself before it runs the program's code. */
typedef struct {
	uint32_t creator;      /* tid of the thread that called pthread_create */
	uint32_t create_stack; /* interned stack of that pthread_create call, 0 if none */
} ct_ev_thread_start;

/* CT_EV_THREAD_CPU: the perf engine samples a thread only after a full period of its own
 * CPU time (each thread's inherited event starts afresh), so what a thread ran since its
 * last sample is never sampled. Ending threads add that remainder to a process-wide carry
 * (lifecycle.c); the thread whose remainder completes a period emits one sample of
 * weight_ns on stack: its start routine, as a sample stack (leaf exact, 0 sentinel). */
typedef struct {
	uint32_t stack;
	uint32_t pad;
	uint64_t weight_ns;
} ct_ev_thread_cpu;

/* CT_EV_ANN_*: the fixed part; name_len bytes of name, then msg_len bytes of message
 * (CT_EV_ANN_LOG only) follow it in the record, not NUL-terminated, already truncated by
 * the agent (names to CT_ANN_NAME_MAX, messages to CT_ANN_MSG_MAX bytes). */
enum { CT_ANN_NAME_MAX = 128, CT_ANN_MSG_MAX = 1024 };
typedef struct {
	uint64_t task;	   /* task id; 0 when the region belongs to no task */
	uint64_t parent;   /* CT_EV_ANN_TASK_BEGIN: the parent task, 0 if none */
	uint32_t stack;	   /* interned stack of the call, 0 if none */
	uint16_t depth;	   /* region nesting depth of the thread (1 = outermost) */
	uint16_t name_len; /* region/task name, or the log's category */
	uint16_t msg_len;  /* CT_EV_ANN_LOG: the message */
	uint16_t pad[3];
} ct_ev_annot;

/* A CT_EV_ANN_* record's fixed part, and its strings copied NUL-terminated into name
 * (CT_ANN_NAME_MAX + 1 bytes) and msg (CT_ANN_MSG_MAX + 1 bytes), each cut at its bound.
 * 1, or 0 for a malformed record. */
static inline int ct_event_get_annot(const ct_event *ev, ct_ev_annot *a, char *name, char *msg)
{
	if (!ct_event_get(ev, a, sizeof(*a)) ||
	    ev->len - sizeof(*a) < (size_t)a->name_len + a->msg_len)
		return 0;
	const char *p = (const char *)ev->data + sizeof(*a);
	size_t nl = a->name_len < CT_ANN_NAME_MAX ? a->name_len : CT_ANN_NAME_MAX;
	size_t ml = a->msg_len < CT_ANN_MSG_MAX ? a->msg_len : CT_ANN_MSG_MAX;
	memcpy(name, p, nl);
	name[nl] = '\0';
	memcpy(msg, p + a->name_len, ml);
	msg[ml] = '\0';
	return 1;
}

/* ---- payloads of decoded events (pointers valid during the callback only) ---- */

/* CT_EV_SAMPLE: a thread was interrupted on a CPU (perf cpu-clock or the timer signal). */
typedef struct {
	uint64_t weight_ns;   /* CPU time the sample stands for */
	const uint64_t *regs; /* CT_NREGS registers, libunwind order; only RIP when no_regs */
	const uint8_t *stack; /* bytes copied from regs[CT_REG_RSP] upwards, or NULL */
	size_t stack_len;
	uint32_t cpu; /* CPU number, UINT32_MAX when unknown (timer) */
	uint32_t pid; /* the sampled thread's process (perf events inherited by a forked
		       * child report its threads into the parent's rings) */
	/* CT_SAMPLE_LABELS | the thread's label set at the sample (agent/ann.h) when the
	 * sampler read it on the thread itself (the timer's signal handler); 0: the CPU
	 * source looks the thread's labels up by the sample's time (perf). */
	uint64_t labels;
} ct_ev_sample;
#define CT_SAMPLE_LABELS (1ull << 32)

/* CT_EV_SAMPLE_STACK: the envelope's tid was sampled with this interned stack (its leaf
 * the exact PC, ended by a 0 sentinel: cpu.c). */
typedef struct {
	uint32_t stack; /* interned, never 0 (samples that could not be interned are not sent) */
	uint32_t cpu;	/* as in ct_ev_sample */
	uint32_t pid;	/* as in ct_ev_sample */
	uint32_t pad;
	uint64_t weight_ns;
} ct_ev_sample_stack;

/* CT_EV_SWITCH flags. */
enum {
	CT_SWITCH_OUT = 1,     /* the thread left the CPU (else it came on) */
	CT_SWITCH_PREEMPT = 2, /* left involuntarily: preempted while runnable */
};

/* CT_EV_SWITCH: the envelope's tid (of process pid) left or entered cpu. */
typedef struct {
	uint32_t cpu;
	uint32_t flags; /* CT_SWITCH_* */
	uint32_t pid;
} ct_ev_switch;

/* CT_EV_COMM: the envelope's tid is now called name (pid is its process). */
typedef struct {
	uint32_t pid;
	uint32_t exec; /* 1 when the name changed because the process exec'd */
	char name[16]; /* NUL-terminated, as the kernel keeps it (TASK_COMM_LEN) */
} ct_ev_comm;

/* CT_EV_FORK / CT_EV_EXIT: the envelope's tid was created / ended. pid is its process
 * (pid != tid for a thread), ppid and ptid the creating process and thread. */
typedef struct {
	uint32_t pid, ppid, ptid;
} ct_ev_task;

/* CT_EV_LOST: the kernel dropped count records of one CPU's ring (it was full). */
typedef struct {
	uint64_t count;	  /* records of any kind (samples, switches, comm, ...) */
	uint64_t samples; /* how many of them were CPU samples: count scaled by the share of
			     samples among the records this ring delivered (estimate) */
	uint32_t cpu;
} ct_ev_lost;

#endif
