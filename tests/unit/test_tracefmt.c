/*
 * test_tracefmt.c — trace.ctr writer and reader (libtrace/tracewrite.c, traceread.c):
 * every event kind round trips with its stacks and strings; many chunks with bounded
 * buffering; a file cut anywhere in its last chunk or footer reads as truncated; corrupt
 * bytes give one error with the offset; hand-made chunks check unknown kinds; a context
 * switch costs at most 16 bytes; a batch that arrives in runs is written in time order.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "libtrace/tracebuf.h"
#include "libtrace/tracefmt.h"
#include "libtrace/tracemodel.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/tracefix.h"

static const uintptr_t leaf_main[] = {0x120, 0x340}; /* leaf, caller */

START_TEST(roundtrip_every_kind)
{
	tfix f;
	tfix_open(&f, true);
	uint32_t s = tfix_stack(&f, leaf_main, 2);
	ck_assert_int_eq(ct_tw_create(f.w, 1, 1000, 2, s), 0);
	ck_assert_int_eq(ct_tw_start(f.w, 2, 1100), 0);
	ck_assert_int_eq(ct_tw_name(f.w, 2, 1150, "wor\"ker\n"), 0);
	ck_assert_int_eq(ct_tw_switch_in(f.w, 2, 1200, 3), 0);
	ck_assert_int_eq(ct_tw_sample(f.w, 2, 1300, s, 1000000), 0);
	ck_assert_int_eq(ct_tw_switch_out(f.w, 2, 1500, 3, true), 0);
	ck_assert_int_eq(ct_tw_switch_in(f.w, 2, 1600, 1), 0);
	/* The wait arrives at its end, after the switch-out it covers: sorted at flush. */
	ck_assert_int_eq(ct_tw_switch_out(f.w, 2, 1710, 1, false), 0);
	ck_assert_int_eq(ct_tw_switch_in(f.w, 2, 2500, 0), 0);
	ck_assert_int_eq(ct_tw_wait(f.w, 2, 1700, 2510, CT_WAIT_MUTEX, 0xdead, s), 0);
	ck_assert_int_eq(ct_tw_unblock(f.w, 1, 2400, 2, 0xdead, 0), 0);
	ck_assert_int_eq(ct_tw_wait(f.w, 1, 2600, CT_TW_OPEN, CT_WAIT_JOIN, 2, 0), 0);
	ck_assert_int_eq(ct_tw_exit(f.w, 2, 3000), 0);
	ck_assert_int_eq(ct_tw_lost(f.w, 3100, 7, "switch"), 0);
	ck_assert_int_eq(ct_tw_wait(f.w, 2, 10, 5, CT_WAIT_MUTEX, 0, 0), -EINVAL);
	ck_assert_int_eq(ct_tw_wait(f.w, 2, 10, 20, CT_WAIT_NREASONS, 0, 0), -EINVAL);
	ck_assert_int_eq(ct_tw_sample(f.w, 2, 10, 999, 1), -EINVAL);
	ct_trace *t = tfix_read(&f, 4000);

	ck_assert(t->has_switches && !t->truncated);
	ck_assert_int_eq(t->pid, 100);
	ck_assert_str_eq(t->engine, "perf");
	ck_assert_uint_eq(t->argc, 2);
	ck_assert_str_eq(t->argv[1], "--flag");
	ck_assert_uint_eq(t->sample_period_ns, 1000000);
	ck_assert_uint_eq(t->anchor_wall_ns, 1700000000000000000ull);
	ck_assert_uint_eq(t->start, 1000);
	ck_assert_uint_eq(t->end, 4000);
	ck_assert_uint_eq(t->nchunks, 1);
	ck_assert_uint_eq(t->lost, 7);
	ck_assert_uint_eq(t->nevents, 14);
	/* Thread 1's batch first (it appeared first), each batch in time order. */
	const ct_trace_event *e = t->events;
	ck_assert(e[0].kind == CT_EV_CREATE && e[0].tid == 1 && e[0].time == 1000);
	ck_assert(e[0].other == 2 && e[0].stack == 1);
	ck_assert(e[1].kind == CT_EV_UNBLOCK && e[1].other == 2 && e[1].arg == 0xdead);
	ck_assert(e[2].kind == CT_EV_WAIT_OPEN && e[2].reason == CT_WAIT_JOIN);
	ck_assert(e[2].end == UINT64_MAX && e[2].time == 2600 && e[2].arg == 2);
	ck_assert(e[3].kind == CT_EV_START && e[3].tid == 2 && e[3].time == 1100);
	ck_assert(e[4].kind == CT_EV_NAME);
	ck_assert_str_eq(e[4].str, "wor\"ker\n");
	ck_assert(e[5].kind == CT_EV_SWITCH_IN && e[5].other == 3 && e[5].time == 1200);
	ck_assert(e[6].kind == CT_EV_SAMPLE && e[6].arg == 1000000 && e[6].stack == 2);
	ck_assert(e[7].kind == CT_EV_SWITCH_OUT_PREEMPT && e[7].time == 1500);
	ck_assert(e[8].kind == CT_EV_SWITCH_IN && e[8].other == 1);
	ck_assert(e[9].kind == CT_EV_WAIT && e[9].time == 1700 && e[9].end == 2510);
	ck_assert(e[9].reason == CT_WAIT_MUTEX && e[9].arg == 0xdead && e[9].stack == 1);
	ck_assert(e[10].kind == CT_EV_SWITCH_OUT && e[10].time == 1710);
	ck_assert(e[11].kind == CT_EV_SWITCH_IN && e[11].time == 2500 && e[11].other == 0);
	ck_assert(e[12].kind == CT_EV_EXIT && e[12].time == 3000);
	ck_assert(e[13].kind == CT_EV_LOST && e[13].tid == 0 && e[13].arg == 7);
	ck_assert_str_eq(e[13].str, "switch");

	/* Hook stack: every frame a return address (minus one); sample: exact leaf. */
	ck_assert_uint_eq(t->nstacks, 2);
	const ct_profile *p = t->prof;
	ck_assert_uint_eq(p->nmappings, 1);
	ck_assert_str_eq(p->mappings[0].filename, "/usr/bin/app");
	ck_assert_str_eq(p->mappings[0].build_id, "abcdef");
	ck_assert_uint_eq(p->mappings[0].file_offset, 0x1000);
	const ct_trace_stack *hook = &t->stacks[0], *sample = &t->stacks[1];
	ck_assert_uint_eq(hook->nlocs, 2);
	ck_assert_uint_eq(p->locations[hook->locs[0]].address, TFIX_BASE + 0x120 - 1);
	ck_assert_uint_eq(p->locations[hook->locs[1]].address, TFIX_BASE + 0x340 - 1);
	ck_assert_uint_eq(p->locations[hook->locs[0]].mapping, 1);
	ck_assert_uint_eq(p->locations[sample->locs[0]].address, TFIX_BASE + 0x120);
	ck_assert_uint_eq(p->locations[sample->locs[1]].address, TFIX_BASE + 0x340 - 1);
	char buf[64];
	ck_assert_str_eq(ct_trace_loc_name(t, sample->locs[0], buf, sizeof(buf)), "app+0x1120");
	ct_trace_free(t);
}
END_TEST

