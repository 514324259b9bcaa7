/*
 * test_heapagg.c — the collector-side heap aggregation (libtrace/heapagg.c): per-stack
 * totals, frees that arrive before their allocations, the reorder window with gaps and
 * late events, and the peak snapshot checked against a brute-force replay.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/heapagg.h"
#include "libtrace/heapsample.h"
#include "tests/unit/ct_check.h"

/* The sum over sizes of one stack's totals. */
static ct_heap_site site_of(ct_heap_agg *a, uint32_t stack)
{
	size_t n;
	const ct_heap_site *s = ct_heap_agg_sites(a, &n);
	ct_heap_site sum = {.stack = stack};
	int found = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i].stack == stack) {
			found = 1;
			sum.alloc_objects += s[i].alloc_objects;
			sum.alloc_bytes += s[i].alloc_bytes;
			sum.inuse_objects += s[i].inuse_objects;
			sum.inuse_bytes += s[i].inuse_bytes;
			sum.peak_objects += s[i].peak_objects;
			sum.peak_bytes += s[i].peak_bytes;
			sum.unknown_objects += s[i].unknown_objects;
			sum.unknown_bytes += s[i].unknown_bytes;
		}
	ck_assert_msg(found, "no site for stack %u", stack);
	return sum;
}

START_TEST(test_totals_in_order)
{
	ct_heap_agg *a = ct_heap_agg_new(1, 8);
	ck_assert_ptr_nonnull(a);
	/* Times are seq + 1. */
	for (uint64_t seq = 0; seq < 10; seq++)
		ck_assert_int_eq(ct_heap_agg_add(a, seq, CT_HEAP_EV_ALLOC, 7, 100, seq + 1), 0);
	for (uint64_t seq = 10; seq < 14; seq++)
		ck_assert_int_eq(ct_heap_agg_add(a, seq, CT_HEAP_EV_FREE, 7, 100, seq + 1), 0);
	ck_assert_int_eq(ct_heap_agg_add(a, 14, CT_HEAP_EV_UNTRACKED, 9, 50, 15), 0);
	ck_assert_int_eq(ct_heap_agg_flush(a), 0);
	ct_heap_site s = site_of(a, 7);
	ck_assert_int_eq(s.alloc_objects, 10);
	ck_assert_int_eq(s.alloc_bytes, 1000);
	ck_assert_int_eq(s.inuse_objects, 6);
	ck_assert_int_eq(s.inuse_bytes, 600);
	ck_assert_int_eq(s.peak_objects, 10);
	ck_assert_int_eq(s.peak_bytes, 1000);
	s = site_of(a, 9);
	ck_assert_int_eq(s.alloc_objects, 1);
	ck_assert_int_eq(s.inuse_objects, 0);
	ct_heap_agg_stats st;
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.events, 15);
	ck_assert_int_eq(st.peak_est, 1000);
	ck_assert_int_eq(st.inuse_est, 600);
	ck_assert_uint_eq(st.peak_time, 10);
	ck_assert_uint_eq(st.gaps, 0);
	ct_heap_agg_free(a);
}
END_TEST

/* Frees matched by address in the aggregator (rate 1): events arrive shuffled within the
 * window, addresses are reused, some frees are of unknown blocks, and the map grows and
 * shrinks past its first size; per-stack totals must equal a plain replay's. */
