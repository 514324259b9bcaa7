/*
 * fastclock.c — the calibration behind ct_fast_now (fastclock.h): the choice of clock in
 * the constructor, and the (ticks, ns) pairs the collector keeps to convert stamps.
 *
 * Pairs: one at start, one after every drain when at least MIN_GAP_NS passed since the
 * one before (the collector ticks every 5-100 ms, so CT_TICK_PAIRS pairs span seconds),
 * and one whenever a conversion meets a stamp newer than the last pair — the last pair is
 * then replaced while it is less than MIN_GAP_NS after the one before it, so a busy drain
 * does not crowd the history. Every stamp is thus interpolated between pairs taken before
 * and after it, never extrapolated, and is as precise as a pair (the ct_now reads around
 * the rdtsc: ~50 ns on a KVM guest).
 */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/fastclock.h"

#define MIN_GAP_NS 1000000u

int ct_fast_tsc;
static ct_tick_calib calib; /* the collector's (one thread at a time, fastclock.h) */

static void add_pair(void)
{
	ct_tick_pair p;
	ct_tick_pair_take(&p);
	if (ct_tick_calib_add(&calib, p, MIN_GAP_NS) < 0)
		ct_log("clock: the tick counter went backwards (%llu after %llu)",
		       (unsigned long long)p.ticks, (unsigned long long)ct_tick_calib_last(&calib));
}

uint64_t ct_fast_to_ns(uint64_t stamp)
{
	if (!ct_fast_tsc)
		return stamp;
	if (stamp > ct_tick_calib_last(&calib))
		add_pair();
	return ct_tick_calib_ns(&calib, stamp);
}

const char *ct_fast_clock_name(void)
{
	return ct_fast_tsc ? "tsc" : "monotonic";
}

static int fast_start(void)
{
	const char *v = getenv("CTRACE_CLOCK");
	char why[160];
	int usable = ct_tsc_usable(why, sizeof(why));
	if (v && strcmp(v, "monotonic") == 0) {
		ct_fast_tsc = 0;
		snprintf(why, sizeof(why), "CTRACE_CLOCK=monotonic");
	} else if (v && strcmp(v, "tsc") == 0) {
		ct_fast_tsc = CT_HAVE_TSC;
		if (CT_HAVE_TSC)
			snprintf(why, sizeof(why), "CTRACE_CLOCK=tsc");
	} else {
		if (v && *v && strcmp(v, "auto") != 0)
			ct_config_warn("CTRACE_CLOCK=%s: not auto, tsc or monotonic; auto", v);
		ct_fast_tsc = usable;
	}
	ct_log("clock: %s (%s)", ct_fast_clock_name(), why);
	if (ct_fast_tsc)
		add_pair();
	return 0;
}

static void fast_tick(uint64_t now)
{
	(void)now;
	if (ct_fast_tsc)
		add_pair();
}

/* The child keeps the parent's pairs: the counter and CLOCK_MONOTONIC run on. */
static void fast_fork_child(void) {}

static const ct_subscription fast_subs[] = {{0, NULL}};

CT_SOURCE(fast_clock_source) = {
	.name = "clock",
	.mode = CT_MODE_ALL,
	.subs = fast_subs,
	.start = fast_start,
	.tick = fast_tick,
	.fork_child = fast_fork_child,
};