/* Many chunks: each flush empties the buffers; stacks, modules and names are repeated per
 * chunk and merged again by the reader. */
START_TEST(many_chunks)
{
	tfix f;
	tfix_open(&f, true);
	uint32_t s = tfix_stack(&f, leaf_main, 2);
	uint64_t t = 1000;
	size_t most = 0;
	for (int c = 0; c < 300; c++) {
		for (uint32_t tid = 1; tid <= 8; tid++) {
			ck_assert_int_eq(ct_tw_name(f.w, tid, t, "w"), 0);
			for (int k = 0; k < 10; k++, t += 100) {
				ck_assert_int_eq(ct_tw_switch_in(f.w, tid, t, tid % 4), 0);
				ck_assert_int_eq(ct_tw_sample(f.w, tid, t + 10, s, 100), 0);
				ck_assert_int_eq(ct_tw_switch_out(f.w, tid, t + 50, tid % 4, k & 1),
						 0);
			}
		}
		if (ct_tw_pending(f.w) > most)
			most = ct_tw_pending(f.w);
		ck_assert_int_eq(ct_tw_flush(f.w, t), 0);
		ck_assert_uint_eq(ct_tw_pending(f.w), 0);
	}
	ck_assert_int_eq(ct_tw_flush(f.w, t), 0); /* nothing buffered: no chunk */
	ct_tw_stats st;
	ct_tw_get_stats(f.w, &st);
	ck_assert_uint_eq(st.chunks, 300);
	ck_assert_uint_eq(st.events, 300 * 8 * 31);
	/* 248 events buffered at most: a few KiB, not growing with the chunks. */
	ck_assert_uint_lt(most, 32 << 10);
	ct_trace *tr = tfix_read(&f, t);
	ck_assert_uint_eq(tr->nchunks, 300);
	ck_assert_uint_eq(tr->nevents, 300 * 8 * 31);
	ck_assert_uint_eq(tr->nstacks, 1);
	ck_assert_uint_eq(tr->prof->nmappings, 1);
	ct_trace_free(tr);
}
END_TEST

