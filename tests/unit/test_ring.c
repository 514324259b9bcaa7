/*
 * test_ring.c — unit tests for the lock-free per-CPU rings (libtrace/ring.h).
 *
 * Single-threaded tests pin down the protocol exactly: wraparound with padding that never
 * surfaces, exact written/dropped/consumed accounting when the ring is full, refusal of
 * records that can never fit, and ordering behind an uncommitted record. Concurrent tests
 * push millions of self-checking records (producer id, sequence number, checksum over a
 * variable-length payload) through one ring from four threads and from a signal handler
 * that interrupts its own thread between reserve and commit, while a consumer thread
 * drains; every record must arrive whole, once, in per-producer order, and
 * consumed + dropped must equal produced. The record counts shrink under ThreadSanitizer;
 * CT_TEST_RECORDS overrides the per-producer count.
 */
#include "libtrace/ring.h"
#include "tests/unit/ct_check.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* ---- failure collection usable from any thread (ck_assert is for the test thread) ---- */

/* Records per producer for the concurrent tests: the default, reduced under TSan, or the
 * value of CT_TEST_RECORDS. */
static uint64_t records_per_producer(uint64_t normal, uint64_t tsan)
{
	const char *s = getenv("CT_TEST_RECORDS");
	if (s && *s)
		return strtoull(s, NULL, 10);
	return UNDER_TSAN ? tsan : normal;
}

/* ---- self-checking payloads ---- */

typedef struct {
	uint32_t producer;
	uint32_t data_len;
	uint64_t seq;
	uint64_t sum;
} tpay;

#define TYPE_BASE 0x100

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Data bytes all have their top bit set, so stale payload bytes read as a length word
 * would carry CT_RING_COMMITTED: a consumer trusting them would be caught. */
static uint8_t data_byte(uint32_t producer, uint64_t seq, uint32_t i)
{
	return (uint8_t)(0x80 | (mix64(((uint64_t)producer << 48) ^ (seq << 8) ^ i) & 0x7f));
}

static uint64_t payload_sum(uint32_t producer, uint64_t seq, const uint8_t *data, uint32_t n)
{
	uint64_t h = mix64(((uint64_t)producer << 40) ^ seq ^ ((uint64_t)n << 20));
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	return h;
}

static uint32_t data_len_for(uint32_t producer, uint64_t seq, uint32_t max)
{
	return (uint32_t)(mix64(seq * 31 + producer) % (max + 1));
}

/* Fills a record's header fields and its payload's first `split` data bytes. */
static void fill_begin(ct_rec *rec, uint32_t producer, uint64_t seq, uint32_t data_len,
		       uint32_t split)
{
	tpay *p = ct_rec_payload(rec);
	p->producer = producer;
	p->data_len = data_len;
	p->seq = seq;
	uint8_t *d = (uint8_t *)(p + 1);
	for (uint32_t i = 0; i < split && i < data_len; i++)
		d[i] = data_byte(producer, seq, i);
	rec->tid = producer + 1;
	rec->flags = (uint16_t)seq;
	rec->time = seq;
}

static void fill_end(ct_rec *rec, uint32_t split)
{
	tpay *p = ct_rec_payload(rec);
	uint8_t *d = (uint8_t *)(p + 1);
	for (uint32_t i = split; i < p->data_len; i++)
		d[i] = data_byte(p->producer, p->seq, i);
	p->sum = payload_sum(p->producer, p->seq, d, p->data_len);
}

static void fill(ct_rec *rec, uint32_t producer, uint64_t seq, uint32_t data_len)
{
	fill_begin(rec, producer, seq, data_len, data_len);
	fill_end(rec, data_len);
}

/* Checks one consumed record; returns its payload or NULL (after fail_once). */
static const tpay *check_record(const ct_rec *rec, uint32_t nproducers)
{
	uint32_t len = atomic_load_explicit(&((ct_rec *)rec)->len, memory_order_relaxed);
	if (rec->type == CT_REC_PAD) {
		ct_check_fail_once("padding record surfaced to the consumer (len %#x)", len);
		return NULL;
	}
	if (!(len & CT_RING_COMMITTED)) {
		ct_check_fail_once("consumer got an uncommitted record (len %#x)", len);
		return NULL;
	}
	uint32_t plen = ct_rec_payload_len(rec);
	if (plen < sizeof(tpay)) {
		ct_check_fail_once("payload too short: %u bytes, type %#x", plen, rec->type);
		return NULL;
	}
	const tpay *p = ct_rec_cpayload(rec);
	if (p->producer >= nproducers || rec->type != TYPE_BASE + p->producer) {
		ct_check_fail_once("bad producer %u / type %#x", p->producer, rec->type);
		return NULL;
	}
	if (plen != sizeof(tpay) + p->data_len) {
		ct_check_fail_once("producer %u seq %llu: payload_len %u, expected %zu",
				   p->producer, (unsigned long long)p->seq, plen,
				   sizeof(tpay) + p->data_len);
		return NULL;
	}
	const uint8_t *d = (const uint8_t *)(p + 1);
	if (payload_sum(p->producer, p->seq, d, p->data_len) != p->sum) {
		ct_check_fail_once("producer %u seq %llu: checksum mismatch (torn record)",
				   p->producer, (unsigned long long)p->seq);
		return NULL;
	}
	if (rec->tid != p->producer + 1 || rec->flags != (uint16_t)p->seq || rec->time != p->seq) {
		ct_check_fail_once("producer %u seq %llu: header fields corrupted", p->producer,
				   (unsigned long long)p->seq);
		return NULL;
	}
	return p;
}

