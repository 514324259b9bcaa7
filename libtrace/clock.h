/*
 * clock.h — the one clock every ctrace event uses, and the cheap tick counter hot paths may
 * read instead.
 *
 * ct_now() is CLOCK_MONOTONIC in nanoseconds (vDSO, ~20 ns, async-signal-safe); it is the
 * same clock the kernel stamps perf samples with when the agent asks for
 * use_clockid = CLOCK_MONOTONIC, so hook events and kernel samples order together.
 * A ct_clock_snapshot pairs it with CLOCK_REALTIME taken back to back, for file headers
 * (pprof time_nanos, the trace header) to translate event times to wall time.
 *
 * Ticks. ct_tsc() reads the CPU's free-running counter (x86-64 rdtsc, ~11 ns on a KVM
 * guest; aarch64 cntvct_el0) where CT_HAVE_TSC says there is one. A hot path stamps its
 * record with ticks and the reader converts them to CLOCK_MONOTONIC ns with a
 * ct_tick_calib: pairs (ticks, ns) read back to back (ct_tick_pair_take), linearly
 * interpolated. Interpolation is as precise as the pairs (tens of ns), whatever their
 * spacing, so a reader that takes a fresh pair whenever it meets ticks newer than its
 * last one never extrapolates. Whether the counter may be trusted as a clock
 * (constant rate, running in every C-state, synchronized across CPUs) is
 * ct_tsc_usable()'s question.
 */
#ifndef CT_CLOCK_H
#define CT_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t ct_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct {
	uint64_t mono_ns; /* CLOCK_MONOTONIC */
	uint64_t wall_ns; /* CLOCK_REALTIME, Unix epoch */
} ct_clock_snapshot;

/* Takes a snapshot; the pair is the one with the smallest monotonic gap of a few tries. */
void ct_clock_snapshot_take(ct_clock_snapshot *s);

/* Converts a monotonic time to wall time with snapshot s. */
static inline uint64_t ct_clock_to_wall(const ct_clock_snapshot *s, uint64_t mono_ns)
{
	return s->wall_ns + (mono_ns - s->mono_ns);
}

/* ---- ticks ---- */
#if defined(__x86_64__)
#define CT_HAVE_TSC 1
static inline uint64_t ct_tsc(void)
{
	return __builtin_ia32_rdtsc();
}
#elif defined(__aarch64__)
#define CT_HAVE_TSC 1
static inline uint64_t ct_tsc(void)
{
	uint64_t v;
	__asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
	return v;
}
#else
#define CT_HAVE_TSC 0
static inline uint64_t ct_tsc(void)
{
	return ct_now();
}
#endif

/* 1 when ct_tsc is a clock: x86-64 with constant_tsc and nonstop_tsc in /proc/cpuinfo
 * (the kernel's verdict, which also covers guests), aarch64 always (the architected
 * timer); 0 otherwise, with why in reason (len bytes). Reads a file: not for hot paths. */
int ct_tsc_usable(char *reason, size_t len);

typedef struct {
	uint64_t ticks, ns;
} ct_tick_pair;

/* Reads ct_tsc and ct_now back to back: of a few tries, the one whose ct_now reads
 * bracket the tick read tightest, the ns at the bracket's midpoint. Returns the bracket
 * (ns): the pair's uncertainty is half of it. */
uint64_t ct_tick_pair_take(ct_tick_pair *p);

/* Pairs in tick order, the last CT_TICK_PAIRS kept (a ring), and the segment the last
 * conversion used (stamps mostly come in order: the next one is usually in it). Not
 * thread-safe: one reader owns it. Zero-initialised is empty. */
enum { CT_TICK_PAIRS = 256 };
typedef struct {
	ct_tick_pair p[CT_TICK_PAIRS];
	uint32_t n, first; /* p[(first + i) % CT_TICK_PAIRS], i < n, oldest first */
	/* The cached segment, valid while seg_ok (cleared by every add). */
	ct_tick_pair lo, hi;
	int seg_ok;
} ct_tick_calib;

/* Adds a pair. One that does not follow the last (ticks or ns not above the last's) is
 * refused (-EINVAL): a counter that went backwards is no clock. When the last pair is
 * less than min_gap_ns after the one before, the new pair replaces it rather than
 * piling up (the history then keeps its span). 0 or -EINVAL. */
int ct_tick_calib_add(ct_tick_calib *c, ct_tick_pair p, uint64_t min_gap_ns);

/* The newest pair's ticks (0 when empty): a reader converting ticks above it should add a
 * fresh pair first, so as to interpolate. */
uint64_t ct_tick_calib_last(const ct_tick_calib *c);

/* ticks in CLOCK_MONOTONIC ns: interpolated between the pairs around it; before the
 * first pair or after the last, extrapolated from the nearest two (one pair: at 1 tick
 * per ns; none: ticks unchanged). Monotonic in ticks between pairs. Caches the segment it
 * used. */
uint64_t ct_tick_calib_ns(ct_tick_calib *c, uint64_t ticks);

#endif