/* 20,000 short-lived threads, 1000 per chunk: the writer holds buffers only for the
 * threads of the last chunk, and every thread reads back. */
START_TEST(short_lived_threads_bounded)
{
	tfix f;
	tfix_open(&f, true);
	uint64_t t = 1000;
	ct_tw_stats st;
	for (uint32_t tid = 1; tid <= 20000; tid++, t += 100) {
		ck_assert_int_eq(ct_tw_create(f.w, 1, t, tid + 1, 0), 0);
		ck_assert_int_eq(ct_tw_switch_in(f.w, tid + 1, t + 10, 0), 0);
		ck_assert_int_eq(ct_tw_exit(f.w, tid + 1, t + 50), 0);
		if (tid % 1000 == 0) {
			ck_assert_int_eq(ct_tw_flush(f.w, t + 60), 0);
			ct_tw_get_stats(f.w, &st);
			ck_assert_uint_le(st.threads, 1001);
		}
	}
	ct_tw_get_stats(f.w, &st);
	ck_assert_uint_eq(st.chunks, 20);
	ct_trace *tr = tfix_read(&f, t);
	ck_assert_uint_eq(tr->nevents, 60000);
	ct_trace_model *m;
	ck_assert_int_eq(ct_trace_model_build(tr, &m), 0);
	ck_assert_uint_eq(m->nthreads, 20001);
	for (uint32_t i = 0; i < m->nthreads; i++)
		ck_assert(m->threads[i].alive == (m->threads[i].tid == 1));
	ct_trace_model_free(m);
	ct_trace_free(tr);
}
END_TEST

/* A chunk flushed with an earlier `now` than the one before it (the agent's last flush
 * uses the time sampling stopped, a tick may have flushed after that), and a close at that
 * time: the footer's end is the latest chunk end, and the file reads. */
START_TEST(flush_times_out_of_order)
{
	tfix f;
	tfix_open(&f, true);
	ck_assert_int_eq(ct_tw_switch_in(f.w, 1, 100, 0), 0);
	ck_assert_int_eq(ct_tw_flush(f.w, 2000), 0);
	ck_assert_int_eq(ct_tw_switch_out(f.w, 1, 300, 0, false), 0);
	ck_assert_int_eq(ct_tw_flush(f.w, 1000), 0);
	ct_trace *tr = tfix_read(&f, 1000);
	ck_assert(!tr->truncated);
	ck_assert_uint_eq(tr->nchunks, 2);
	ck_assert_uint_eq(tr->end, 2000);
	ct_trace_free(tr);
}
END_TEST

/* Writes one thread's batch as runs each in time order and checks the file has every
 * event once, in time order, ties in arrival order (the switch-in's CPU field carries the
 * arrival index). scattered: runs start anywhere (the writer's merge passes); else each
 * run overlaps the end of the one before, as a drain's hook records overlap its perf
 * records (the writer's merge of each run into the sorted prefix). */
static void check_runs(bool scattered)
{
	tfix f;
	tfix_open(&f, true);
	enum { RUNS = 37, PER = 300 };
	uint32_t arrival = 0;
	for (int r = 0; r < RUNS; r++) {
		uint64_t t = scattered ? 100000 + (uint64_t)((r * 17) % RUNS) * 1000
				       : 100000 + (uint64_t)r * 1000 - (r % 2 ? 200 : 0);
		int len = r % 5 == 0 ? 1 + r % 2 : PER;
		for (int i = 0; i < len; i++, t += 4) /* runs overlap: ties */
			ck_assert_int_eq(ct_tw_switch_in(f.w, 7, t, arrival++), 0);
	}
	ct_trace *tr = tfix_read(&f, 10000000);
	ck_assert_uint_eq(tr->nevents, arrival);
	uint8_t *seen = calloc(arrival, 1);
	for (size_t i = 0; i < tr->nevents; i++) {
		const ct_trace_event *e = &tr->events[i], *p = i ? e - 1 : NULL;
		ck_assert_uint_lt(e->other, arrival);
		ck_assert(!seen[e->other]);
		seen[e->other] = 1;
		if (p)
			ck_assert(p->time < e->time || (p->time == e->time && p->other < e->other));
	}
	free(seen);
	ct_trace_free(tr);
}

