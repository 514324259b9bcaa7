/*
 * sched.c — the sched mode's source, as far as it exists: it counts the scheduler events
 * that reach it through the dispatch, so that a test can see them flow.
 *
 * The scheduler trace (trace.ctr, issue 11) will replace the counters with the trace
 * writer; its subscriptions are already the ones it needs: context switches, thread names,
 * creation and exit, every finished wait, and CPU samples. With CTRACE_VERBOSE set the
 * counts are logged at exit ("sched: N switch events ...").
 */
#include <string.h>

#include "agent/internal.h"

/* Collector thread only (and the exit path after the last drain). */
static struct {
	uint64_t switches, outs, preempted, comms, forks, exits, waits, samples;
} seen;

static void sched_on_switch(const ct_event *ev)
{
	ct_ev_switch sw;
	if (!ct_event_get(ev, &sw, sizeof(sw)))
		return;
	seen.switches++;
	if (sw.flags & CT_SWITCH_OUT)
		seen.outs++;
	if (sw.flags & CT_SWITCH_PREEMPT)
		seen.preempted++;
}

static void sched_count(const ct_event *ev)
{
	switch (ev->type) {
	case CT_EV_COMM:
		seen.comms++;
		break;
	case CT_EV_FORK:
		seen.forks++;
		break;
	case CT_EV_EXIT:
		seen.exits++;
		break;
	case CT_EV_LOCK_WAIT:
		seen.waits++;
		break;
	case CT_EV_SAMPLE:
		seen.samples++;
		break;
	default:
		break;
	}
}

static void sched_finish(void)
{
	ct_log("sched: %llu switch events (%llu out, %llu preempted), %llu comm, %llu fork, "
	       "%llu exit, %llu waits, %llu samples",
	       (unsigned long long)seen.switches, (unsigned long long)seen.outs,
	       (unsigned long long)seen.preempted, (unsigned long long)seen.comms,
	       (unsigned long long)seen.forks, (unsigned long long)seen.exits,
	       (unsigned long long)seen.waits, (unsigned long long)seen.samples);
}

static void sched_fork_child(void)
{
	memset(&seen, 0, sizeof(seen));
}

static const ct_subscription sched_subs[] = {
	{CT_EV_SWITCH, sched_on_switch},
	{CT_EV_COMM, sched_count},
	{CT_EV_FORK, sched_count},
	{CT_EV_EXIT, sched_count},
	{CT_EV_LOCK_WAIT, sched_count},
	{CT_EV_SAMPLE, sched_count},
	{0, NULL},
};

CT_SOURCE(sched_source) = {
	.name = "sched",
	.mode = CT_MODE_SCHED,
	.subs = sched_subs,
	.finish = sched_finish,
	.fork_child = sched_fork_child,
};