START_TEST(test_address_matching)
{
	enum { N = 20000, LIVE = 6000 };
	ct_heap_agg *a = ct_heap_agg_new(1, 12);
	ck_assert_ptr_nonnull(a);
	typedef struct {
		int kind;
		uintptr_t addr;
		uint32_t stack;
		uint64_t size;
	} ev;
	static ev evs[3 * N];
	static uintptr_t live[LIVE];
	static uint32_t live_stack[LIVE];
	int64_t want_alloc[8] = {0}, want_inuse[8] = {0};
	uint64_t x = 7, nev = 0, unknown = 0;
	int nlive = 0;
	for (int i = 0; i < N; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if (nlive == LIVE || (nlive > 0 && (x >> 33) % 3 == 0)) {
			int k = (int)((x >> 40) % (uint64_t)nlive);
			evs[nev++] = (ev){CT_HEAP_EV_FREE_AT, live[k], 0, 0};
			want_inuse[live_stack[k]] -= 1;
			live[k] = live[nlive - 1];
			live_stack[k] = live_stack[nlive - 1];
			nlive--;
		}
		/* Addresses from a small range, so that freed ones come back. */
		uintptr_t addr = 0x10000 + ((x >> 20) % (2 * LIVE)) * 16;
		bool taken = false;
		for (int k = 0; k < nlive && !taken; k++)
			taken = live[k] == addr;
		if (taken) {
			evs[nev++] = (ev){CT_HEAP_EV_FREE_AT, 0x900000 + (uintptr_t)i * 16, 0, 0};
			unknown++;
			continue;
		}
		uint32_t stack = 1 + (uint32_t)((x >> 50) % 7);
		evs[nev++] = (ev){CT_HEAP_EV_ALLOC_AT, addr, stack, 10};
		want_alloc[stack]++;
		want_inuse[stack]++;
		live[nlive] = addr;
		live_stack[nlive++] = stack;
	}
	/* Shuffle within blocks of 64 events: the reorder window puts them back. */
	for (uint64_t base = 0; base < nev; base += 64) {
		uint64_t n = nev - base < 64 ? nev - base : 64;
		uint64_t order[64];
		for (uint64_t j = 0; j < n; j++)
			order[j] = base + j;
		for (uint64_t j = n; j > 1; j--) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			uint64_t r = (x >> 33) % j, t = order[j - 1];
			order[j - 1] = order[r];
			order[r] = t;
		}
		for (uint64_t j = 0; j < n; j++) {
			const ev *e = &evs[order[j]];
			ck_assert_int_eq(ct_heap_agg_add_at(a, order[j], e->kind, e->addr, e->stack,
							    e->size, order[j]),
					 0);
		}
	}
	ck_assert_int_eq(ct_heap_agg_flush(a), 0);
	for (uint32_t st = 1; st < 8; st++) {
		ct_heap_site s = site_of(a, st);
		ck_assert_int_eq(s.alloc_objects, want_alloc[st]);
		ck_assert_int_eq(s.inuse_objects, want_inuse[st]);
		ck_assert_int_eq(s.inuse_bytes, want_inuse[st] * 10);
	}
	ct_heap_agg_stats stt;
	ct_heap_agg_get_stats(a, &stt);
	ck_assert_uint_eq(stt.unknown_frees, unknown);
	ck_assert_uint_eq(stt.live_addrs, (uint64_t)nlive);
	ck_assert_uint_eq(stt.late, 0);
	ct_heap_agg_free(a);
}
END_TEST

/* An allocation and its free on different CPUs' rings: the free arrives first. The peak
 * must still be 1 block, never 2 and never a negative dip. */
START_TEST(test_free_before_alloc)
{
	ct_heap_agg *a = ct_heap_agg_new(1, 8);
	/* Real order: alloc A (0), free A (1), alloc B (2), free B (3); arrival: 1, 3, 0, 2. */
	ct_heap_agg_add(a, 1, CT_HEAP_EV_FREE, 1, 64, 0);
	ct_heap_agg_add(a, 3, CT_HEAP_EV_FREE, 2, 64, 0);
	ct_heap_agg_add(a, 0, CT_HEAP_EV_ALLOC, 1, 64, 0);
	ct_heap_agg_add(a, 2, CT_HEAP_EV_ALLOC, 2, 64, 0);
	ct_heap_agg_stats st;
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.events, 4);
	ck_assert_int_eq(st.peak_est, 64);
	ck_assert_int_eq(st.inuse_est, 0);
	ck_assert_int_eq(site_of(a, 1).peak_bytes, 64); /* the first peak: A alone */
	ck_assert_int_eq(site_of(a, 2).peak_bytes, 0);
	ck_assert_int_eq(site_of(a, 1).inuse_bytes, 0);
	ct_heap_agg_free(a);
}
END_TEST