START_TEST(batch_runs_sorted)
{
	check_runs(false);
	check_runs(true);
}
END_TEST

/* Three chunks and a footer, cut at every byte from the start of the last chunk: each
 * cut reads as truncated, with the complete chunks' events. */
START_TEST(truncated_everywhere)
{
	tfix f;
	tfix_open(&f, true);
	size_t chunk_start[3];
	for (int c = 0; c < 3; c++) {
		size_t len;
		free(tfix_bytes(&f, &len));
		chunk_start[c] = len;
		for (uint32_t k = 0; k < 5; k++)
			ck_assert_int_eq(ct_tw_switch_in(f.w, 7, 1000 * (uint64_t)c + k, 0), 0);
		ck_assert_int_eq(ct_tw_flush(f.w, 1000 * (uint64_t)c + 500), 0);
	}
	size_t len;
	uint8_t *buf = tfix_finish(&f, 5000, &len);
	for (size_t cut = chunk_start[2]; cut < len; cut++) {
		ct_trace *t = NULL;
		ct_error err = {.offset = -1};
		int rc = ct_trace_decode(buf, cut, &t, &err);
		if (rc)
			ck_abort_msg("cut at %zu: %s", cut, err.msg);
		ck_assert(t->truncated);
		ck_assert_uint_ge(t->nchunks, 2);
		ck_assert_uint_eq(t->nevents, 5 * t->nchunks);
		ck_assert_uint_eq(t->dropped_bytes, t->nchunks == 2 ? cut - chunk_start[2]
								    : cut - (len - 24 - 8 - 24));
		ct_trace_free(t);
	}
	/* A cut inside the header is an error. */
	ct_trace *t = NULL;
	ct_error err = {.offset = -1};
	ck_assert_int_eq(ct_trace_decode(buf, 20, &t, &err), -EINVAL);
	ck_assert_ptr_null(t);
	ck_assert_str_eq(err.msg, "bad header length 58 at byte 12");
	/* Each header field's error names its own offset: version at 8, flags at 10. */
	buf[8] ^= 0x40;
	ck_assert_int_eq(ct_trace_decode(buf, len, &t, &err), -EINVAL);
	ck_assert_int_eq(err.offset, 8);
	buf[8] ^= 0x40;
	buf[10] |= 0x02;
	ck_assert_int_eq(ct_trace_decode(buf, len, &t, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "unknown header flags 0x3 at byte 10");
	buf[10] &= (uint8_t)~0x02;
	ck_assert_int_eq(ct_trace_decode(buf, len, &t, &err), 0);
	ck_assert(!t->truncated && t->end == 5000);
	ct_trace_free(t);
	free(buf);
}
END_TEST

/* Flipping any byte never crashes; in a chunk it is a checksum error naming the chunk. */
START_TEST(corrupt_bytes)
{
	tfix f;
	tfix_open(&f, true);
	uint32_t s = tfix_stack(&f, leaf_main, 2);
	ck_assert_int_eq(ct_tw_wait(f.w, 3, 100, 200, CT_WAIT_COND, 1, s), 0);
	size_t len;
	free(tfix_bytes(&f, &len));
	size_t first_chunk = len;
	ck_assert_int_eq(ct_tw_flush(f.w, 300), 0);
	free(tfix_bytes(&f, &len));
	size_t index = len;
	uint8_t *buf = tfix_finish(&f, 400, &len);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x40;
		ct_trace *t = NULL;
		ct_error err = {.offset = -1};
		int rc = ct_trace_decode(buf, len, &t, &err);
		if (rc) {
			ck_assert_ptr_null(t);
			ck_assert_ptr_nonnull(strstr(err.msg, " at byte "));
			ck_assert_int_ge(err.offset, 0);
		}
		if (i >= first_chunk + CT_TRACE_CHUNK_HEAD && i < index) {
			ck_assert_int_eq(rc, -EINVAL);
			ck_assert_msg(strstr(err.msg, "bad checksum of chunk 0 at byte") != NULL,
				      "%s", err.msg);
		}
		ct_trace_free(t);
		buf[i] ^= 0x40;
	}
	free(buf);
}
END_TEST