/* ---- single-threaded protocol tests ---- */

typedef struct {
	uint64_t next_seq;
	uint64_t n;
} seq_state;

/* Expects records of producer 0 with consecutive sequence numbers. */
static void expect_next(const ct_rec *rec, void *arg)
{
	seq_state *st = arg;
	const tpay *p = check_record(rec, 1);
	if (p && p->seq != st->next_seq)
		ct_check_fail_once("got seq %llu, expected %llu", (unsigned long long)p->seq,
				   (unsigned long long)st->next_seq);
	st->next_seq++;
	st->n++;
}

START_TEST(create_rejects_bad_capacity)
{
	errno = 0;
	ck_assert_ptr_null(ct_ring_create(2048));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(ct_ring_create(4096 + 4096 / 2));
	ck_assert_int_eq(errno, EINVAL);
	ct_ring *r = ct_ring_create(4096);
	ck_assert_ptr_nonnull(r);
	ct_ring_stats st;
	ct_ring_get_stats(r, &st);
	ck_assert_uint_eq(st.capacity, 4096);
	ck_assert_uint_eq(st.written, 0);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.consumed, 0);
	ct_ring_destroy(r);
}
END_TEST

START_TEST(reserve_fills_header)
{
	ct_ring *r = ct_ring_create(4096);
	ct_rec *rec = ct_ring_reserve(r, 0x1234, 13);
	ck_assert_ptr_nonnull(rec);
	ck_assert_uint_eq(((uintptr_t)rec) % 8, 0);
	ck_assert_uint_eq(rec->type, 0x1234);
	ck_assert_uint_eq(rec->flags, 0);
	ck_assert_uint_eq(rec->tid, 0);
	ck_assert_uint_eq(rec->cpu, 0);
	ck_assert_uint_eq(rec->time, 0);
	ck_assert_uint_eq(ct_rec_payload_len(rec), 13);
	ck_assert_ptr_eq(ct_rec_payload(rec), (void *)(rec + 1));
	ct_ring_destroy(r);
}
END_TEST

/* Many records of varied sizes through a 4 KiB ring: the producer retries a dropped record
 * after the consumer made room, so the consumer must see every sequence number once, in
 * order, intact, and never a padding record. */
START_TEST(wraparound_varied_sizes)
{
	ct_ring *r = ct_ring_create(4096);
	uint64_t total = records_per_producer(200000, 50000), drops = 0, seq = 0, rng = 12345;
	seq_state st = {0, 0};
	while (seq < total) {
		rng = mix64(rng);
		uint32_t data_len = (uint32_t)(rng % 700);
		ct_rec *rec = ct_ring_reserve(r, TYPE_BASE, (uint32_t)sizeof(tpay) + data_len);
		if (!rec) {
			drops++;
			size_t got = ct_ring_consume(r, expect_next, &st, 1 + (rng >> 32) % 8);
			ck_assert_uint_gt(got, 0);
			continue;
		}
		ck_assert_uint_eq(ct_rec_payload_len(rec), sizeof(tpay) + data_len);
		ck_assert_uint_eq((uintptr_t)rec % 8, 0);
		fill(rec, 0, seq, data_len);
		ct_ring_commit(r, rec);
		seq++;
		if ((rng >> 40) % 5 == 0)
			ct_ring_consume(r, expect_next, &st, (rng >> 20) % 4);
	}
	while (ct_ring_consume(r, expect_next, &st, SIZE_MAX) > 0) {
	}
	CT_CHECK_NO_FAILURES();
	ck_assert_uint_eq(st.n, total);
	ck_assert_uint_eq(st.next_seq, total);
	ct_ring_stats s;
	ct_ring_get_stats(r, &s);
	ck_assert_uint_eq(s.written, total);
	ck_assert_uint_eq(s.dropped, drops);
	ck_assert_uint_eq(s.consumed, total);
	ck_assert_uint_gt(drops, 0);
	ct_ring_destroy(r);
}
END_TEST

/* A record that ends exactly at the end of the buffer needs no padding; the next one
 * starts at offset 0. Then a record that does not fit before the end forces padding. */