START_TEST(test_gaps_and_late)
{
	ct_heap_agg *a = ct_heap_agg_new(1, 4); /* window of 16 */
	/* seq 0 never arrives: events wait until the window overflows, then 0 is skipped. */
	for (uint64_t s = 1; s <= 15; s++)
		ct_heap_agg_add(a, s, CT_HEAP_EV_ALLOC, 3, 10, s);
	ct_heap_agg_stats st;
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.events, 0);
	ct_heap_agg_add(a, 16, CT_HEAP_EV_ALLOC, 3, 10, 16);
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.gaps, 1);
	ck_assert_uint_eq(st.events, 16);
	ct_heap_agg_add(a, 17, CT_HEAP_EV_ALLOC, 3, 10, 17);
	/* seq 0 shows up after all: applied at once, counted late. */
	ct_heap_agg_add(a, 0, CT_HEAP_EV_ALLOC, 3, 10, 0);
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.late, 1);
	ck_assert_int_eq(site_of(a, 3).alloc_objects, 18);
	/* A jump far ahead with nothing pending skips straight there. */
	ct_heap_agg_add(a, 1000000, CT_HEAP_EV_ALLOC, 4, 10, 1);
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.events, 19);
	/* Flush applies what waits behind a gap. */
	ct_heap_agg_add(a, 1000005, CT_HEAP_EV_ALLOC, 4, 10, 1);
	ct_heap_agg_flush(a);
	ck_assert_int_eq(site_of(a, 4).alloc_objects, 2);
	ct_heap_agg_free(a);
}
END_TEST

/* offer: a missing number that an event would push out of the window is not given up on;
 * the event is refused (-EAGAIN) and nothing is counted lost, until the number arrives
 * (then everything applies in order, no gap, no late event) or the caller gives up and
 * feeds the event with add_at (then one gap). */
START_TEST(test_offer_holds_back)
{
	ct_heap_agg *a = ct_heap_agg_new(1, 4); /* window of 16 */
	ct_heap_agg_stats st;
	for (uint64_t s = 1; s <= 15; s++)
		ck_assert_int_eq(ct_heap_agg_offer(a, s, CT_HEAP_EV_ALLOC_AT, 0x1000 + s, 3, 10, s),
				 0);
	ck_assert_int_eq(ct_heap_agg_offer(a, 16, CT_HEAP_EV_ALLOC_AT, 0x1010, 3, 10, 16), -EAGAIN);
	ck_assert_int_eq(ct_heap_agg_offer(a, 40, CT_HEAP_EV_ALLOC_AT, 0x1040, 3, 10, 40), -EAGAIN);
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.gaps, 0);
	ck_assert_uint_eq(st.events, 0);
	/* The latecomer: 0 frees nothing known (a block of an earlier run) and all apply. */
	ck_assert_int_eq(ct_heap_agg_offer(a, 0, CT_HEAP_EV_ALLOC_AT, 0x1000, 3, 10, 0), 0);
	ck_assert_int_eq(ct_heap_agg_offer(a, 16, CT_HEAP_EV_ALLOC_AT, 0x1010, 3, 10, 16), 0);
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.gaps, 0);
	ck_assert_uint_eq(st.late, 0);
	ck_assert_uint_eq(st.events, 17);
	ck_assert_int_eq(site_of(a, 3).inuse_objects, 17);
	ck_assert_int_eq(site_of(a, 3).unknown_objects, 0);
	/* 17 never comes: offers past the window are refused; add_at gives 17 up. */
	for (uint64_t s = 18; s <= 32; s++)
		ck_assert_int_eq(ct_heap_agg_offer(a, s, CT_HEAP_EV_ALLOC_AT, 0x2000 + s, 4, 10, s),
				 0);
	ck_assert_int_eq(ct_heap_agg_offer(a, 33, CT_HEAP_EV_ALLOC_AT, 0x2021, 4, 10, 33), -EAGAIN);
	ck_assert_int_eq(ct_heap_agg_add_at(a, 33, CT_HEAP_EV_ALLOC_AT, 0x2021, 4, 10, 33), 0);
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.gaps, 1);
	ck_assert_uint_eq(st.events, 17 + 16);
	ct_heap_agg_free(a);
}
END_TEST

/* Lost events (issue 9, defect 2): a block in use when a sequence number went missing may
 * have been freed by it, so it is unknown, never in use; blocks allocated after the gap
 * are known. The numbers handed out but never delivered at the end are a gap too. */
