/*
 * test_lockreport.c — the lock contention report (libtrace/lockreport.c): the per-lock
 * table joined from the block and mutex profiles, holder and waiter stacks merged per
 * stack, blocking per reason, profiles without ctrace's labels, and errors.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/lockreport.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/proffix.h"

/* A profile with contentions/count and delay/nanoseconds sample types. */
static ct_profile *contention_profile(void)
{
	ct_profile *p = ct_profile_new();
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "contentions", "count"), 0);
	ck_assert_int_eq(ct_profile_add_sample_type(p, "delay", "nanoseconds"), 0);
	return p;
}

/* A location in function fn at line (symbolized), or at address addr when fn is NULL. */
static uint32_t loc(ct_profile *p, const char *fn, int64_t line, uint64_t addr)
{
	if (!fn)
		return ct_profile_add_location(p, 0, addr, NULL, 0);
	ct_line l = {.function = ct_profile_add_function(p, fn, fn, "/src/app.c", 1), .line = line};
	return ct_profile_add_location(p, 0, 0, &l, 1);
}

/* Adds a sample: stack of two frames (leaf, caller), count, delay and labels. */
static void sample(ct_profile *p, const char *leaf, const char *caller, int64_t count,
		   int64_t delay, const char *reason, const char *lock, int64_t max)
{
	uint32_t locs[2] = {loc(p, leaf, 10, 0), loc(p, caller, 20, 0)};
	ct_label labels[3];
	uint32_t n = 0;
	if (reason)
		labels[n++] = (ct_label){.key = "reason", .str = reason};
	if (lock)
		labels[n++] = (ct_label){.key = "lock", .str = lock};
	if (max)
		labels[n++] = (ct_label){.key = "max_wait", .num = max, .num_unit = "nanoseconds"};
	int64_t values[2] = {count, delay};
	ck_assert_int_eq(ct_profile_add_sample(p, locs, 2, values, labels, n), 0);
}

START_TEST(test_lock_table_joined)
{
	ct_profile *m = contention_profile(), *b = contention_profile();
	/* Lock A: two waiting sites (merged per stack), one holder. */
	sample(b, "take_a", "worker", 2, 20000000, "mutex", "0xa000", 15000000);
	sample(b, "take_a", "worker", 1, 10000000, "mutex", "0xa000", 10000000);
	sample(b, "take_a2", "main", 1, 5000000, "mutex", "0xa000", 5000000);
	sample(m, "slow_section", "worker", 4, 34000000, NULL, "0xa000", 20000000);
	/* Lock B: an rwlock with less wait. */
	sample(b, "read_b", "reader", 1, 1000000, "rwlock", "0xb000", 1000000);
	sample(m, "write_b", "writer", 1, 900000, NULL, "0xb000", 900000);
	/* Not a lock: a net wait, only in the reason table. */
	sample(b, "server_loop", "main", 5, 500000000, "net", NULL, 300000000);

	char *out = pfix_report(ct_lock_report, m, b, 10, 0);
	ck_assert_ptr_nonnull(strstr(out, "Contended locks: 2"));
	/* Lock A first (more wait), with its sums and longest wait. */
	char *a = strstr(out, "0xa000             mutex");
	char *bl = strstr(out, "0xb000             rwlock");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(bl);
	ck_assert(a < bl);
	ck_assert_ptr_nonnull(strstr(a, "4        35ms        15ms          34ms"));
	/* Holder stack, then the waiting sites merged: take_a 3 waits, 30 ms. */
	char *lock_a = strstr(out, "  lock 0xa000");
	ck_assert_ptr_nonnull(lock_a);
	ck_assert_ptr_nonnull(strstr(lock_a, "slow_section (app.c:10) < worker"));
	char *merged = strstr(lock_a, "30ms        3       15ms  take_a (app.c:10) < worker");
	ck_assert_ptr_nonnull(merged);
	ck_assert_ptr_nonnull(strstr(lock_a, "take_a2 (app.c:10) < main"));
	/* Reasons: net first, then mutex and rwlock. */
	char *net = strstr(out, "  net                5       500ms       300ms");
	ck_assert_ptr_nonnull(net);
	ck_assert_ptr_nonnull(strstr(out, "  reason net"));
	ck_assert_ptr_nonnull(strstr(out, "server_loop (app.c:10) < main"));
	free(out);
	ct_profile_free(m);
	ct_profile_free(b);
}
END_TEST

