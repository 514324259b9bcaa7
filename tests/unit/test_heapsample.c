/*
 * test_heapsample.c — heap sampling arithmetic and the sampled-block table
 * (libtrace/heapsample.c): the libm-free log/exp, the exponential draw and the sampling
 * probability it yields, Go's unsampling formula, and the lock-free table alone and
 * under concurrent inserts and removes.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/heapsample.h"
#include "tests/unit/ct_check.h"

START_TEST(test_log_exp_accuracy)
{
	for (double x = 1e-300; x < 1e300; x *= 1.37) {
		double want = log(x), got = ct_heap_log(x);
		ck_assert_double_eq_tol(got, want, 1e-9 * (fabs(want) + 1));
	}
	for (double x = 1e-12; x <= 1.0; x *= 1.01)
		ck_assert_double_eq_tol(ct_heap_log(x), log(x), 1e-9 * (fabs(log(x)) + 1e-12));
	ck_assert_double_eq_tol(ct_heap_log(4.9e-324), log(4.9e-324), 1e-6);
	for (double x = -740; x < 705; x += 0.173) {
		double want = exp(x), got = ct_heap_exp(x);
		ck_assert_msg(fabs(got - want) <= 1e-12 * want, "exp(%g): %g vs %g", x, got, want);
	}
	ck_assert(ct_heap_exp(-1000) == 0);
	ck_assert(ct_heap_exp(1000) > 1e308);
	ck_assert_double_eq(ct_heap_exp(0), 1.0);
}
END_TEST

START_TEST(test_next_sample_distribution)
{
	uint64_t st = ct_heap_seed(42);
	ck_assert_int_eq(ct_heap_next_sample(&st, 1), -1);
	ck_assert_int_eq(ct_heap_next_sample(&st, 0), -1);
	const uint64_t rate = 512 * 1024;
	const int n = 1000000;
	double sum = 0;
	int above = 0;
	for (int i = 0; i < n; i++) {
		int64_t d = ct_heap_next_sample(&st, rate);
		ck_assert_int_ge(d, 0);
		sum += (double)d;
		above += (uint64_t)d > rate;
	}
	/* Mean rate (sd of the mean is rate/1000), P(d > rate) = 1/e. */
	ck_assert_double_eq_tol(sum / n, (double)rate, rate * 0.005);
	ck_assert_double_eq_tol((double)above / n, exp(-1), 0.003);
	/* Different seeds give different streams; a seed is never 0. */
	uint64_t a = ct_heap_seed(1), b = ct_heap_seed(2);
	ck_assert_uint_ne(ct_heap_rand(&a), ct_heap_rand(&b));
	ck_assert_uint_ne(ct_heap_seed(0), 0);
	/* Huge rates clamp instead of overflowing. */
	for (int i = 0; i < 1000; i++)
		ck_assert_int_le(ct_heap_next_sample(&st, UINT64_MAX), INT64_C(1) << 62);
}
END_TEST

/* The countdown as the hooks run it: a block of s bytes is sampled with probability
 * 1 - exp(-s/rate), and unsampling gives back the true totals. */
static void simulate(uint64_t rate, uint64_t size, int n, double tol)
{
	uint64_t st = ct_heap_seed(size * 7 + rate);
	int64_t countdown = ct_heap_next_sample(&st, rate);
	int64_t sampled = 0;
	for (int i = 0; i < n; i++) {
		countdown -= (int64_t)size;
		if (countdown < 0) {
			sampled++;
			countdown = ct_heap_next_sample(&st, rate);
		}
	}
	double p = 1 - exp(-(double)size / (double)rate);
	ck_assert_double_eq_tol((double)sampled / n, p, tol * p);
	int64_t objs, bytes;
	ct_heap_unsample(sampled, sampled * (int64_t)size, rate, &objs, &bytes);
	ck_assert_double_eq_tol((double)objs, (double)n, n * tol);
	ck_assert_double_eq_tol((double)bytes, (double)n * size, n * size * tol);
}

START_TEST(test_sampling_probability)
{
	/* Each case expects >= 10000 samples, so the tolerances are >= 5 deviations. */
	simulate(65536, 64, 10000000, 0.05);
	simulate(512 * 1024, 100000, 200000, 0.03);
	simulate(512 * 1024, 4 << 20, 20000, 0.01);
	simulate(4096, 1000, 1000000, 0.02);
}
END_TEST

START_TEST(test_unsample_go_formula)
{
	int64_t c, b;
	ct_heap_unsample(0, 100, 512 * 1024, &c, &b);
	ck_assert(c == 0 && b == 0);
	ct_heap_unsample(10, 0, 512 * 1024, &c, &b);
	ck_assert(c == 0 && b == 0);
	ct_heap_unsample(7, 700, 1, &c, &b);
	ck_assert(c == 7 && b == 700);
	const int64_t cases[][2] = {{1, 16}, {3, 3000}, {100, 6400}, {5, 5 << 20}, {2, 1 << 19}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double rate = 512 * 1024;
		double avg = (double)cases[i][1] / cases[i][0];
		double scale = 1 / (1 - exp(-avg / rate));
		ct_heap_unsample(cases[i][0], cases[i][1], 512 * 1024, &c, &b);
		ck_assert_int_eq(c, (int64_t)(cases[i][0] * scale));
		ck_assert_int_eq(b, (int64_t)(cases[i][1] * scale));
	}
	ck_assert_double_eq(ct_heap_weight(100, 1), 100);
	ck_assert_double_eq(ct_heap_weight(0, 4096), 0);
	ck_assert_double_eq_tol(ct_heap_weight(4096, 4096), 4096 / (1 - exp(-1)), 1e-6);
}
END_TEST