/* The trailer's end time is only required to be at least the last chunk's end; one past
 * 2^62 ns after the start made every duration negative (--sched: "-1884.86s" lifetimes). */
START_TEST(end_time_out_of_range)
{
	tfix f;
	tfix_open(&f, true);
	uint32_t s = tfix_stack(&f, leaf_main, 2);
	ck_assert_int_eq(ct_tw_wait(f.w, 3, 100, 200, CT_WAIT_COND, 1, s), 0);
	size_t len;
	uint8_t *buf = tfix_finish(&f, 400, &len);
	for (int k = 0; k < 2; k++) {
		uint64_t end = k ? UINT64_MAX - 7 : 1000;
		for (int i = 0; i < 8; i++)
			buf[len - CT_TRACE_TRAILER + 8 + i] = (uint8_t)(end >> (8 * i));
		ct_trace *t = NULL;
		ct_error err = {.offset = -1};
		int rc = ct_trace_decode(buf, len, &t, &err);
		if (k) {
			ck_assert_int_eq(rc, -EINVAL);
			ck_assert_ptr_null(t);
			ck_assert_msg(strstr(err.msg, "ns after the start at byte") != NULL, "%s",
				      err.msg);
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(t->end, 1000);
		}
		ct_trace_free(t);
	}
	free(buf);
}
END_TEST

/* ---- hand-made chunks: fields the writer never gets wrong ------------------------------ */

/* A header (from the writer) followed by one chunk with payload body (after seq, t0, span =
 * 0, 100, 1000 and the given tables), checksummed. */
static uint8_t *raw_file(const uint8_t *tables, size_t ntables, const uint8_t *batch, size_t nbatch,
			 size_t *len)
{
	tfix f;
	tfix_open(&f, true);
	size_t hlen;
	uint8_t *head = tfix_finish(&f, 0, &hlen);
	ct_bytes b = {0};
	ck_assert_int_eq(ct_bytes_need(&b, hlen + 64 + ntables + nbatch), 0);
	memcpy(b.p, head, hlen);
	b.len = hlen + CT_TRACE_CHUNK_HEAD;
	ct_bytes_uvarint(&b, 0);
	ct_bytes_uvarint(&b, 100);
	ct_bytes_uvarint(&b, 1000);
	memcpy(b.p + b.len, tables, ntables);
	b.len += ntables;
	if (nbatch)
		memcpy(b.p + b.len, batch, nbatch);
	b.len += nbatch;
	size_t payload = b.len - hlen - CT_TRACE_CHUNK_HEAD, end = b.len;
	uint32_t crc = (uint32_t)crc32(0, b.p + hlen + CT_TRACE_CHUNK_HEAD, (uInt)payload);
	b.len = hlen;
	ct_bytes_le(&b, CT_TRACE_CHUNK_MAGIC, 4);
	ct_bytes_le(&b, payload, 4);
	ct_bytes_le(&b, crc, 4);
	free(head);
	*len = end;
	return b.p;
}

static const char *raw_error(const uint8_t *tables, size_t ntables, const uint8_t *batch,
			     size_t nbatch, ct_trace **out)
{
	static ct_error err;
	size_t len;
	uint8_t *buf = raw_file(tables, ntables, batch, nbatch, &len);
	memset(&err, 0, sizeof(err));
	int rc = ct_trace_decode(buf, len, out, &err);
	free(buf);
	return rc ? err.msg : NULL;
}