START_TEST(exact_fit_and_padding)
{
	ct_ring *r = ct_ring_create(4096);
	seq_state st = {0, 0};
	uint64_t seq = 0;
	ct_rec *start = NULL; /* the record at offset 0 */
	/* 64-byte records: 24 header + 24 tpay + 16 data; 32 of them are half the ring. */
	for (int lap = 0; lap < 3; lap++) {
		for (int i = 0; i < 32; i++) {
			ct_rec *rec = ct_ring_reserve(r, TYPE_BASE, sizeof(tpay) + 16);
			ck_assert_ptr_nonnull(rec);
			if (!start)
				start = rec;
			if (lap == 2 && i == 0)
				ck_assert_ptr_eq(rec, start); /* wrapped with no padding */
			fill(rec, 0, seq++, 16);
			ct_ring_commit(r, rec);
		}
		ck_assert_uint_eq(ct_ring_consume(r, expect_next, &st, SIZE_MAX), 32);
	}
	/* Head sits at offset 3 * 2048 mod 4096 = 2048. 31 records and one of 48 bytes end at
	 * 4080; a 64-byte record cannot fit before the end: 16 bytes of padding, record at 0. */
	for (int i = 0; i < 31; i++) {
		ct_rec *rec = ct_ring_reserve(r, TYPE_BASE, sizeof(tpay) + 16);
		ck_assert_ptr_nonnull(rec);
		fill(rec, 0, seq++, 16);
		ct_ring_commit(r, rec);
	}
	ct_rec *small = ct_ring_reserve(r, TYPE_BASE, sizeof(tpay)); /* 48 bytes */
	ck_assert_ptr_nonnull(small);
	fill(small, 0, seq++, 0);
	ct_ring_commit(r, small);
	ck_assert_uint_eq(ct_ring_consume(r, expect_next, &st, SIZE_MAX), 32);
	ct_rec *big = ct_ring_reserve(r, TYPE_BASE, sizeof(tpay) + 16);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_eq(big, start);
	fill(big, 0, seq++, 16);
	ct_ring_commit(r, big);
	ck_assert_uint_eq(ct_ring_consume(r, expect_next, &st, SIZE_MAX), 1);
	CT_CHECK_NO_FAILURES();
	ct_ring_stats s;
	ct_ring_get_stats(r, &s);
	ck_assert_uint_eq(s.written, seq);
	ck_assert_uint_eq(s.consumed, seq);
	ck_assert_uint_eq(s.dropped, 0);
	ct_ring_destroy(r);
}
END_TEST

/* Filling without consuming: every further reserve is refused and counted, and nothing
 * already written is overwritten. */
START_TEST(full_ring_drops_exactly)
{
	ct_ring *r = ct_ring_create(4096);
	const uint32_t data = 16, recsz = 24 + sizeof(tpay) + data; /* 64 bytes */
	uint64_t ok = 0, attempts = 0;
	for (int i = 0; i < 200; i++) {
		attempts++;
		ct_rec *rec = ct_ring_reserve(r, TYPE_BASE, sizeof(tpay) + data);
		if (!rec)
			continue;
		ck_assert_uint_eq(ok, (uint64_t)i); /* no success after the first refusal */
		fill(rec, 0, ok++, data);
		ct_ring_commit(r, rec);
	}
	ck_assert_uint_le(ok * recsz, 4096);
	ck_assert_uint_ge(ok, 4096 / recsz - 1);
	/* Smaller records do not fit either (no reuse of unread space), nor empty ones. */
	for (uint32_t sz = 0; sz < 40; sz += 8) {
		attempts++;
		ck_assert_ptr_null(ct_ring_reserve(r, TYPE_BASE, sz));
	}
	ct_ring_stats s;
	ct_ring_get_stats(r, &s);
	ck_assert_uint_eq(s.written, ok);
	ck_assert_uint_eq(s.dropped, attempts - ok);
	ck_assert_uint_eq(s.consumed, 0);

	/* Consume part; exactly that much room comes back. */
	seq_state st = {0, 0};
	ck_assert_uint_eq(ct_ring_consume(r, expect_next, &st, 10), 10);
	uint64_t refill = 0;
	for (int i = 0; i < 20; i++) {
		attempts++;
		ct_rec *rec = ct_ring_reserve(r, TYPE_BASE, sizeof(tpay) + data);
		if (!rec)
			continue;
		fill(rec, 0, ok + refill++, data);
		ct_ring_commit(r, rec);
	}
	ck_assert_uint_ge(refill, 9);
	ck_assert_uint_le(refill, 10);
	while (ct_ring_consume(r, expect_next, &st, SIZE_MAX) > 0) {
	}
	CT_CHECK_NO_FAILURES();
	ck_assert_uint_eq(st.n, ok + refill);
	ct_ring_get_stats(r, &s);
	ck_assert_uint_eq(s.written, ok + refill);
	ck_assert_uint_eq(s.dropped, attempts - ok - refill);
	ck_assert_uint_eq(s.consumed, ok + refill);
	ct_ring_destroy(r);
}
END_TEST