static void *table_mem(unsigned bits)
{
	void *m = NULL;
	ck_assert_int_eq(posix_memalign(&m, 64, ct_heap_table_bytes(bits)), 0);
	memset(m, 0, ct_heap_table_bytes(bits));
	return m;
}

/* A table whose largest level has 2^bits slots, laid over fresh memory (returned: free
 * it after). */
static void *table_new(ct_heap_table *t, unsigned bits)
{
	void *m = table_mem(bits);
	ck_assert_int_eq(ct_heap_table_init(t, m, bits), 0);
	return m;
}

START_TEST(test_table_basic)
{
	ct_heap_table t;
	void *m = table_mem(10);
	ck_assert_int_eq(ct_heap_table_init(&t, m, 3), -EINVAL);
	ck_assert_int_eq(ct_heap_table_init(&t, m, 10), 0);
	uint64_t v;
	for (uintptr_t a = 0x1000; a < 0x1000 + 16 * 300; a += 16) {
		ck_assert(!ct_heap_table_remove(&t, a, &v));
		ck_assert_int_eq(ct_heap_table_insert(&t, a, ct_heap_pack((uint32_t)a, a * 3)), 0);
		ck_assert(ct_heap_table_maybe(&t, a));
	}
	ck_assert_uint_eq(t.nlevels, 1); /* 1024 slots: below two levels' worth */
	for (uintptr_t a = 0x1000; a < 0x1000 + 16 * 300; a += 32) {
		ck_assert(ct_heap_table_remove(&t, a, &v));
		ck_assert_uint_eq(ct_heap_unpack_stack(v), (uint32_t)a & 0xffffff);
		ck_assert_uint_eq(ct_heap_unpack_size(v), a * 3);
		ck_assert(!ct_heap_table_remove(&t, a, &v));
	}
	for (uintptr_t a = 0x1010; a < 0x1000 + 16 * 300; a += 32)
		ck_assert(ct_heap_table_remove(&t, a, &v));
	/* All counters back to zero: every filter answers "no" again. */
	for (uintptr_t a = 0x1000; a < 0x1000 + 16 * 300; a += 16)
		ck_assert(!ct_heap_table_maybe(&t, a));
	/* Tombstones are reused: many rounds never exhaust the table. */
	for (int round = 0; round < 200; round++) {
		for (uintptr_t a = 0; a < 500; a++)
			ck_assert_int_eq(
				ct_heap_table_insert(&t, 0x100000 + a * 48 + round * 16, a), 0);
		for (uintptr_t a = 0; a < 500; a++)
			ck_assert(ct_heap_table_remove(&t, 0x100000 + a * 48 + round * 16, &v));
	}
	ck_assert_uint_eq(atomic_load(&t.full), 0);
	free(m);
	/* Sizes saturate at 40 bits. */
	ck_assert_uint_eq(ct_heap_unpack_size(ct_heap_pack(5, UINT64_MAX)), (1ULL << 40) - 1);
	ck_assert_uint_eq(ct_heap_unpack_stack(ct_heap_pack(0xabcdef, 1)), 0xabcdef);
}
END_TEST

START_TEST(test_table_full)
{
	ct_heap_table t;
	void *m = table_new(&t, 6);
	int ok = 0, refused = 0;
	for (uintptr_t a = 16; a < 16 * 200; a += 16) {
		int r = ct_heap_table_insert(&t, a, a);
		if (r == 0)
			ok++;
		else {
			ck_assert_int_eq(r, -ENOSPC);
			refused++;
		}
	}
	ck_assert_int_eq(ok, 64); /* its one level, filled to the last slot */
	ck_assert_uint_eq(atomic_load(&t.full), (uint64_t)refused);
	/* A lookup of an absent address in a full table is bounded and says no. */
	uint64_t v;
	ck_assert(!ct_heap_table_remove(&t, 0xdead0, &v));
	free(m);
}
END_TEST

/* Filter saturation: a bucket with more than 255 addresses stays "maybe" for good. */
START_TEST(test_filter_saturates)
{
	ct_heap_table t;
	void *m = table_new(&t, 4);
	atomic_store(&t.level[0].filter[3], 254);
	uintptr_t a = 0;
	for (uintptr_t x = 16;; x += 16)
		if ((ct_heap_table_hash(x) >> 60) == 3) {
			a = x;
			break;
		}
	ck_assert_int_eq(ct_heap_table_insert(&t, a, 1), 0);
	ck_assert_uint_eq(atomic_load(&t.level[0].filter[3]), 255);
	uint64_t v;
	ck_assert(ct_heap_table_remove(&t, a, &v));
	ck_assert_uint_eq(atomic_load(&t.level[0].filter[3]), 255);
	free(m);
}
END_TEST