START_TEST(test_lost_frees_unknown)
{
	ct_heap_agg *a = ct_heap_agg_new(1, 2);
	/* alloc A (0), alloc B (1), free A (2: lost), alloc C (3), free B (4), alloc D (5). */
	ct_heap_agg_add(a, 0, CT_HEAP_EV_ALLOC, 1, 10, 0);
	ct_heap_agg_add(a, 1, CT_HEAP_EV_ALLOC, 1, 10, 1);
	ct_heap_agg_add(a, 3, CT_HEAP_EV_ALLOC, 1, 10, 3);
	ct_heap_agg_add(a, 4, CT_HEAP_EV_FREE, 1, 10, 4);
	ct_heap_agg_add(a, 5, CT_HEAP_EV_ALLOC, 2, 30, 5);
	ck_assert_int_eq(ct_heap_agg_end(a, 6), 0);
	ct_heap_agg_stats st;
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.gaps, 1);
	ck_assert_uint_eq(st.events, 5);
	/* Stack 1: A and B were in use at the gap; B's free is taken from the known blocks
	 * (C), so nothing of stack 1 is reported in use, though C is: never too many. */
	ct_heap_site s1 = site_of(a, 1);
	ck_assert_int_eq(s1.inuse_objects, 0);
	ck_assert_int_eq(s1.inuse_bytes, 0);
	ck_assert_int_eq(s1.unknown_objects, 2);
	ck_assert_int_eq(s1.unknown_bytes, 20);
	ck_assert_int_eq(s1.alloc_objects, 3);
	/* Stack 2: allocated after the gap, never freed, nothing lost since: in use. */
	ct_heap_site s2 = site_of(a, 2);
	ck_assert_int_eq(s2.inuse_objects, 1);
	ck_assert_int_eq(s2.inuse_bytes, 30);
	ck_assert_int_eq(s2.unknown_objects, 0);
	/* Two more numbers were handed out and never came: D's free may be one of them. */
	ck_assert_int_eq(ct_heap_agg_end(a, 8), 0);
	ct_heap_agg_get_stats(a, &st);
	ck_assert_uint_eq(st.gaps, 3);
	s2 = site_of(a, 2);
	ck_assert_int_eq(s2.inuse_objects, 0);
	ck_assert_int_eq(s2.unknown_objects, 1);
	/* A free whose allocation was lost never makes anything negative or known. */
	ct_heap_agg_add(a, 8, CT_HEAP_EV_FREE, 3, 5, 8);
	ct_heap_agg_flush(a);
	ct_heap_site s3 = site_of(a, 3);
	ck_assert_int_le(s3.inuse_objects, 0);
	ck_assert_int_eq(s3.unknown_objects, 0);
	ct_heap_agg_free(a);
	/* Nothing lost: in use is everything not freed, nothing unknown. */
	a = ct_heap_agg_new(1, 2);
	ct_heap_agg_add(a, 0, CT_HEAP_EV_ALLOC, 1, 10, 0);
	ct_heap_agg_add(a, 1, CT_HEAP_EV_ALLOC, 1, 10, 1);
	ct_heap_agg_add(a, 2, CT_HEAP_EV_FREE, 1, 10, 2);
	ck_assert_int_eq(ct_heap_agg_end(a, 3), 0);
	s1 = site_of(a, 1);
	ck_assert_int_eq(s1.inuse_objects, 1);
	ck_assert_int_eq(s1.unknown_objects, 0);
	ct_heap_agg_free(a);
}
END_TEST

/* Random workload, events delivered shuffled within a window: per-stack results and the
 * peak snapshot equal a straight in-order replay. */