START_TEST(too_large_refused)
{
	ct_ring *r = ct_ring_create(4096);
	ck_assert_ptr_null(ct_ring_reserve(r, TYPE_BASE, CT_RING_MAX_RECORD + 1));
	ck_assert_ptr_null(ct_ring_reserve(r, TYPE_BASE, UINT32_MAX));
	ck_assert_ptr_null(ct_ring_reserve(r, TYPE_BASE, UINT32_MAX - 16));
	ck_assert_ptr_null(ct_ring_reserve(r, TYPE_BASE, 4096)); /* can never fit */
	ck_assert_ptr_null(ct_ring_reserve(r, TYPE_BASE, 4096 - 8));
	ct_ring_stats s;
	ct_ring_get_stats(r, &s);
	ck_assert_uint_eq(s.dropped, 5);
	ck_assert_uint_eq(s.written, 0);
	/* The ring still works afterwards. */
	ct_rec *rec = ct_ring_reserve(r, TYPE_BASE, sizeof(tpay) + 100);
	ck_assert_ptr_nonnull(rec);
	fill(rec, 0, 0, 100);
	ct_ring_commit(r, rec);
	seq_state st = {0, 0};
	ck_assert_uint_eq(ct_ring_consume(r, expect_next, &st, SIZE_MAX), 1);
	CT_CHECK_NO_FAILURES();
	ct_ring_destroy(r);

	/* In a big ring the largest allowed payload fits, one byte more does not. */
	r = ct_ring_create(4u << 20);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(ct_ring_reserve(r, TYPE_BASE, CT_RING_MAX_RECORD + 1));
	rec = ct_ring_reserve(r, TYPE_BASE, CT_RING_MAX_RECORD);
	ck_assert_ptr_nonnull(rec);
	ck_assert_uint_eq(ct_rec_payload_len(rec), CT_RING_MAX_RECORD);
	memset(ct_rec_payload(rec), 0xab, CT_RING_MAX_RECORD);
	ct_ring_commit(r, rec);
	ct_ring_get_stats(r, &s);
	ck_assert_uint_eq(s.dropped, 1);
	ck_assert_uint_eq(s.written, 1);
	ct_ring_destroy(r);
}
END_TEST

typedef struct {
	uint16_t types[16];
	int n;
} type_log;

static void log_type(const ct_rec *rec, void *arg)
{
	type_log *t = arg;
	if (t->n < 16)
		t->types[t->n] = rec->type;
	t->n++;
}

/* The consumer stops at the first uncommitted record and resumes there. */
START_TEST(uncommitted_blocks_consumer)
{
	ct_ring *r = ct_ring_create(4096);
	ct_rec *a = ct_ring_reserve(r, 1, 8);
	ct_rec *b = ct_ring_reserve(r, 2, 8);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ct_ring_commit(r, b);
	type_log t = {{0}, 0};
	ck_assert_uint_eq(ct_ring_consume(r, log_type, &t, SIZE_MAX), 0);
	ck_assert_int_eq(t.n, 0);
	ct_ring_commit(r, a);
	ck_assert_uint_eq(ct_ring_consume(r, log_type, &t, 1), 1);
	ck_assert_uint_eq(ct_ring_consume(r, log_type, &t, SIZE_MAX), 1);
	ck_assert_int_eq(t.n, 2);
	ck_assert_uint_eq(t.types[0], 1);
	ck_assert_uint_eq(t.types[1], 2);
	ck_assert_uint_eq(ct_ring_consume(r, log_type, &t, SIZE_MAX), 0);
	ct_ring_destroy(r);
}
END_TEST

/* A signal handler that produces while its thread holds an uncommitted record: both
 * records arrive, in reservation order. */
static ct_ring *nested_ring;

static void nested_handler(int sig)
{
	(void)sig;
	ct_rec *rec = ct_ring_reserve(nested_ring, 2, 8);
	if (rec)
		ct_ring_commit(nested_ring, rec);
}

START_TEST(signal_between_reserve_and_commit)
{
	nested_ring = ct_ring_create(4096);
	struct sigaction sa = {0}, old;
	sa.sa_handler = nested_handler;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
	ct_rec *a = ct_ring_reserve(nested_ring, 1, 8);
	ck_assert_ptr_nonnull(a);
	raise(SIGUSR1);
	type_log t = {{0}, 0};
	ck_assert_uint_eq(ct_ring_consume(nested_ring, log_type, &t, SIZE_MAX), 0);
	ct_ring_commit(nested_ring, a);
	ck_assert_uint_eq(ct_ring_consume(nested_ring, log_type, &t, SIZE_MAX), 2);
	ck_assert_uint_eq(t.types[0], 1);
	ck_assert_uint_eq(t.types[1], 2);
	sigaction(SIGUSR1, &old, NULL);
	ct_ring_destroy(nested_ring);
}
END_TEST

/* ---- concurrent tests ---- */

#define MAXPROD 8

typedef struct {
	ct_ring *ring;
	uint32_t nproducers;
	atomic_bool done;
	/* consumer side */
	uint64_t next[MAXPROD]; /* smallest acceptable next sequence number */
	uint64_t got[MAXPROD];
	uint64_t total;
} conc;

static void conc_record(const ct_rec *rec, void *arg)
{
	conc *c = arg;
	const tpay *p = check_record(rec, c->nproducers);
	c->total++;
	if (!p)
		return;
	if (p->seq < c->next[p->producer])
		ct_check_fail_once("producer %u: seq %llu after %llu (duplicate or reordered)",
				   p->producer, (unsigned long long)p->seq,
				   (unsigned long long)c->next[p->producer] - 1);
	c->next[p->producer] = p->seq + 1;
	c->got[p->producer]++;
}

static void *conc_consumer(void *arg)
{
	conc *c = arg;
	for (;;) {
		bool done = atomic_load_explicit(&c->done, memory_order_acquire);
		size_t n = ct_ring_consume(c->ring, conc_record, c, 512);
		if (n == 0) {
			if (done)
				break;
			sched_yield();
		}
	}
	return NULL;
}