/* Growth: blocks stay findable in the level they went to while the top moves up, and
 * the table holds far more than its first level. */
START_TEST(test_table_grows)
{
	ct_heap_table t;
	void *m = table_new(&t, 16);
	ck_assert_uint_eq(t.nlevels, 3);
	ck_assert_uint_eq(t.level[0].bits, 12);
	ck_assert_uint_eq(t.level[2].bits, 16);
	ck_assert_uint_eq(ct_heap_table_bytes(16),
			  (size_t)17 * ((1u << 12) + (1u << 14) + (1u << 16)));
	ct_heap_table big;
	void *mbig = table_new(&big, 22);
	ck_assert_uint_eq(big.nlevels, 6);
	ck_assert_uint_eq(big.level[0].bits, 12);
	free(mbig);
	/* A few hundred blocks live and die in the first level: it never grows. */
	uint64_t v;
	for (int round = 0; round < 200; round++) {
		for (uintptr_t a = 0; a < 300; a++)
			ck_assert_int_eq(ct_heap_table_insert(&t, 0x10000 + a * 64 + round * 16, a),
					 0);
		for (uintptr_t a = 0; a < 300; a++)
			ck_assert(ct_heap_table_remove(&t, 0x10000 + a * 64 + round * 16, &v));
	}
	ck_assert_uint_eq(ct_heap_table_top(&t), 0);
	/* 30000 live blocks climb to the last level; each is found once, with its value. */
	enum { N = 30000 };
	for (uintptr_t a = 1; a <= N; a++)
		ck_assert_int_eq(ct_heap_table_insert(&t, a * 4096 + 32, a * 7), 0);
	ck_assert_uint_eq(ct_heap_table_top(&t), 2);
	for (uintptr_t a = 1; a <= N; a++) {
		ck_assert(ct_heap_table_maybe(&t, a * 4096 + 32));
		ck_assert(ct_heap_table_remove(&t, a * 4096 + 32, &v));
		ck_assert_uint_eq(v, a * 7);
		ck_assert(!ct_heap_table_remove(&t, a * 4096 + 32, &v));
	}
	for (uintptr_t a = 1; a <= N; a++)
		ck_assert(!ct_heap_table_maybe(&t, a * 4096 + 32));
	ck_assert_uint_eq(atomic_load(&t.full), 0);
	free(m);
}
END_TEST

typedef struct {
	ct_heap_table *t;
	int id;
	int errors;
} worker;

static void *table_worker(void *arg)
{
	worker *w = arg;
	uint64_t st = ct_heap_seed((uint64_t)w->id);
	uintptr_t live[256];
	int n = 0;
	for (int i = 0; i < 200000; i++) {
		if (n < 256 && (n == 0 || (ct_heap_rand(&st) & 1))) {
			/* Addresses are unique per thread and per iteration, as an allocator's are.
			 */
			uintptr_t a = ((uintptr_t)(i + 1) << 12) | ((uintptr_t)w->id << 4);
			if (ct_heap_table_insert(w->t, a, ct_heap_pack((uint32_t)w->id, a)) == 0)
				live[n++] = a;
		} else {
			int k = (int)(ct_heap_rand(&st) % (uint64_t)n);
			uint64_t v;
			if (!ct_heap_table_remove(w->t, live[k], &v) ||
			    ct_heap_unpack_stack(v) != (uint32_t)w->id ||
			    ct_heap_unpack_size(v) != (live[k] & ((1ULL << 40) - 1)))
				w->errors++;
			live[k] = live[--n];
		}
	}
	for (int k = 0; k < n; k++) {
		uint64_t v;
		if (!ct_heap_table_remove(w->t, live[k], &v))
			w->errors++;
	}
	return NULL;
}

START_TEST(test_table_concurrent)
{
	ct_heap_table t;
	void *m = table_new(&t, 12);
	enum { N = 8 };
	pthread_t th[N];
	worker w[N];
	for (int i = 0; i < N; i++) {
		w[i] = (worker){.t = &t, .id = i + 1};
		ck_assert_int_eq(pthread_create(&th[i], NULL, table_worker, &w[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(w[i].errors, 0);
	}
	ck_assert_uint_eq(atomic_load(&t.full), 0);
	free(m);
}
END_TEST

static Suite *heapsample_suite(void)
{
	Suite *s = suite_create("heapsample");
	CT_CHECK_TCASE(s, "sampler", 120, test_log_exp_accuracy, test_next_sample_distribution,
		       test_sampling_probability, test_unsample_go_formula);
	CT_CHECK_TCASE(s, "table", 120, test_table_basic, test_table_full, test_filter_saturates,
		       test_table_grows, test_table_concurrent);
	return s;
}

CT_CHECK_MAIN(heapsample_suite)
