/*
 * heapsample.c — exponential byte sampling, Go's unsampling formula, and the lock-free
 * table of sampled blocks (see heapsample.h for the model and the contracts).
 *
 * The logarithm and exponential are written out here because the agent does not link
 * libm and the sampler runs inside malloc: both reduce their argument by powers of two
 * (bit manipulation of the double) and finish with a short series.
 */
#include "libtrace/heapsample.h"

#include <errno.h>
#include <string.h>

#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define SQRT2 1.41421356237309504880

uint64_t ct_heap_seed(uint64_t entropy)
{
	uint64_t z = entropy + 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 0x9E3779B97F4A7C15ULL;
}

/* x = m * 2^e with m in [1, 2), for a positive normal x. */
static double split_pow2(double x, int *e)
{
	uint64_t bits;
	memcpy(&bits, &x, sizeof bits);
	*e = (int)((bits >> 52) & 0x7ff) - 1023;
	bits = (bits & ~(0x7ffULL << 52)) | (1023ULL << 52);
	memcpy(&x, &bits, sizeof x);
	return x;
}

/* 2^k as a double for -1022 <= k <= 1023. */
static double pow2(int k)
{
	uint64_t bits = (uint64_t)(k + 1023) << 52;
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

double ct_heap_log(double x)
{
	if (!(x > 0))
		return -1e308;
	int e = 0;
	if (x < 2.2250738585072014e-308) { /* subnormal: bring into the normal range */
		x *= 18014398509481984.0;  /* 2^54 */
		e = -54;
	}
	int e2;
	double m = split_pow2(x, &e2);
	e += e2;
	if (m > SQRT2) {
		m *= 0.5;
		e++;
	}
	/* ln m = 2 atanh(z), z = (m-1)/(m+1), |z| <= 0.172: the odd series to z^13 is exact
	 * to ~2e-11 relative. */
	double z = (m - 1) / (m + 1), z2 = z * z;
	double s =
		z *
		(2 +
		 z2 * (2.0 / 3 +
		       z2 * (2.0 / 5 +
			     z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11 + z2 * (2.0 / 13)))))));
	return e * LN2_HI + (s + e * LN2_LO);
}

double ct_heap_exp(double x)
{
	if (x != x)
		return x;
	if (x < -745.2)
		return 0;
	if (x > 709.7)
		return 1e308 * 10;
	/* x = k ln2 + r with |r| <= ln2/2; e^r by its Taylor series to r^13 (error < 2e-16). */
	double kd = x * 1.44269504088896340736;
	int k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5);
	double r = (x - k * LN2_HI) - k * LN2_LO;
	double term = 1, sum = 1;
	for (int i = 1; i <= 13; i++) {
		term *= r / i;
		sum += term;
	}
	if (k < -1021) /* scale in two steps to stay out of the subnormal exponent field */
		return sum * pow2(k + 60) * pow2(-60);
	if (k > 1023)
		return sum * pow2(k - 1) * 2;
	return sum * pow2(k);
}

int64_t ct_heap_next_sample(uint64_t *state, uint64_t rate)
{
	if (rate <= 1)
		return -1;
	/* u uniform in (0, 1]: 53 random bits, never 0, so -ln(u) is finite. */
	double u = (double)((ct_heap_rand(state) >> 11) + 1) * (1.0 / 9007199254740992.0);
	double d = -ct_heap_log(u) * (double)rate;
	if (d >= 4611686018427387904.0) /* 2^62 */
		return INT64_C(4611686018427387904);
	return (int64_t)d;
}

/* x as an int64_t, saturated (a hostile profile's values can make it infinite); NaN is 0. */
static int64_t sat_i64(double x)
{
	if (x != x)
		return 0;
	if (x >= 9223372036854775807.0)
		return INT64_MAX;
	if (x <= -9223372036854775807.0)
		return -INT64_MAX;
	return (int64_t)x;
}

void ct_heap_unsample(int64_t count, int64_t bytes, uint64_t rate, int64_t *count_out,
		      int64_t *bytes_out)
{
	if (count == 0 || bytes == 0) {
		*count_out = 0;
		*bytes_out = 0;
		return;
	}
	if (rate <= 1) {
		*count_out = count;
		*bytes_out = bytes;
		return;
	}
	double avg = (double)bytes / (double)count;
	double scale = 1 / (1 - ct_heap_exp(-avg / (double)rate));
	*count_out = sat_i64((double)count * scale);
	*bytes_out = sat_i64((double)bytes * scale);
}

double ct_heap_weight(uint64_t size, uint64_t rate)
{
	if (rate <= 1 || size == 0)
		return (double)size;
	return (double)size / (1 - ct_heap_exp(-(double)size / (double)rate));
}

/* ---- table ---- */

enum { SLOT_EMPTY = 0, SLOT_TOMB = 1 };

/* The levels of a table whose largest has 2^bits slots: sizes 2^bits, 2^(bits-2), ...,
 * at most CT_HEAP_LEVELS of them and none below 2^CT_HEAP_MIN_LEVEL_BITS (a table smaller
 * than that has one level). Fills lbits smallest first and returns how many there are. */
static unsigned level_bits(unsigned bits, unsigned lbits[CT_HEAP_LEVELS])
{
	unsigned n = 0;
	for (unsigned b = bits; n < CT_HEAP_LEVELS && (n == 0 || b >= CT_HEAP_MIN_LEVEL_BITS);
	     b -= 2)
		n++;
	for (unsigned i = 0; i < n; i++)
		lbits[i] = bits - 2 * (n - 1 - i);
	return n;
}

