/*
 * clock.h — the one clock every ctrace event uses.
 *
 * ct_now() is CLOCK_MONOTONIC in nanoseconds (vDSO, ~20 ns, async-signal-safe); it is the
 * same clock the kernel stamps perf samples with when the agent asks for
 * use_clockid = CLOCK_MONOTONIC, so hook events and kernel samples order together.
 * A ct_clock_snapshot pairs it with CLOCK_REALTIME taken back to back, for file headers
 * (pprof time_nanos, the trace header) to translate event times to wall time.
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

#endif
