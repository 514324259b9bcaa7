/*
 * test_lockagg.c — the lock and block profiles' aggregation (libtrace/lockagg.c): sums and
 * maxima per (kind, stack, object, reason), the labels every kind of wait gets (reason
 * values as the block profile has always written them), refused input, and growth checked
 * against a brute-force count.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/lockagg.h"
#include "tests/unit/ct_check.h"

static int count_kind(const ct_lock_agg *a, ct_lock_agg_kind kind)
{
	size_t cursor = 0;
	ct_lock_entry e;
	int n = 0;
	while (ct_lock_agg_next(a, kind, &cursor, &e)) {
		ck_assert_uint_eq(e.kind, kind);
		n++;
	}
	return n;
}

/* The single entry of kind with this reason and object. */
static ct_lock_entry find(const ct_lock_agg *a, ct_lock_agg_kind kind, ct_wait_reason reason,
			  uint64_t obj)
{
	size_t cursor = 0;
	ct_lock_entry e, found = {0};
	int n = 0;
	while (ct_lock_agg_next(a, kind, &cursor, &e))
		if (e.reason == reason && e.obj == obj) {
			found = e;
			n++;
		}
	ck_assert_msg(n == 1, "reason %d obj %llu listed %d times", reason, (unsigned long long)obj,
		      n);
	return found;
}

/* The label with this key, or NULL. */
static const ct_label *label(const ct_label *l, uint32_t n, const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(l[i].key, key) == 0)
			return &l[i];
	return NULL;
}

START_TEST(test_sums_and_max)
{
	ct_lock_agg *a = ct_lock_agg_new();
	ck_assert_ptr_nonnull(a);
	/* Three waits of one site on one mutex, one on another mutex, one cond wait. */
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_MUTEX, 0x1000, 7, 1, 500);
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_MUTEX, 0x1000, 7, 1, 2000);
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_MUTEX, 0x1000, 7, 1, 300);
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_MUTEX, 0x2000, 7, 1, 100);
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_COND, 0x1000, 7, 1, 900);
	/* The holder's charges: two contentions, then a waiter's wake-up (count 0). */
	ct_lock_agg_add(a, CT_LOCK_AGG_MUTEX, CT_WAIT_MUTEX, 0x1000, 9, 2, 2500);
	ct_lock_agg_add(a, CT_LOCK_AGG_MUTEX, CT_WAIT_MUTEX, 0x1000, 9, 0, 300);
	ck_assert_uint_eq(ct_lock_agg_len(a), 4);
	ck_assert_int_eq(count_kind(a, CT_LOCK_AGG_BLOCK), 3);
	ck_assert_int_eq(count_kind(a, CT_LOCK_AGG_MUTEX), 1);
	ct_lock_entry e = find(a, CT_LOCK_AGG_BLOCK, CT_WAIT_MUTEX, 0x1000);
	ck_assert_int_eq(e.count, 3);
	ck_assert_int_eq(e.delay, 2800);
	ck_assert_int_eq(e.max, 2000);
	ck_assert_uint_eq(e.stack, 7);
	e = find(a, CT_LOCK_AGG_BLOCK, CT_WAIT_COND, 0x1000);
	ck_assert_int_eq(e.delay, 900);
	e = find(a, CT_LOCK_AGG_MUTEX, CT_WAIT_MUTEX, 0x1000);
	ck_assert_int_eq(e.count, 2);
	ck_assert_int_eq(e.delay, 2800);
	ck_assert_int_eq(e.max, 2500);
	ck_assert_uint_eq(ct_lock_agg_dropped(a), 0);
	ct_lock_agg_free(a);
}
END_TEST

START_TEST(test_labels)
{
	ct_lock_agg *a = ct_lock_agg_new();
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_RWLOCK, 0xabc0, 1, 1, 10);
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NET, 5, 1, 1, 20);
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NET, 0, 1, 1, 30); /* poll: no fd */
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_SLEEP, 0, 1, 1, 40);
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_JOIN, 0x7f00, 1, 1, 50);
	ct_lock_agg_add(a, CT_LOCK_AGG_MUTEX, CT_WAIT_MUTEX, 0xdef0, 1, 1, 60);
	ct_label l[3];
	char hex[24];
	ct_lock_entry e = find(a, CT_LOCK_AGG_BLOCK, CT_WAIT_RWLOCK, 0xabc0);
	uint32_t n = ct_lock_agg_labels(&e, l, hex);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(label(l, n, "reason")->str, "rwlock");
	ck_assert_str_eq(label(l, n, "lock")->str, "0xabc0");
	ck_assert_int_eq(label(l, n, "max_wait")->num, 10);
	ck_assert_str_eq(label(l, n, "max_wait")->num_unit, "nanoseconds");
	e = find(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NET, 5);
	n = ct_lock_agg_labels(&e, l, hex);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(label(l, n, "reason")->str, "net");
	ck_assert_ptr_null(label(l, n, "fd")->str);
	ck_assert_int_eq(label(l, n, "fd")->num, 5);
	ck_assert_ptr_null(label(l, n, "lock"));
	e = find(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NET, 0);
	n = ct_lock_agg_labels(&e, l, hex);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_null(label(l, n, "fd"));
	e = find(a, CT_LOCK_AGG_BLOCK, CT_WAIT_SLEEP, 0);
	n = ct_lock_agg_labels(&e, l, hex);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(label(l, n, "reason")->str, "sleep");
	e = find(a, CT_LOCK_AGG_BLOCK, CT_WAIT_JOIN, 0x7f00);
	n = ct_lock_agg_labels(&e, l, hex);
	ck_assert_ptr_null(label(l, n, "lock")); /* a thread is not a lock */
	ck_assert_str_eq(label(l, n, "reason")->str, "join");
	e = find(a, CT_LOCK_AGG_MUTEX, CT_WAIT_MUTEX, 0xdef0);
	n = ct_lock_agg_labels(&e, l, hex);
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_null(label(l, n, "reason")); /* the mutex profile has none */
	ck_assert_str_eq(label(l, n, "lock")->str, "0xdef0");
	ct_lock_agg_free(a);
}
END_TEST

