/*
 * test_clock.c — unit tests for the event clock (libtrace/clock.h): ct_now is monotonic
 * nanoseconds on CLOCK_MONOTONIC, a snapshot pairs it with wall time that agrees with
 * time(), and conversion to wall time is consistent with the snapshot; the tick
 * calibration interpolates, extrapolates, refuses a counter going backwards, keeps its
 * history bounded, and converts real ct_tsc reads to within a microsecond of ct_now.
 */
#include "libtrace/clock.h"
#include "tests/unit/ct_check.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

START_TEST(now_is_monotonic)
{
	uint64_t first = ct_now(), prev = first, back = 0, bad_t = 0, bad_prev = 0;
	ck_assert_uint_gt(first, 0);
	for (int i = 0; i < 300000; i++) {
		uint64_t t = ct_now();
		if (t < prev) {
			back++;
			bad_t = t;
			bad_prev = prev;
		}
		prev = t;
	}
	ck_assert_msg(back == 0, "ct_now went back %llu times, e.g. %llu after %llu",
		      (unsigned long long)back, (unsigned long long)bad_t,
		      (unsigned long long)bad_prev);
	ck_assert_uint_gt(prev, first);
}
END_TEST

START_TEST(now_is_clock_monotonic_ns)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint64_t t = ct_now();
	clock_gettime(CLOCK_MONOTONIC, &b);
	uint64_t na = (uint64_t)a.tv_sec * 1000000000u + (uint64_t)a.tv_nsec;
	uint64_t nb = (uint64_t)b.tv_sec * 1000000000u + (uint64_t)b.tv_nsec;
	ck_assert_uint_le(na, t);
	ck_assert_uint_le(t, nb);

	/* A 20 ms sleep shows up as roughly 20 ms. */
	uint64_t before = ct_now();
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	uint64_t slept = ct_now() - before;
	ck_assert_uint_ge(slept, 20u * 1000 * 1000);
	ck_assert_uint_lt(slept, 2000u * 1000 * 1000);
}
END_TEST

START_TEST(snapshot_is_sane)
{
	uint64_t before = ct_now();
	ct_clock_snapshot s;
	ct_clock_snapshot_take(&s);
	uint64_t after = ct_now();
	ck_assert_uint_le(before, s.mono_ns);
	ck_assert_uint_le(s.mono_ns, after);

	time_t now = time(NULL);
	int64_t wall_s = (int64_t)(s.wall_ns / 1000000000u);
	ck_assert_msg(wall_s >= (int64_t)now - 1 && wall_s <= (int64_t)now + 1,
		      "snapshot wall %lld s, time() %lld", (long long)wall_s, (long long)now);
	ck_assert_uint_gt(s.wall_ns, 1600000000ull * 1000000000u); /* after 2020 */

	ck_assert_uint_eq(ct_clock_to_wall(&s, s.mono_ns), s.wall_ns);
	ck_assert_uint_eq(ct_clock_to_wall(&s, s.mono_ns + 12345), s.wall_ns + 12345);
	ck_assert_uint_eq(ct_clock_to_wall(&s, s.mono_ns - 777), s.wall_ns - 777);

	/* Converting "now" agrees with CLOCK_REALTIME read right after, within 50 ms. */
	uint64_t w = ct_clock_to_wall(&s, ct_now());
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	uint64_t real = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	uint64_t diff = real > w ? real - w : w - real;
	ck_assert_msg(diff < 50u * 1000 * 1000, "converted wall time off by %llu ns",
		      (unsigned long long)diff);

	/* Two snapshots a moment apart describe the same offset, give or take a little. */
	ct_clock_snapshot s2;
	ct_clock_snapshot_take(&s2);
	int64_t off1 = (int64_t)(s.wall_ns - s.mono_ns), off2 = (int64_t)(s2.wall_ns - s2.mono_ns);
	int64_t d = off1 > off2 ? off1 - off2 : off2 - off1;
	ck_assert_msg(d < 10 * 1000 * 1000, "snapshots disagree by %lld ns", (long long)d);
}
END_TEST

/* A synthetic counter at 3 ticks per ns (a 3 GHz TSC) with an offset. */
static ct_tick_pair synth(uint64_t ns)
{
	return (ct_tick_pair){.ticks = 5000000 + ns * 3, .ns = ns};
}

