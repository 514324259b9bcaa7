/*
 * fastclock.h — the agent's cheap timestamp for hot paths (hooks, signal handlers):
 * ct_fast_now() is one rdtsc (~11 ns here, against ~26 ns for clock_gettime), converted
 * to the trace/profile clock (CLOCK_MONOTONIC ns, ct_now) by the collector, not by the
 * program's thread.
 *
 * How to use it: a hot path stamps its record with ct_fast_now(); whoever reads the
 * record on the collector thread calls ct_fast_to_ns() on the stamp before the time
 * meets any other (perf samples, ct_now). Conversion interpolates between (ticks, ns)
 * pairs the collector takes after every drain and whenever it meets a stamp newer than
 * its last pair (libtrace/clock.h: ct_tick_calib), so a converted stamp is within a
 * fraction of a microsecond of the ct_now() the program would have read, and orders
 * correctly against perf switch records.
 *
 * Which clock: CTRACE_CLOCK=auto (default: the TSC where ct_tsc_usable says it is a
 * clock, else CLOCK_MONOTONIC), tsc (the counter wherever the architecture has one) or
 * monotonic (clock_gettime: the stamps are already ns and ct_fast_to_ns returns them
 * unchanged). Chosen once in the constructor, before recording starts, and kept by a
 * forked child (the counter runs on).
 */
#ifndef CT_AGENT_FASTCLOCK_H
#define CT_AGENT_FASTCLOCK_H

#include <stdint.h>

#include "libtrace/clock.h"

/* 1 when ct_fast_now reads the tick counter. Written by the constructor before
 * ct_agent_active's release store; read-only afterwards. */
extern int ct_fast_tsc;

/* A timestamp in the fast clock's units. Async-signal-safe, no system call on the TSC
 * path. Stamps are only meaningful to ct_fast_to_ns of the same process (or its fork
 * children). */
static inline uint64_t ct_fast_now(void)
{
	if (__builtin_expect(ct_fast_tsc, 1))
		return ct_tsc();
	return ct_now();
}

/* A ct_fast_now stamp in CLOCK_MONOTONIC ns. One thread at a time: the collector, or the
 * exit path once the collector stopped (it may take a calibration pair). */
uint64_t ct_fast_to_ns(uint64_t stamp);

/* "tsc" or "monotonic": which clock ct_fast_now reads. */
const char *ct_fast_clock_name(void);

#endif
