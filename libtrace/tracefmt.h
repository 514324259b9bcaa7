/*
 * tracefmt.h — the constants of trace.ctr, the scheduler-event trace file (spec:
 * docs/trace-format.md), and the varint helpers its writer and reader share.
 *
 * A file is a header, then self-contained chunks (each with its own string, module and
 * stack tables and per-thread batches of delta-timestamped events), then a footer index
 * that only a complete file has. All integers are little-endian; "uvarint" is the
 * protobuf/LEB128 unsigned varint (at most 10 bytes).
 *
 * Values stored in files: append, never renumber.
 */
#ifndef CT_TRACEFMT_H
#define CT_TRACEFMT_H

#include <stddef.h>
#include <stdint.h>

#define CT_TRACE_MAGIC "CTRACE\r\n" /* 8 bytes at offset 0 */
#define CT_TRACE_VERSION 1
#define CT_TRACE_CHUNK_MAGIC 0x4b4e4843u /* "CHNK" as a little-endian u32 */
#define CT_TRACE_INDEX_MAGIC 0x58444e49u /* "INDX" */
#define CT_TRACE_END_MAGIC "CTRACEND"	 /* the file's last 8 bytes when complete */
#define CT_TRACE_HEADER_FIXED 16	 /* magic, u16 version, u16 flags, u32 body length */
#define CT_TRACE_CHUNK_HEAD 12		 /* u32 magic, u32 payload length, u32 crc32 */
#define CT_TRACE_TRAILER 24		 /* u64 index offset, u64 end time, magic */
#define CT_TRACE_MAX_CHUNK (64u << 20)	 /* a chunk payload is never larger */
#define CT_TRACE_MAX_FRAMES 1024	 /* frames in one stack */

/* Header flags. */
#define CT_TRACE_F_SWITCHES 1u /* the engine recorded context switches (perf engine) */

/* Event kinds (one byte). 1–31 have the fixed layouts of docs/trace-format.md; a reader
 * fails on an unknown one. 32–255 are followed by a uvarint payload length, so a reader
 * skips the ones it does not know. 0 is never valid. */
enum {
	CT_EV_SWITCH_OUT = 1,	      /* left the CPU voluntarily: cpu */
	CT_EV_SWITCH_OUT_PREEMPT = 2, /* left the CPU preempted (still runnable): cpu */
	CT_EV_SWITCH_IN = 3,	      /* got the CPU: cpu */
	CT_EV_WAIT = 4,	     /* a hook-observed blocking interval: dur, reason, obj, stack */
	CT_EV_WAIT_OPEN = 5, /* a wait that had not ended when written: reason, obj, stack */
	CT_EV_UNBLOCK = 6,   /* this thread woke another: woken tid (0 unknown), obj, stack */
	CT_EV_CREATE = 7,    /* this thread created another: new tid, stack */
	CT_EV_START = 8,     /* the thread started running its start routine */
	CT_EV_EXIT = 9,	     /* the thread exited */
	CT_EV_NAME = 10,     /* the thread's name: string */
	CT_EV_SAMPLE = 11,   /* a CPU sample: stack, weight in ns */
	CT_EV_LOST = 12,     /* events lost: count, what (string) */
	CT_EV_FIXED_LAST = 31,
	/* Length-prefixed kinds, reserved for annotations (include/ctrace/annotate.h). */
	CT_EV_REGION_BEGIN = 32,
	CT_EV_REGION_END = 33,
	CT_EV_TASK = 34,
	CT_EV_LOG = 35,
};

/* Appends v as a uvarint at p (room for 10 bytes needed); returns the bytes written. */
static inline size_t ct_uvarint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Decodes a uvarint from [p, end). Returns the bytes consumed, or 0 when it runs past end
 * or is longer than 10 bytes / overflows 64 bits. */
static inline size_t ct_uvarint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < 10 && p + i < end; i++) {
		uint8_t b = p[i];
		if (i == 9 && b > 1)
			return 0;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (b < 0x80) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

#endif
