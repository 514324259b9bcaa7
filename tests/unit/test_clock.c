/*
 * test_clock.c — unit tests for the event clock (libtrace/clock.h): ct_now is monotonic
 * nanoseconds on CLOCK_MONOTONIC, a snapshot pairs it with wall time that agrees with
 * time(), and conversion to wall time is consistent with the snapshot.
 */
#include "libtrace/clock.h"
#include "tests/unit/ct_check.h"

#include <check.h>
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

static Suite *clock_suite(void)
{
	return CT_CHECK_SUITE("clock", now_is_monotonic, now_is_clock_monotonic_ns,
			      snapshot_is_sane);
}

CT_CHECK_MAIN(clock_suite)