START_TEST(calib_interpolates)
{
	ct_tick_calib c = {0};
	ck_assert_uint_eq(ct_tick_calib_ns(&c, 1234), 1234); /* empty: unchanged */
	ck_assert_uint_eq(ct_tick_calib_last(&c), 0);
	ck_assert_int_eq(ct_tick_calib_add(&c, synth(1000000), 0), 0);
	/* One pair: 1 tick per ns around it. */
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(1000000).ticks + 30), 1000030);
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(1000000).ticks - 30), 999970);
	ck_assert_int_eq(ct_tick_calib_add(&c, synth(2000000), 0), 0);
	/* A pair 40 ns off the line (as a pair taken across a preemption might be). */
	ct_tick_pair off = synth(3000000);
	off.ns += 40;
	ck_assert_int_eq(ct_tick_calib_add(&c, off, 0), 0);
	ck_assert_uint_eq(ct_tick_calib_last(&c), off.ticks);
	/* On the pairs: their ns; between: the line through them. */
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(1000000).ticks), 1000000);
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(2000000).ticks), 2000000);
	ck_assert_uint_eq(ct_tick_calib_ns(&c, off.ticks), 3000040);
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(1500000).ticks), 1500000);
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(1500000).ticks + 1), 1500000); /* 1/3 ns */
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(2500000).ticks), 2500020);
	/* Outside: the nearest segment's line. */
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(500000).ticks), 500000);
	ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(4000000).ticks), 4000080);
	/* Monotonic in ticks across every segment. */
	uint64_t prev = 0;
	for (uint64_t t = synth(0).ticks; t < synth(5000000).ticks; t += 997) {
		uint64_t ns = ct_tick_calib_ns(&c, t);
		ck_assert_uint_ge(ns, prev);
		prev = ns;
	}
}
END_TEST

START_TEST(calib_refuses_backwards)
{
	ct_tick_calib c = {0};
	ck_assert_int_eq(ct_tick_calib_add(&c, synth(1000), 0), 0);
	ck_assert_int_eq(ct_tick_calib_add(&c, synth(500), 0), -EINVAL);
	ck_assert_int_eq(ct_tick_calib_add(&c, synth(1000), 0), -EINVAL);
	ct_tick_pair same_ns = synth(2000);
	same_ns.ns = 1000;
	ck_assert_int_eq(ct_tick_calib_add(&c, same_ns, 0), -EINVAL);
	ck_assert_uint_eq(c.n, 1);
}
END_TEST

START_TEST(calib_history_is_bounded)
{
	ct_tick_calib c = {0};
	/* Pairs closer than min_gap replace the last one: the history keeps its span. */
	ck_assert_int_eq(ct_tick_calib_add(&c, synth(0), 1000000), 0);
	ck_assert_int_eq(ct_tick_calib_add(&c, synth(10), 1000000), 0);
	for (uint64_t ns = 20; ns < 1000; ns += 10)
		ck_assert_int_eq(ct_tick_calib_add(&c, synth(ns), 1000000), 0);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(ct_tick_calib_last(&c), synth(990).ticks);
	/* A ring of CT_TICK_PAIRS: the oldest go, conversion stays right everywhere. */
	for (uint64_t i = 1; i <= 3 * CT_TICK_PAIRS; i++)
		ck_assert_int_eq(ct_tick_calib_add(&c, synth(i * 5000000), 1000000), 0);
	ck_assert_uint_eq(c.n, CT_TICK_PAIRS);
	ck_assert_uint_eq(ct_tick_calib_last(&c), synth(3 * CT_TICK_PAIRS * 5000000ull).ticks);
	for (uint64_t ns = 0; ns < 3 * CT_TICK_PAIRS * 5000000ull; ns += 3333333)
		ck_assert_uint_eq(ct_tick_calib_ns(&c, synth(ns).ticks), ns);
}
END_TEST

/* Real ticks, as the agent's collector converts them: a pair at start, a fresh pair
 * whenever a stamp is newer than the last; every converted read lies between the ct_now
 * reads around it, give or take a microsecond. Bracket checks only: a preemption widens
 * the bracket, it cannot fail the test. */
START_TEST(tsc_converts_to_monotonic)
{
	char why[160] = "";
	int usable = ct_tsc_usable(why, sizeof(why));
	ck_assert_msg(why[0], "ct_tsc_usable gave no reason");
	if (!CT_HAVE_TSC || !usable)
		return; /* nothing to convert: the agent uses CLOCK_MONOTONIC */
	ct_tick_calib c = {0};
	ct_tick_pair p;
	ct_tick_pair_take(&p);
	ck_assert_int_eq(ct_tick_calib_add(&c, p, 1000000), 0);
	uint64_t worst = 0;
	for (int i = 0; i < 20000; i++) {
		uint64_t a = ct_now();
		uint64_t t = ct_tsc();
		uint64_t b = ct_now();
		if (i % 100 == 0 || t > ct_tick_calib_last(&c)) {
			ct_tick_pair_take(&p);
			ck_assert_int_eq(ct_tick_calib_add(&c, p, 1000000), 0);
		}
		uint64_t ns = ct_tick_calib_ns(&c, t);
		ck_assert_msg(ns + 1000 >= a && ns <= b + 1000,
			      "tick %llu converted to %llu ns, outside [%llu, %llu] +- 1 us",
			      (unsigned long long)t, (unsigned long long)ns, (unsigned long long)a,
			      (unsigned long long)b);
		uint64_t err = ns < a ? a - ns : ns > b ? ns - b : 0;
		worst = err > worst ? err : worst;
	}
	ck_assert_uint_le(worst, 1000);
}
END_TEST

static Suite *clock_suite(void)
{
	return CT_CHECK_SUITE("clock", now_is_monotonic, now_is_clock_monotonic_ns,
			      snapshot_is_sane, calib_interpolates, calib_refuses_backwards,
			      calib_history_is_bounded, tsc_converts_to_monotonic);
}

CT_CHECK_MAIN(clock_suite)