START_TEST(test_top_bounds_lists)
{
	ct_profile *b = contention_profile();
	char name[32], lock[32];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "site%d", i);
		snprintf(lock, sizeof(lock), "0x%x", 0x1000 + i);
		sample(b, name, "main", 1, 1000000 * (i + 1), "mutex", lock, 0);
	}
	char *out = pfix_report(ct_lock_report, NULL, b, 3, 0);
	ck_assert_ptr_nonnull(strstr(out, "Contended locks: 20 (top 3 by wait)"));
	ck_assert_ptr_nonnull(strstr(out, "  lock 0x1013"));
	ck_assert_ptr_nonnull(strstr(out, "  lock 0x1011"));
	ck_assert_ptr_null(strstr(out, "  lock 0x1010"));
	/* Without a max_wait label the longest wait is the mean of the sample. */
	ck_assert_ptr_nonnull(
		strstr(out, "0x1013             mutex             1        20ms        20ms"));
	/* The reason's sites are bounded too. */
	ck_assert_ptr_nonnull(strstr(out, "site19 (app.c:10)"));
	ck_assert_ptr_null(strstr(out, "site16 (app.c:10)"));
	free(out);
	ct_profile_free(b);
}
END_TEST

START_TEST(test_top_bounds_reasons)
{
	/* 20 reasons, one sample each: the table shows the 3 with the most wait, and their
	 * sites only. */
	ct_profile *b = contention_profile();
	char name[32], reason[32];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "site%d", i);
		snprintf(reason, sizeof(reason), "reason%d", i);
		sample(b, name, "main", 1, 1000000 * (i + 1), reason, NULL, 0);
	}
	char *out = pfix_report(ct_lock_report, NULL, b, 3, 0);
	ck_assert_ptr_nonnull(strstr(out, "Blocking by reason: 20 (top 3 by wait;"));
	ck_assert_ptr_nonnull(strstr(out, "  reason19 "));
	ck_assert_ptr_nonnull(strstr(out, "  reason17 "));
	ck_assert_ptr_null(strstr(out, "  reason16 "));
	ck_assert_ptr_nonnull(strstr(out, "  reason reason17\n"));
	ck_assert_ptr_null(strstr(out, "  reason reason16\n"));
	ck_assert_ptr_null(strstr(out, "site16 (app.c:10)"));
	free(out);
	ct_profile_free(b);
}
END_TEST

START_TEST(test_many_rows)
{
	/* 50000 distinct locks and reasons (rows found by a hash, not a scan of the rows so
	 * far): every one counted, the heaviest first. */
	ct_profile *b = contention_profile();
	char reason[32], lock[32];
	for (int i = 0; i < 50000; i++) {
		snprintf(reason, sizeof(reason), "r%d", i);
		snprintf(lock, sizeof(lock), "0x%x", 0x100000 + i);
		sample(b, "f", "main", 1, 1000 * (i + 1), i % 2 ? reason : "mutex", lock, 0);
	}
	char *out = pfix_report(ct_lock_report, NULL, b, 2, 0);
	ck_assert_ptr_nonnull(strstr(out, "Contended locks: 25000 (top 2 by wait)"));
	ck_assert_ptr_nonnull(strstr(out, "Blocking by reason: 25001 (top 2 by wait;"));
	ck_assert_ptr_nonnull(strstr(out, "  r49999 "));
	ck_assert_ptr_nonnull(strstr(out, "  mutex    "));
	free(out);
	ct_profile_free(b);
}
END_TEST