/* The reason label values the block profile has always written, and which carry `lock`. */
START_TEST(test_reason_labels)
{
	static const struct {
		ct_wait_reason r;
		const char *name;
		int lock;
	} want[] = {
		{CT_WAIT_MUTEX, "mutex", 1},   {CT_WAIT_RWLOCK, "rwlock", 1},
		{CT_WAIT_SPIN, "spin", 1},     {CT_WAIT_SEM, "sem", 1},
		{CT_WAIT_COND, "cond", 1},     {CT_WAIT_JOIN, "join", 0},
		{CT_WAIT_NET, "net", 0},       {CT_WAIT_SLEEP, "sleep", 0},
		{CT_WAIT_FUTEX, "futex", 1},   {CT_WAIT_IO, "io", 0},
		{CT_WAIT_KERNEL, "kernel", 0},
	};
	ct_lock_agg *a = ct_lock_agg_new();
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_int_eq(ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, want[i].r, 0x40, 3, 1, 1),
				 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ct_lock_entry e = find(a, CT_LOCK_AGG_BLOCK, want[i].r, 0x40);
		ct_label l[3];
		char hex[24];
		uint32_t n = ct_lock_agg_labels(&e, l, hex);
		ck_assert_str_eq(label(l, n, "reason")->str, want[i].name);
		ck_assert_int_eq(label(l, n, "lock") != NULL, want[i].lock);
	}
	ct_lock_agg_free(a);
}
END_TEST

START_TEST(test_refused)
{
	ct_lock_agg *a = ct_lock_agg_new();
	ck_assert_int_eq(ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NREASONS, 1, 1, 1, 1),
			 -EINVAL);
	ck_assert_int_eq(ct_lock_agg_add(a, (ct_lock_agg_kind)7, CT_WAIT_MUTEX, 1, 1, 1, 1),
			 -EINVAL);
	ct_lock_agg_drop(a); /* a malformed record */
	ck_assert_uint_eq(ct_lock_agg_dropped(a), 3);
	ck_assert_uint_eq(ct_lock_agg_len(a), 0);
	ct_lock_agg_free(a);
}
END_TEST

START_TEST(test_growth)
{
	enum { OBJS = 30000 };
	ct_lock_agg *a = ct_lock_agg_new();
	for (uint64_t o = 1; o <= OBJS; o++)
		for (int k = 0; k < 2; k++)
			for (uint64_t w = 0; w < o % 4 + 1; w++)
				ck_assert_int_eq(ct_lock_agg_add(a, (ct_lock_agg_kind)k,
								 CT_WAIT_MUTEX, o * 64,
								 (uint32_t)(o % 97 + 1), 1,
								 (int64_t)(w + 1)),
						 0);
	ck_assert_uint_eq(ct_lock_agg_len(a), 2 * OBJS);
	static unsigned char seen[2][OBJS + 1];
	memset(seen, 0, sizeof(seen));
	for (int k = 0; k < 2; k++) {
		size_t cursor = 0;
		ct_lock_entry e;
		int n = 0;
		while (ct_lock_agg_next(a, (ct_lock_agg_kind)k, &cursor, &e)) {
			uint64_t o = e.obj / 64, waits = o % 4 + 1;
			ck_assert(o >= 1 && o <= OBJS);
			ck_assert_uint_eq(seen[k][o]++, 0);
			ck_assert_uint_eq(e.stack, o % 97 + 1);
			ck_assert_int_eq(e.count, (int64_t)waits);
			ck_assert_int_eq(e.delay, (int64_t)(waits * (waits + 1) / 2));
			ck_assert_int_eq(e.max, (int64_t)waits);
			n++;
		}
		ck_assert_int_eq(n, OBJS);
	}
	ct_lock_agg_free(a);
}
END_TEST

/* A sampled wait stands for several: count and delay weighted, max the wait seen. */
START_TEST(test_sampled)
{
	ct_lock_agg *a = ct_lock_agg_new();
	ck_assert_ptr_nonnull(a);
	/* A 25 us wait kept at rate 100 us stands for 4 waits and 100 us. */
	ck_assert_int_eq(
		ct_lock_agg_add_sampled(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NET, 5, 3, 4, 100000, 25000),
		0);
	ct_lock_agg_add(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NET, 5, 3, 1, 20000);
	ct_lock_entry e = find(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NET, 5);
	ck_assert_int_eq(e.count, 5);
	ck_assert_int_eq(e.delay, 120000);
	ck_assert_int_eq(e.max, 25000);
	ck_assert_int_eq(
		ct_lock_agg_add_sampled(a, CT_LOCK_AGG_BLOCK, CT_WAIT_NREASONS, 5, 3, 1, 1, 1),
		-EINVAL);
	ck_assert_uint_eq(ct_lock_agg_dropped(a), 1);
	ct_lock_agg_free(a);
}
END_TEST

static Suite *lockagg_suite(void)
{
	return CT_CHECK_SUITE_TIMED("lockagg", 120, test_sums_and_max, test_sampled, test_labels,
				    test_reason_labels, test_refused, test_growth);
}

CT_CHECK_MAIN(lockagg_suite)