typedef struct {
	conc *c;
	uint32_t id;
	uint64_t count;
	uint64_t drops;
} producer_arg;

static void *conc_producer(void *arg)
{
	producer_arg *pa = arg;
	for (uint64_t seq = 0; seq < pa->count; seq++) {
		uint32_t dl = data_len_for(pa->id, seq, 96);
		ct_rec *rec = ct_ring_reserve(pa->c->ring, (uint16_t)(TYPE_BASE + pa->id),
					      sizeof(tpay) + dl);
		if (!rec) {
			pa->drops++;
			sched_yield();
			continue;
		}
		fill(rec, pa->id, seq, dl);
		ct_ring_commit(pa->c->ring, rec);
	}
	return NULL;
}

START_TEST(four_producers_one_consumer)
{
	conc *c = calloc(1, sizeof(*c));
	c->ring = ct_ring_create(64 * 1024);
	c->nproducers = 4;
	uint64_t per = records_per_producer(1000000, 100000);
	producer_arg pa[4];
	pthread_t pt[4], ct;
	ck_assert_int_eq(pthread_create(&ct, NULL, conc_consumer, c), 0);
	for (uint32_t i = 0; i < 4; i++) {
		pa[i] = (producer_arg){c, i, per, 0};
		ck_assert_int_eq(pthread_create(&pt[i], NULL, conc_producer, &pa[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(pt[i], NULL);
	atomic_store_explicit(&c->done, true, memory_order_release);
	pthread_join(ct, NULL);
	CT_CHECK_NO_FAILURES();

	ct_ring_stats s;
	ct_ring_get_stats(c->ring, &s);
	uint64_t drops = 0;
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(c->got[i] + pa[i].drops == per,
			      "producer %d: %llu consumed + %llu dropped != %llu produced", i,
			      (unsigned long long)c->got[i], (unsigned long long)pa[i].drops,
			      (unsigned long long)per);
		drops += pa[i].drops;
	}
	ck_assert_uint_eq(s.dropped, drops);
	ck_assert_uint_eq(s.consumed, c->total);
	ck_assert_uint_eq(s.written, c->total);
	ck_assert_uint_eq(s.consumed + s.dropped, 4 * per);
	ck_assert_uint_gt(c->total, 0);
	ct_ring_destroy(c->ring);
	free(c);
}
END_TEST

/* A thread produces in a loop; SIGUSR1 — raised by the thread itself between a reserve and
 * its commit, and sent asynchronously by another thread at random points — runs a handler
 * that produces on the same ring. Producer 0 is the loop; the handler is producer 1 + its
 * nesting level (handlers may nest, e.g. under TSan's deferred delivery), so that each
 * producer's sequence numbers are taken in reservation order. */
#define SIG_LEVELS 4
static conc *sig_conc;
static atomic_int sig_depth; /* atomic RMW: a nested handler cannot split an update */
static _Atomic uint64_t sig_calls, sig_too_deep;
static volatile uint64_t sig_seq[SIG_LEVELS], sig_drops[SIG_LEVELS]; /* one level each */

static void producing_handler(int sig)
{
	(void)sig;
	int saved = errno;
	int level = atomic_fetch_add(&sig_depth, 1);
	atomic_fetch_add(&sig_calls, 1);
	if (level >= SIG_LEVELS) {
		atomic_fetch_add(&sig_too_deep, 1);
		atomic_fetch_sub(&sig_depth, 1);
		errno = saved;
		return;
	}
	uint32_t producer = 1 + (uint32_t)level;
	for (int k = 0; k < 3; k++) {
		uint64_t seq = sig_seq[level]++;
		uint32_t dl = data_len_for(producer, seq, 64);
		ct_rec *rec = ct_ring_reserve(sig_conc->ring, (uint16_t)(TYPE_BASE + producer),
					      sizeof(tpay) + dl);
		if (!rec) {
			sig_drops[level]++;
			continue;
		}
		fill(rec, producer, seq, dl);
		ct_ring_commit(sig_conc->ring, rec);
	}
	atomic_fetch_sub(&sig_depth, 1);
	errno = saved;
}

typedef struct {
	uint64_t count;
	uint64_t drops;
	uint64_t raised;
	atomic_bool finished;
	pthread_t self;
} loop_arg;

static void *signalled_producer(void *arg)
{
	loop_arg *la = arg;
	for (uint64_t seq = 0; seq < la->count; seq++) {
		uint32_t dl = data_len_for(0, seq, 96);
		ct_rec *rec = ct_ring_reserve(sig_conc->ring, TYPE_BASE, sizeof(tpay) + dl);
		if (!rec) {
			la->drops++;
			sched_yield();
			continue;
		}
		fill_begin(rec, 0, seq, dl, dl / 2);
		if (seq % 16 == 0) {
			pthread_kill(pthread_self(), SIGUSR1);
			la->raised++;
		}
		fill_end(rec, dl / 2);
		ct_ring_commit(sig_conc->ring, rec);
	}
	atomic_store(&la->finished, true);
	return NULL;
}

START_TEST(signal_handler_producer)
{
	sig_conc = calloc(1, sizeof(*sig_conc));
	sig_conc->ring = ct_ring_create(16 * 1024);
	sig_conc->nproducers = 1 + SIG_LEVELS;
	struct sigaction sa = {0}, old;
	sa.sa_handler = producing_handler;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);

	loop_arg la = {.count = records_per_producer(400000, 40000)};
	pthread_t ct, pt;
	ck_assert_int_eq(pthread_create(&ct, NULL, conc_consumer, sig_conc), 0);
	ck_assert_int_eq(pthread_create(&pt, NULL, signalled_producer, &la), 0);
	while (!atomic_load(&la.finished)) {
		pthread_kill(pt, SIGUSR1);
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
	}
	pthread_join(pt, NULL);
	atomic_store_explicit(&sig_conc->done, true, memory_order_release);
	pthread_join(ct, NULL);
	sigaction(SIGUSR1, &old, NULL);
	CT_CHECK_NO_FAILURES();

	ck_assert_uint_gt(la.raised, 0);
	ck_assert_uint_ge(sig_calls, la.raised);
	ck_assert_uint_eq(sig_too_deep, 0);
	ck_assert_msg(sig_conc->got[0] + la.drops == la.count,
		      "loop: %llu consumed + %llu dropped != %llu produced",
		      (unsigned long long)sig_conc->got[0], (unsigned long long)la.drops,
		      (unsigned long long)la.count);
	uint64_t handler_records = 0, handler_drops = 0;
	for (int l = 0; l < SIG_LEVELS; l++) {
		ck_assert_msg(sig_conc->got[1 + l] + sig_drops[l] == sig_seq[l],
			      "handler level %d: %llu consumed + %llu dropped != %llu produced", l,
			      (unsigned long long)sig_conc->got[1 + l],
			      (unsigned long long)sig_drops[l], (unsigned long long)sig_seq[l]);
		handler_records += sig_seq[l];
		handler_drops += sig_drops[l];
	}
	ck_assert_uint_eq(handler_records, 3 * sig_calls);
	ct_ring_stats s;
	ct_ring_get_stats(sig_conc->ring, &s);
	ck_assert_uint_eq(s.dropped, la.drops + handler_drops);
	ck_assert_uint_eq(s.consumed, sig_conc->total);
	ck_assert_uint_eq(s.consumed + s.dropped, la.count + handler_records);
	ct_ring_destroy(sig_conc->ring);
	free(sig_conc);
}
END_TEST

/* A drop is only allowed when the ring is full. A thread produces 32-byte records into a
 * 64 KiB ring that a consumer keeps nearly empty, while signals interrupt it anywhere (also
 * inside ct_ring_reserve); the handler produces four records and waits until the consumer
 * has caught up, so a reserve interrupted between reading head and reading tail resumes with a
 * stale head. Before each reserve the loop reads how many records the consumer has released
 * (c0, published after ct_ring_consume returned); if the reserve is refused, the ring held
 * at most written(now) - c0 records, and fewer than fill it is a spurious drop.
 * Records are 32 bytes and the ring a multiple of that, so no padding is ever needed. */
#define SD_RING (64 * 1024)
static ct_ring *sd_ring;
static _Atomic uint64_t sd_handled; /* atomic RMW: handlers may nest */
static _Atomic uint64_t sd_released;

static void catch_up_handler(int sig)
{
	(void)sig;
	int saved = errno;
	for (int k = 0; k < 4; k++) {
		ct_rec *rec = ct_ring_reserve(sd_ring, TYPE_BASE, 8);
		if (rec)
			ct_ring_commit(sd_ring, rec);
	}
	for (int spin = 0; spin < 20000; spin++) {
		ct_ring_stats st;
		ct_ring_get_stats(sd_ring, &st);
		if (st.consumed == st.written)
			break;
	}
	atomic_fetch_add(&sd_handled, 1);
	errno = saved;
}

typedef struct {
	uint64_t count;
	uint64_t spurious;
	uint64_t drops;
	atomic_bool finished;
} sd_arg;

static void *sd_producer(void *arg)
{
	sd_arg *a = arg;
	for (uint64_t i = 0; i < a->count; i++) {
		/* Leave the consumer time to keep up so that the ring is rarely full. */
		for (volatile int w = 0; w < 40; w++) {
		}
		uint64_t released = atomic_load_explicit(&sd_released, memory_order_acquire);
		ct_rec *rec = ct_ring_reserve(sd_ring, TYPE_BASE, 8);
		if (rec) {
			ct_ring_commit(sd_ring, rec);
			continue;
		}
		a->drops++;
		ct_ring_stats after;
		ct_ring_get_stats(sd_ring, &after);
		if ((after.written - released) * 32 < SD_RING)
			a->spurious++;
	}
	atomic_store(&a->finished, true);
	return NULL;
}

static void count_only(const ct_rec *rec, void *arg)
{
	(void)rec;
	(*(uint64_t *)arg)++;
}

static void *sd_consumer(void *arg)
{
	atomic_bool *done = arg;
	uint64_t n = 0;
	for (;;) {
		bool d = atomic_load_explicit(done, memory_order_acquire);
		size_t got = ct_ring_consume(sd_ring, count_only, &n, SIZE_MAX);
		atomic_store_explicit(&sd_released, n, memory_order_release);
		if (got == 0 && d)
			break;
	}
	return NULL;
}

START_TEST(no_spurious_drops)
{
	sd_ring = ct_ring_create(SD_RING);
	struct sigaction sa = {0}, old;
	sa.sa_handler = catch_up_handler;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
	sd_arg a = {.count = records_per_producer(2000000, 200000)};
	atomic_bool done = false;
	pthread_t ct, pt;
	ck_assert_int_eq(pthread_create(&ct, NULL, sd_consumer, &done), 0);
	ck_assert_int_eq(pthread_create(&pt, NULL, sd_producer, &a), 0);
	prctl(PR_SET_TIMERSLACK, 1UL);
	while (!atomic_load(&a.finished)) {
		pthread_kill(pt, SIGUSR1);
		struct timespec ts = {0, 2000};
		nanosleep(&ts, NULL);
	}
	pthread_join(pt, NULL);
	atomic_store_explicit(&done, true, memory_order_release);
	pthread_join(ct, NULL);
	sigaction(SIGUSR1, &old, NULL);
	ck_assert_msg(a.spurious == 0,
		      "%llu of %llu drops happened while the ring was not full (%llu signals)",
		      (unsigned long long)a.spurious, (unsigned long long)a.drops,
		      (unsigned long long)atomic_load(&sd_handled));
	ct_ring_stats st;
	ct_ring_get_stats(sd_ring, &st);
	ck_assert_uint_eq(st.consumed, st.written);
	ck_assert_uint_eq(st.written + st.dropped, a.count + 4 * atomic_load(&sd_handled));
	ct_ring_destroy(sd_ring);
}
END_TEST

/* ---- ring sets ---- */

typedef struct {
	int ring;
	uint64_t n;
	uint64_t next[MAXPROD];
} ringset_check;

static void ringset_record(const ct_rec *rec, void *arg)
{
	ringset_check *rc = arg;
	const tpay *p = check_record(rec, MAXPROD);
	rc->n++;
	if ((int)rec->cpu != rc->ring)
		ct_check_fail_once("record from ring %d says cpu %u", rc->ring, rec->cpu);
	if (p) {
		if (p->seq < rc->next[p->producer])
			ct_check_fail_once("ring %d: producer %u seq %llu out of order", rc->ring,
					   p->producer, (unsigned long long)p->seq);
		rc->next[p->producer] = p->seq + 1;
	}
}

/* Produces via the ring set; the record's cpu is the one sched_getcpu reported when the
 * thread is pinned. Returns records committed. */
static uint64_t ringset_produce(ct_ringset *s, uint32_t producer, uint64_t first, uint64_t n,
				int expect_cpu)
{
	uint64_t ok = 0;
	for (uint64_t seq = first; seq < first + n; seq++) {
		uint32_t dl = data_len_for(producer, seq, 40);
		ct_rec *rec =
			ct_ringset_reserve(s, (uint16_t)(TYPE_BASE + producer), sizeof(tpay) + dl);
		if (!rec)
			continue;
		if (expect_cpu >= 0 && (int)rec->cpu != expect_cpu)
			ct_check_fail_once("pinned to cpu %d, record says cpu %u", expect_cpu,
					   rec->cpu);
		if (rec->cpu >= (uint32_t)ct_ringset_count(s))
			ct_check_fail_once("record cpu %u out of range", rec->cpu);
		fill(rec, producer, seq, dl);
		ct_ringset_commit(s, rec);
		ok++;
	}
	return ok;
}

START_TEST(ringset_cpu_matches_ring)
{
	ct_ringset *s = ct_ringset_create(64 * 1024);
	ck_assert_ptr_nonnull(s);
	int n = ct_ringset_count(s);
	ck_assert_int_ge(n, 1);
	for (int i = 0; i < n; i++)
		ck_assert_ptr_nonnull(ct_ringset_ring(s, i));

	cpu_set_t orig;
	ck_assert_int_eq(sched_getaffinity(0, sizeof(orig), &orig), 0);
	uint64_t produced = 0, seq = 0;
	int pinned_cpus = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu < n; cpu++) {
		if (!CPU_ISSET(cpu, &orig))
			continue;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0)
			continue;
		pinned_cpus++;
		produced += ringset_produce(s, 0, seq, 300, cpu);
		seq += 300;
	}
	ck_assert_int_eq(sched_setaffinity(0, sizeof(orig), &orig), 0);
	ck_assert_int_gt(pinned_cpus, 0);
	produced += ringset_produce(s, 0, seq, 1000, -1);

	uint64_t consumed = 0;
	for (int i = 0; i < n; i++) {
		ringset_check rc = {.ring = i};
		ct_ring_consume(ct_ringset_ring(s, i), ringset_record, &rc, SIZE_MAX);
		consumed += rc.n;
	}
	CT_CHECK_NO_FAILURES();
	ck_assert_uint_eq(consumed, produced);
	ct_ring_stats st;
	ct_ringset_get_stats(s, &st);
	ck_assert_uint_eq(st.written, produced);
	ck_assert_uint_eq(st.consumed, produced);
	ck_assert_uint_eq(st.dropped, pinned_cpus * 300 + 1000 - produced);
	ck_assert_uint_eq(st.capacity, (size_t)n * 64 * 1024);
	ct_ringset_destroy(s);
}
END_TEST

