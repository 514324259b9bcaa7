/*
 * hookstats.c — what the scheduler trace's hooks recorded, logged at exit under
 * CTRACE_VERBOSE: counts of unblock edges and thread lifecycle records, the names set,
 * and every thread still inside a blocking hook (lockprof.h: ct_lk_open_waits) with its
 * reason and stack as module+offset frames. A diagnostic and what the tests check until
 * the trace (trace.ctr) carries these records; it writes no file.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "agent/internal.h"
#include "agent/lockprof.h"

#define HS_NAMES 8

/* Collector thread only (and the exit path after the last drain). */
static struct {
	uint64_t unblocks, unblocks_woken, starts, starts_creator, ends, names;
	ct_ev_comm name[HS_NAMES]; /* the first names set */
	uint32_t name_tid[HS_NAMES];
} hs;

static void hs_on_event(const ct_event *ev)
{
	switch (ev->type) {
	case CT_EV_UNBLOCK: {
		ct_ev_unblock u;
		if (ct_event_get(ev, &u, sizeof(u))) {
			hs.unblocks++;
			hs.unblocks_woken += u.woken != 0;
		}
		break;
	}
	case CT_EV_THREAD_START: {
		ct_ev_thread_start st;
		if (ct_event_get(ev, &st, sizeof(st))) {
			hs.starts++;
			hs.starts_creator += st.creator != 0 && st.create_stack != 0;
		}
		break;
	}
	case CT_EV_THREAD_END:
		hs.ends++;
		break;
	case CT_EV_THREAD_NAME:
		if (hs.names < HS_NAMES && ct_event_get(ev, &hs.name[hs.names], sizeof(ct_ev_comm)))
			hs.name_tid[hs.names] = ev->tid;
		hs.names++;
		break;
	default:
		break;
	}
}

/* One open wait as a log line: tid, reason, object, age and frames (module+offset). */
static void hs_open_wait(const ct_lk_open_wait *w, void *arg)
{
	uint64_t now = *(const uint64_t *)arg;
	char frames[1024] = "";
	size_t len = 0;
	const uintptr_t *pcs;
	int n = ct_stack_get(w->stack, &pcs);
	for (int i = 0; i < n && i < 12 && len < sizeof(frames) - 1; i++) {
		Dl_info info;
		int ok = dladdr((void *)pcs[i], &info) && info.dli_fname;
		const char *mod = ok ? strrchr(info.dli_fname, '/') : NULL;
		int k = snprintf(frames + len, sizeof(frames) - len, " %s+0x%lx",
				 mod  ? mod + 1
				 : ok ? info.dli_fname
				      : "?",
				 (unsigned long)(pcs[i] - (ok ? (uintptr_t)info.dli_fbase : 0)));
		if (k < 0)
			break;
		len += (size_t)k;
	}
	ct_log("open wait: tid=%u reason=%s obj=0x%llx waiting_ms=%llu stack:%s", w->tid,
	       ct_wait_reason_name((ct_wait_reason)w->reason), (unsigned long long)w->obj,
	       (unsigned long long)((now - w->begin) / 1000000), frames);
}

static void hs_finish(void)
{
	if (!ct_cfg.verbose)
		return;
	ct_log("hooks: %llu unblock (%llu with woken tid), %llu thread start (%llu with creator "
	       "stack), %llu thread end, %llu thread name",
	       (unsigned long long)hs.unblocks, (unsigned long long)hs.unblocks_woken,
	       (unsigned long long)hs.starts, (unsigned long long)hs.starts_creator,
	       (unsigned long long)hs.ends, (unsigned long long)hs.names);
	for (uint64_t i = 0; i < hs.names && i < HS_NAMES; i++)
		ct_log("thread name: tid=%u name=%s", hs.name_tid[i], hs.name[i].name);
	uint64_t now = ct_now();
	ct_lk_open_waits(hs_open_wait, &now);
}

static void hs_fork_child(void)
{
	memset(&hs, 0, sizeof(hs));
}

static const ct_subscription hs_subs[] = {
	{CT_EV_UNBLOCK, hs_on_event},
	{CT_EV_THREAD_START, hs_on_event},
	{CT_EV_THREAD_END, hs_on_event},
	{CT_EV_THREAD_NAME, hs_on_event},
	{0, NULL},
};

CT_SOURCE(hookstats_source) = {
	.name = "hookstats",
	.mode = CT_MODE_BLOCK | CT_MODE_SCHED,
	.subs = hs_subs,
	.finish = hs_finish,
	.fork_child = hs_fork_child,
};