START_TEST(test_peak_matches_replay)
{
	enum { NEV = 200000, NSTACK = 37, LIVE = 500 };
	typedef struct {
		int kind;
		uint32_t stack;
		uint64_t size;
	} ev;
	ev *evs = calloc(NEV, sizeof *evs);
	struct {
		uint32_t stack;
		uint64_t size;
	} live[LIVE];
	int nlive = 0;
	uint64_t st = ct_heap_seed(99);
	for (int i = 0; i < NEV; i++) {
		/* Drift up, then down, so that the peak sits in the middle. */
		int up = i < NEV / 2 ? 3 : 1;
		if (nlive < LIVE && (nlive == 0 || (int)(ct_heap_rand(&st) % 4) < up)) {
			uint32_t s = (uint32_t)(ct_heap_rand(&st) % NSTACK) + 1;
			uint64_t sz = 16 + ct_heap_rand(&st) % (s * 1000);
			live[nlive].stack = s;
			live[nlive].size = sz;
			nlive++;
			evs[i] = (ev){CT_HEAP_EV_ALLOC, s, sz};
		} else {
			int k = (int)(ct_heap_rand(&st) % (uint64_t)nlive);
			evs[i] = (ev){CT_HEAP_EV_FREE, live[k].stack, live[k].size};
			live[k] = live[--nlive];
		}
	}
	/* Brute force: in-use per stack at the first time the weighted total peaks. */
	const uint64_t rate = 4096;
	int64_t cur[NSTACK + 1] = {0}, at_peak[NSTACK + 1] = {0}, total = 0, best = 0;
	for (int i = 0; i < NEV; i++) {
		int64_t w = (int64_t)(ct_heap_weight(evs[i].size, rate) + 0.5);
		int sign = evs[i].kind == CT_HEAP_EV_FREE ? -1 : 1;
		cur[evs[i].stack] += sign * (int64_t)evs[i].size;
		total += sign * w;
		if (total > best) {
			best = total;
			memcpy(at_peak, cur, sizeof cur);
		}
	}
	/* Deliver in blocks of 64 reversed (as if two rings were drained alternately). */
	ct_heap_agg *a = ct_heap_agg_new(rate, 10);
	for (int base = 0; base < NEV; base += 64)
		for (int i = base + 63; i >= base; i--)
			if (i < NEV)
				ck_assert_int_eq(ct_heap_agg_add(a, (uint64_t)i, evs[i].kind,
								 evs[i].stack, evs[i].size, 0),
						 0);
	ct_heap_agg_flush(a);
	ct_heap_agg_stats sts;
	ct_heap_agg_get_stats(a, &sts);
	ck_assert_int_eq(sts.peak_est, best);
	ck_assert_uint_eq(sts.gaps, 0);
	ck_assert_uint_eq(sts.late, 0);
	for (uint32_t s = 1; s <= NSTACK; s++) {
		ct_heap_site site = site_of(a, s);
		ck_assert_int_eq(site.inuse_bytes, cur[s]);
		ck_assert_int_eq(site.peak_bytes, at_peak[s]);
	}
	ct_heap_agg_free(a);
	free(evs);
}
END_TEST

START_TEST(test_many_stacks)
{
	ct_heap_agg *a = ct_heap_agg_new(4096, 8);
	for (uint32_t i = 0; i < 100000; i++)
		ck_assert_int_eq(ct_heap_agg_add(a, i, CT_HEAP_EV_ALLOC, i * 2654435761u, i, i), 0);
	size_t n;
	const ct_heap_site *s = ct_heap_agg_sites(a, &n);
	ck_assert_uint_eq(n, 100000);
	for (uint32_t i = 0; i < 100000; i++) {
		ck_assert_int_eq(s[i].alloc_bytes, i);
		ck_assert_uint_eq(s[i].size, i);
	}
	/* One stack, two sizes: two entries when sampled; one per stack at rate 1. */
	ct_heap_agg *b = ct_heap_agg_new(4096, 8);
	ct_heap_agg_add(b, 0, CT_HEAP_EV_ALLOC, 5, 100, 0);
	ct_heap_agg_add(b, 1, CT_HEAP_EV_ALLOC, 5, 200, 0);
	ct_heap_agg_add(b, 2, CT_HEAP_EV_FREE, 5, 100, 0);
	ct_heap_agg_sites(b, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(site_of(b, 5).inuse_bytes, 200);
	ct_heap_agg_free(b);
	b = ct_heap_agg_new(1, 8);
	ct_heap_agg_add(b, 0, CT_HEAP_EV_ALLOC, 5, 100, 0);
	ct_heap_agg_add(b, 1, CT_HEAP_EV_ALLOC, 5, 200, 0);
	const ct_heap_site *one = ct_heap_agg_sites(b, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(one[0].size, 0);
	ck_assert_int_eq(one[0].alloc_bytes, 300);
	ct_heap_agg_free(b);
	ck_assert_ptr_null(ct_heap_agg_new(1, 0));
	ct_heap_agg_free(a);
	ct_heap_agg_free(NULL);
}
END_TEST

static Suite *heapagg_suite(void)
{
	return CT_CHECK_SUITE_TIMED("heapagg", 120, test_totals_in_order, test_free_before_alloc,
				    test_address_matching, test_gaps_and_late,
				    test_peak_matches_replay, test_many_stacks,
				    test_lost_frees_unknown, test_offer_holds_back);
}

CT_CHECK_MAIN(heapagg_suite)