typedef struct {
	ct_ringset *s;
	uint32_t id;
	uint64_t count;
	uint64_t ok;
} rs_producer_arg;

static void *rs_producer(void *arg)
{
	rs_producer_arg *a = arg;
	for (uint64_t seq = 0; seq < a->count; seq += 64) {
		a->ok += ringset_produce(a->s, a->id, seq, 64, -1);
		sched_yield();
	}
	return NULL;
}

typedef struct {
	ct_ringset *s;
	atomic_bool done;
	ringset_check *checks;
} rs_consumer_arg;

static void *rs_consumer(void *arg)
{
	rs_consumer_arg *a = arg;
	int n = ct_ringset_count(a->s);
	for (;;) {
		bool done = atomic_load_explicit(&a->done, memory_order_acquire);
		size_t got = 0;
		for (int i = 0; i < n; i++)
			got += ct_ring_consume(ct_ringset_ring(a->s, i), ringset_record,
					       &a->checks[i], 256);
		if (got == 0) {
			if (done)
				break;
			sched_yield();
		}
	}
	return NULL;
}

/* Unpinned threads migrate freely; every record still names the ring it is in. */
START_TEST(ringset_concurrent)
{
	ct_ringset *s = ct_ringset_create(16 * 1024);
	int n = ct_ringset_count(s);
	ringset_check *checks = calloc((size_t)n, sizeof(*checks));
	for (int i = 0; i < n; i++)
		checks[i].ring = i;
	rs_consumer_arg ca = {.s = s, .checks = checks};
	pthread_t ct, pt[4];
	rs_producer_arg pa[4];
	uint64_t per = records_per_producer(200000, 20000) / 64 * 64;
	ck_assert_int_eq(pthread_create(&ct, NULL, rs_consumer, &ca), 0);
	for (uint32_t i = 0; i < 4; i++) {
		pa[i] = (rs_producer_arg){s, i, per, 0};
		ck_assert_int_eq(pthread_create(&pt[i], NULL, rs_producer, &pa[i]), 0);
	}
	uint64_t produced = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(pt[i], NULL);
		produced += pa[i].ok;
	}
	atomic_store_explicit(&ca.done, true, memory_order_release);
	pthread_join(ct, NULL);
	CT_CHECK_NO_FAILURES();
	uint64_t consumed = 0;
	for (int i = 0; i < n; i++)
		consumed += checks[i].n;
	ck_assert_uint_eq(consumed, produced);
	ct_ring_stats st;
	ct_ringset_get_stats(s, &st);
	ck_assert_uint_eq(st.consumed, produced);
	ck_assert_uint_eq(st.consumed + st.dropped, 4 * per);
	free(checks);
	ct_ringset_destroy(s);
}
END_TEST

