/*
 * tracewrite_impl.h — the trace.ctr writer's private state, shared by its files:
 * tracewrite.c (the writer: buffering, chunks, the fixed-layout events), tracewrite_sort.c
 * (a batch's sort) and traceann.c (the annotation events: regions, tasks, logs). Nobody
 * else includes it.
 */
#ifndef CT_TRACEWRITE_IMPL_H
#define CT_TRACEWRITE_IMPL_H

#include "libtrace/tracebuf.h"
#include "libtrace/tracewrite.h"

typedef struct {
	uint64_t t, a, b; /* time; kind-specific values (see put_event) */
	uint32_t stack;	  /* ct_stacks id, 0 = none */
	uint32_t c;	  /* kind-specific: cpu, tid or string index */
	uint32_t seq;	  /* arrival order, the sort's tie-break */
	uint8_t kind, reason;
} tw_ev;

#define CT_TW_RECENT 8

typedef struct {
	uint32_t tid;
	tw_ev *ev;
	size_t n, cap;
} tw_batch;

struct ct_tw {
	int fd;
	const ct_stacks *stacks;
	tw_batch *batches;
	size_t nbatches, batches_cap;
	ct_u64map threads;	       /* tid → batch index */
	uint32_t recent[CT_TW_RECENT]; /* tid % CT_TW_RECENT → a batch index to try first */
	char **strs;		       /* chunk string table (owned copies) */
	uint32_t nstrs, strs_cap;
	ct_u64map strmap;   /* string hash (+ k on collisions) → string index */
	ct_tw_module *mods; /* sorted by start; strings owned */
	uint32_t nmods;
	uint32_t *mod_local;  /* module → chunk index + 1, 0 when not yet in the chunk */
	uint32_t *chunk_mods; /* chunk module index → module */
	uint32_t nchunk_mods;
	ct_u64map stackmap;	/* (id << 1 | leaf exact) → chunk stack index */
	uint64_t *chunk_stacks; /* chunk stack index → key */
	uint32_t nchunk_stacks, chunk_stacks_cap;
	uint32_t seq;
	size_t pending, nev; /* bytes and events buffered */
	tw_ev *sort_tmp;     /* the flush's merge buffer, sort_cap events */
	size_t sort_cap;
	ct_bytes out, body;
	uint64_t *offsets; /* chunk offsets, for the footer */
	size_t noffsets, offsets_cap;
	uint64_t offset;   /* bytes written so far */
	uint64_t last_end; /* the latest end time of the chunks written */
	uint64_t floor;	   /* ct_tw_info.floor_ns */
	ct_tw_stats st;
};

/* A new buffered event of tid (kind, time t, other fields 0), or NULL on ENOMEM. */
tw_ev *ct_tw__event(ct_tw *w, uint32_t tid, uint64_t t, uint8_t kind);
/* The chunk-local string index of s, or UINT32_MAX on ENOMEM. */
uint32_t ct_tw__str(ct_tw *w, const char *s);
/* 0, or -EINVAL when stack is neither 0 nor an id of the writer's table. */
int ct_tw__check_stack(const ct_tw *w, uint32_t stack);
/* Sorts ev[0, n) by time, ties in arrival order (seq); tmp has room for n events
 * (tracewrite_sort.c). */
void ct_tw__sort_batch(tw_ev *ev, size_t n, tw_ev *tmp);
/* Encodes an annotation event's length and payload (traceann.c; b has room for 64 bytes). */
void ct_tw__put_ann(ct_bytes *b, const tw_ev *e);

#endif
