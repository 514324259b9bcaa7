/*
 * ckpt.h — the checkpoint journal (DIR/checkpoint.ctk): what the agent appends every
 * CTRACE_CHECKPOINT so that a process that never reaches its final write (SIGKILL, the OOM
 * killer, a raw exit_group such as Go's) still leaves its cpu, heap, mutex and block
 * profiles, and how `ctrace record` turns the journal back into those profiles.
 *
 * Why a journal: rewriting gzipped pprof every second costs what the whole profile costs
 * (100k stacks → tens of ms each time). The journal instead gets, per checkpoint, only what
 * changed since the previous one: the stacks and modules not written before, the threads'
 * names, and the per-key deltas of the profiles' values; so a checkpoint costs what the
 * interval added, not what the run holds.
 *
 * Layout: the 8-byte magic "CTCKPT01", then records: u32 payload length, u8 type, payload.
 * Integers are little-endian; a string is u16 length + bytes. A checkpoint is the records
 * since the previous COMMIT followed by its own COMMIT, appended with one write(): a reader
 * applies only what a COMMIT closes, so a write the kill cut short is ignored.
 *
 *   START   u32 pid, u32 hz, u64 heap_rate, u32 modes, u32 flags, u64 wall_ns, u64 mono_ns,
 *           str engine, str reason, str cmd                       (first record)
 *   MODULE  u64 start, u64 end, u64 file_offset, str path, str build_id
 *   STACK   u32 id, u8 flags (1: cut at the agent's depth limit), u16 n, u64 pcs[n] (a CPU
 *           sample's stack ends with a 0 sentinel: its first pc is then the exact
 *           interrupted pc; other pcs are return addresses)
 *   THREAD  u32 tid, str name
 *   ENTRY   u8 kind, u32 stack, u64 a, u64 b, u8 n, i64 values[n]  (deltas; see kinds)
 *   COMMIT  u64 mono_ns, u64 samples, u64 lost, u64 threads, u64 events_lost (running totals)
 *
 * Thread-safety: a ct_ckpt_buf or a ct_ckpt belongs to one thread. The ct_ckpt_put_*
 * functions allocate (malloc), so not from a signal handler.
 */
#ifndef CT_CKPT_H
#define CT_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "libtrace/error.h"
#include "libtrace/profile.h"

#define CT_CKPT_MAGIC "CTCKPT01"
#define CT_CKPT_MAX_PCS 512

enum { CT_CK_START = 1, CT_CK_MODULE, CT_CK_STACK, CT_CK_THREAD, CT_CK_ENTRY, CT_CK_COMMIT };

/* ENTRY kinds and what a, b and the values are. */
typedef enum {
	CT_CKPT_CPU,   /* a = tid; values: samples, cpu ns */
	CT_CKPT_HEAP,  /* a = block size; values: sampled alloc objects, alloc bytes, in-use
			* objects, in-use bytes (deltas, in-use ones may be negative) */
	CT_CKPT_MUTEX, /* a = lock, b = wait reason; values: contentions, delay ns, max ns */
	CT_CKPT_BLOCK, /* same as MUTEX, for the block profile */
	CT_CKPT_NKINDS
} ct_ckpt_kind;

/* START flags. */
enum { CT_CKPT_HEAP_DIRECT = 1 }; /* rate 1: frees matched by address, in-use not journaled */

typedef struct {
	uint32_t pid, hz, modes, flags;
	uint64_t heap_rate;
	uint64_t wall_ns, mono_ns; /* the recording's start */
	const char *engine, *reason, *cmd;
} ct_ckpt_start;

typedef struct {
	uint64_t mono_ns; /* when the checkpoint was taken */
	uint64_t samples, lost, threads, events_lost;
} ct_ckpt_commit;

/* ---- writing (the agent) ---- */
typedef struct {
	uint8_t *data;
	size_t len, cap;
	int oom; /* an append failed: the buffer must not be written */
} ct_ckpt_buf;

void ct_ckpt_put_magic(ct_ckpt_buf *b);
void ct_ckpt_put_start(ct_ckpt_buf *b, const ct_ckpt_start *s);
void ct_ckpt_put_module(ct_ckpt_buf *b, uint64_t start, uint64_t end, uint64_t file_offset,
			const char *path, const char *build_id);
void ct_ckpt_put_stack(ct_ckpt_buf *b, uint32_t id, const uintptr_t *pcs, int n, int truncated);
void ct_ckpt_put_thread(ct_ckpt_buf *b, uint32_t tid, const char *name);
void ct_ckpt_put_entry(ct_ckpt_buf *b, ct_ckpt_kind kind, uint32_t stack, uint64_t a, uint64_t k2,
		       const int64_t *values, int n);
void ct_ckpt_put_commit(ct_ckpt_buf *b, const ct_ckpt_commit *c);
void ct_ckpt_buf_free(ct_ckpt_buf *b);

/* ---- reading (`ctrace record`) ---- */
typedef struct ct_ckpt ct_ckpt;

/* What the journal's START and last COMMIT said. Strings live as long as the ct_ckpt. */
typedef struct {
	ct_ckpt_start start;
	ct_ckpt_commit last;
	uint64_t commits; /* checkpoints applied */
	uint64_t torn;	  /* bytes after the last COMMIT (a write cut short), ignored */
} ct_ckpt_info;

/* Reads a journal. 0; -EINVAL with err naming the byte offset when it is not one (bad
 * magic, a record longer than the file, a malformed payload, no START, no COMMIT);
 * -ENOMEM; or -errno of the read. */
int ct_ckpt_read_file(const char *path, ct_ckpt **out, ct_error *err);
void ct_ckpt_free(ct_ckpt *c);
const ct_ckpt_info *ct_ckpt_get_info(const ct_ckpt *c);

/* The profile of one kind, as the agent would have written it at exit (sample types,
 * period, mappings, labels; a comment says it comes from a checkpoint), or NULL when its
 * mode was off (START's modes; cpu also when the engine was off) or memory runs out. */
ct_profile *ct_ckpt_profile(const ct_ckpt *c, ct_ckpt_kind kind);

#endif