/* A forked child empties the set in place: its buffers came zeroed (MADV_WIPEONFORK), the
 * parent's records stay the parent's, and the child's own go through whole. */
START_TEST(ringset_fork_reset)
{
	ct_ringset *s = ct_ringset_create(64 * 1024);
	ck_assert_ptr_nonnull(s);
	int n = ct_ringset_count(s);
	uint64_t produced = ringset_produce(s, 0, 0, 300, -1);
	ck_assert_uint_gt(produced, 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int bad = ct_ringset_fork_reset(s) != 0;
		ct_ring_stats st;
		ct_ringset_get_stats(s, &st);
		bad |= st.written != 0 || st.consumed != 0 || st.dropped != 0;
		uint64_t mine = ringset_produce(s, 1, 0, 100, -1), got = 0;
		for (int i = 0; i < n; i++) {
			ringset_check rc = {.ring = i};
			ct_ring_consume(ct_ringset_ring(s, i), ringset_record, &rc, SIZE_MAX);
			got += rc.n;
			bad |= rc.next[0] != 0; /* none of the parent's */
		}
		bad |= mine != 100 || got != 100 || atomic_load(&ct_check_failures()->n) != 0;
		_exit(bad);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	uint64_t consumed = 0;
	for (int i = 0; i < n; i++) {
		ringset_check rc = {.ring = i};
		ct_ring_consume(ct_ringset_ring(s, i), ringset_record, &rc, SIZE_MAX);
		consumed += rc.n;
	}
	CT_CHECK_NO_FAILURES();
	ck_assert_uint_eq(consumed, produced);
	ct_ringset_destroy(s);
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	CT_CHECK_TCASE(s, "protocol", 60, create_rejects_bad_capacity, reserve_fills_header,
		       wraparound_varied_sizes, exact_fit_and_padding, full_ring_drops_exactly,
		       too_large_refused, uncommitted_blocks_consumer,
		       signal_between_reserve_and_commit);
	CT_CHECK_TCASE(s, "concurrent", 120, four_producers_one_consumer, signal_handler_producer,
		       no_spurious_drops);
	CT_CHECK_TCASE(s, "ringset", 60, ringset_cpu_matches_ring, ringset_concurrent,
		       ringset_fork_reset);
	return s;
}

CT_CHECK_MAIN(ring_suite)