START_TEST(handmade_chunks)
{
	/* strings: "x"; modules: none; stacks: one with no frames. */
	const uint8_t tables[] = {1, 1, 'x', 0, 1, 0};
	ct_trace *t = NULL;
	/* One batch for tid 5 with: a kind-40 event (skipped by its length), a switch-in. */
	const uint8_t skip[] = {1, 5, 2, 8, 40, 3, 2, 0xaa, 0xbb, 3, 1, 2};
	ck_assert_ptr_null(raw_error(tables, sizeof(tables), skip, sizeof(skip), &t));
	ck_assert_uint_eq(t->nevents, 1);
	ck_assert(t->events[0].kind == CT_EV_SWITCH_IN && t->events[0].time == 104);
	ck_assert_uint_eq(t->events[0].other, 2);
	ct_trace_free(t);
	t = NULL;
	/* A sample naming stack 12 of a chunk with one. */
	const uint8_t stack12[] = {1, 5, 1, 4, CT_EV_SAMPLE, 0, 12, 1};
	const char *msg = raw_error(tables, sizeof(tables), stack12, sizeof(stack12), &t);
	ck_assert_ptr_null(t);
	ck_assert_str_eq(msg, "bad stack index 12 at byte 102");
	const uint8_t kind13[] = {1, 5, 1, 2, 13, 0};
	msg = raw_error(tables, sizeof(tables), kind13, sizeof(kind13), &t);
	ck_assert_str_eq(msg, "unknown event kind 13 at byte 100");
	const uint8_t late[] = {1, 5, 1, 4, CT_EV_SWITCH_IN, 0xe9, 0x07, 0};
	msg = raw_error(tables, sizeof(tables), late, sizeof(late), &t);
	ck_assert_str_eq(msg, "event time 1 ns past its chunk's end at byte 100");
	const uint8_t reason[] = {1, 5, 1, 6, CT_EV_WAIT_OPEN, 0, 99, 0, 0, 0};
	msg = raw_error(tables, sizeof(tables), reason, sizeof(reason), &t);
	ck_assert_str_eq(msg, "bad wait reason 99 at byte 102");
	const uint8_t count[] = {1, 5, 3, 3, CT_EV_START, 0, CT_EV_EXIT};
	msg = raw_error(tables, sizeof(tables), count, sizeof(count), &t);
	ck_assert_str_eq(msg, "truncated or overlong varint in event time delta at byte 103");
	const uint8_t varint[] = {
		1,    5,    1,	  12, CT_EV_SWITCH_IN, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		0x80, 0x80, 0x80, 0};
	msg = raw_error(tables, sizeof(tables), varint, sizeof(varint), &t);
	ck_assert_str_eq(msg, "truncated or overlong varint in event time delta at byte 101");
	const uint8_t tid0[] = {1, 0, 1, 2, CT_EV_START, 0};
	msg = raw_error(tables, sizeof(tables), tid0, sizeof(tid0), &t);
	ck_assert_str_eq(msg, "start event in the batch of thread 0 at byte 100");
	const uint8_t badstr[] = {1, 1, 'x', 0, 0, 1, 5, 1, 3, CT_EV_NAME, 0, 1};
	msg = raw_error(badstr, sizeof(badstr), NULL, 0, &t);
	ck_assert_str_eq(msg, "bad name string index 1 at byte 101");
	ck_assert_ptr_null(t);
}
END_TEST

/* Context switches of two threads ping-ponging on one CPU (gaps of 2-40 µs): at most 16
 * bytes per switch (one out and one in) on disk, whole file included. */
START_TEST(bytes_per_switch)
{
	tfix f;
	tfix_open(&f, true);
	const int pairs = 100000;
	uint64_t t = 1000000;
	size_t before;
	free(tfix_bytes(&f, &before));
	for (int i = 0; i < pairs; i++) {
		uint32_t tid = 10 + (uint32_t)(i & 1);
		ck_assert_int_eq(ct_tw_switch_out(f.w, tid, t, 1, i % 7 == 0), 0);
		ck_assert_int_eq(ct_tw_switch_in(f.w, tid ^ 1, t + 900, 1), 0);
		t += 2000 + (uint64_t)(i * 7919 % 38000);
		if (i % 5000 == 4999)
			ck_assert_int_eq(ct_tw_flush(f.w, t), 0);
	}
	size_t len;
	free(tfix_finish(&f, t, &len));
	double per = (double)(len - before) / pairs;
	fprintf(stderr, "trace.ctr: %.2f bytes per context switch (out + in)\n", per);
	ck_assert_double_le(per, 16.0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tracefmt");
	CT_CHECK_TCASE(s, "core", 0, roundtrip_every_kind, many_chunks, short_lived_threads_bounded,
		       flush_times_out_of_order, truncated_everywhere, corrupt_bytes,
		       end_time_out_of_range, handmade_chunks, bytes_per_switch, batch_runs_sorted);
	return s;
}

CT_CHECK_MAIN(suite)