static size_t level_bytes(unsigned bits)
{
	size_t n = (size_t)1 << bits;
	return n * sizeof(ct_heap_slot) + n;
}

size_t ct_heap_table_bytes(unsigned bits)
{
	unsigned lbits[CT_HEAP_LEVELS];
	unsigned n = level_bits(bits, lbits);
	size_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += level_bytes(lbits[i]);
	return total;
}

int ct_heap_table_init(ct_heap_table *t, void *mem, unsigned bits)
{
	if (bits < 4 || bits > 32 || ((uintptr_t)mem & 15))
		return -EINVAL;
	memset(t, 0, sizeof *t);
	unsigned lbits[CT_HEAP_LEVELS];
	t->nlevels = level_bits(bits, lbits);
	char *p = mem;
	for (unsigned i = 0; i < t->nlevels; i++) {
		/* Slots then filter; both sizes are multiples of 16, so alignment carries on. */
		size_t n = (size_t)1 << lbits[i];
		ct_heap_level *l = &t->level[i];
		l->slots = (ct_heap_slot *)p;
		l->filter = (_Atomic uint8_t *)(p + n * sizeof(ct_heap_slot));
		l->bits = lbits[i];
		l->probes = i + 1 == t->nlevels ? CT_HEAP_PROBES : CT_HEAP_GROW_PROBES;
		if (l->probes > n)
			l->probes = (unsigned)n;
		p += level_bytes(lbits[i]);
	}
	atomic_init(&t->top, 0);
	atomic_init(&t->full, 0);
	return 0;
}

/* Filter counters saturate at 255 and then stay there: such a bucket always says "maybe",
 * which costs lookups but never misses a block. Relaxed order: the counter only needs to
 * be visible to the thread that later frees the block, which the program already orders
 * after the insert. */
static void filter_inc(ct_heap_level *l, size_t i)
{
	uint8_t c = atomic_load_explicit(&l->filter[i], memory_order_relaxed);
	while (c != 255 &&
	       !atomic_compare_exchange_weak_explicit(&l->filter[i], &c, (uint8_t)(c + 1),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

static void filter_dec(ct_heap_level *l, size_t i)
{
	uint8_t c = atomic_load_explicit(&l->filter[i], memory_order_relaxed);
	while (c != 255 && c != 0 &&
	       !atomic_compare_exchange_weak_explicit(&l->filter[i], &c, (uint8_t)(c - 1),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

static int level_insert(ct_heap_level *l, uint64_t h, uintptr_t addr, uint64_t val)
{
	size_t mask = ((size_t)1 << l->bits) - 1;
	size_t home = (size_t)(h >> (64 - l->bits));
	for (size_t i = 0; i < l->probes; i++) {
		ct_heap_slot *s = &l->slots[(home + i) & mask];
		uintptr_t k = atomic_load_explicit(&s->key, memory_order_relaxed);
		if (k > SLOT_TOMB)
			continue;
		/* Claim the slot; the value is stored after the claim, which is fine because
		 * only the thread that frees addr reads it, and it is ordered after us. */
		if (!atomic_compare_exchange_strong_explicit(
			    &s->key, &k, addr, memory_order_acq_rel, memory_order_relaxed))
			continue;
		atomic_store_explicit(&s->val, val, memory_order_release);
		filter_inc(l, home);
		return 0;
	}
	return -ENOSPC;
}

int ct_heap_table_insert(ct_heap_table *t, uintptr_t addr, uint64_t val)
{
	uint64_t h = ct_heap_table_hash(addr);
	unsigned lv = atomic_load_explicit(&t->top, memory_order_relaxed);
	for (; lv < t->nlevels; lv++) {
		if (level_insert(&t->level[lv], h, addr, val) == 0)
			return 0;
		/* Crowded: from now on inserts go one level up. A failed CAS means another
		 * thread moved the top already, to here or beyond. */
		unsigned cur = lv;
		if (lv + 1 < t->nlevels)
			atomic_compare_exchange_strong_explicit(
				&t->top, &cur, lv + 1, memory_order_relaxed, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&t->full, 1, memory_order_relaxed);
	return -ENOSPC;
}

static bool level_remove(ct_heap_level *l, uint64_t h, uintptr_t addr, uint64_t *val)
{
	size_t mask = ((size_t)1 << l->bits) - 1;
	size_t home = (size_t)(h >> (64 - l->bits));
	if (!atomic_load_explicit(&l->filter[home], memory_order_relaxed))
		return false;
	for (size_t i = 0; i < l->probes; i++) {
		ct_heap_slot *s = &l->slots[(home + i) & mask];
		uintptr_t k = atomic_load_explicit(&s->key, memory_order_acquire);
		if (k == SLOT_EMPTY)
			return false;
		if (k != addr)
			continue;
		*val = atomic_load_explicit(&s->val, memory_order_acquire);
		/* Release: our reads of the slot happen before another inserter reuses it. */
		atomic_store_explicit(&s->key, (uintptr_t)SLOT_TOMB, memory_order_release);
		filter_dec(l, home);
		return true;
	}
	return false;
}

bool ct_heap_table_remove(ct_heap_table *t, uintptr_t addr, uint64_t *val)
{
	uint64_t h = ct_heap_table_hash(addr);
	/* Top first: that is where most blocks are. */
	unsigned lv = atomic_load_explicit(&t->top, memory_order_relaxed);
	for (;; lv--) {
		if (level_remove(&t->level[lv], h, addr, val))
			return true;
		if (lv == 0)
			return false;
	}
}