START_TEST(test_unlabelled_and_unsymbolized)
{
	/* A Go-like mutex profile: no labels, addresses only. */
	ct_profile *m = contention_profile();
	uint32_t locs[2] = {loc(m, NULL, 0, 0x401000), loc(m, NULL, 0, 0x402000)};
	int64_t v[2] = {7, 7000};
	ck_assert_int_eq(ct_profile_add_sample(m, locs, 2, v, NULL, 0), 0);
	char *out = pfix_report(ct_lock_report, m, NULL, 0, 0);
	ck_assert_ptr_nonnull(strstr(out, "  -                  lock              7           -"));
	ck_assert_ptr_nonnull(strstr(out, "0x401000 < 0x402000"));
	ck_assert_ptr_null(strstr(out, "Blocking by reason"));
	/* No max_wait labels: the "longest" figures are means, and the report says so. */
	ck_assert_ptr_nonnull(strstr(out, "are mean waits"));
	/* Without labels only a name can tell a block profile from a mutex profile. */
	ck_assert(!ct_lock_is_block(m, "/tmp/pprof.prog.contentions.delay.001.pb.gz"));
	ck_assert(ct_lock_is_block(m, "/tmp/go-block.pb.gz"));
	ck_assert(!ct_lock_is_block(m, "/tmp/block/mutex.pb.gz"));
	free(out);
	ct_profile_free(m);
}
END_TEST

/* ctrace's block profile is one by its reason labels, whatever the file is called; its
 * mutex profile (lock labels, no reason) is not, even named "block". */
START_TEST(test_is_block)
{
	ct_profile *b = contention_profile(), *m = contention_profile();
	sample(b, "take_a", "worker", 1, 1000, "mutex", "0xa000", 1000);
	sample(m, "slow", "worker", 1, 1000, NULL, "0xa000", 1000);
	ck_assert(ct_lock_is_block(b, "myblock_copy.pb.gz"));
	ck_assert(ct_lock_is_block(b, "renamed.pb.gz"));
	ck_assert(!ct_lock_is_block(m, "block.pb.gz.bak"));
	char *out = pfix_report(ct_lock_report, NULL, b, 5, 0);
	ck_assert_ptr_null(strstr(out, "are mean waits"));
	free(out);
	ct_profile_free(b);
	ct_profile_free(m);
}
END_TEST

START_TEST(test_errors)
{
	free(pfix_report(ct_lock_report, NULL, NULL, 5, -EINVAL));
	/* A CPU profile (no delay): its time must not read as waits. */
	ct_profile *cpu = ct_profile_new();
	ck_assert_ptr_nonnull(cpu);
	ck_assert_int_ge(ct_profile_add_sample_type(cpu, "samples", "count"), 0);
	ck_assert_int_ge(ct_profile_add_sample_type(cpu, "cpu", "nanoseconds"), 0);
	free(pfix_report(ct_lock_report, cpu, NULL, 5, -EINVAL));
	free(pfix_report(ct_lock_report, NULL, cpu, 5, -EINVAL));
	ct_profile_free(cpu);
	ct_profile *b = contention_profile();
	sample(b, "f", "main", 1, 1000, "sleep", NULL, 0);
	FILE *ro = fopen("/dev/null", "r");
	ck_assert_ptr_nonnull(ro);
	ck_assert_int_eq(ct_lock_report(ro, NULL, b, 5), -EIO);
	fclose(ro);
	ct_profile_free(b);
}
END_TEST

static Suite *lockreport_suite(void)
{
	return CT_CHECK_SUITE("lockreport", test_lock_table_joined, test_top_bounds_lists,
			      test_top_bounds_reasons, test_many_rows,
			      test_unlabelled_and_unsymbolized, test_is_block, test_errors);
}

CT_CHECK_MAIN(lockreport_suite)
