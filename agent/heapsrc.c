/*
 * heapsrc.c — the heap source (collector thread): the hooks' records (CT_EV_HEAP_*) feed a
 * libtrace/heapagg.h aggregator; at exit heap.pb.gz and heap-peak.pb.gz are written with
 * Go's sample types and Go's unsampling (heapsample.h).
 *
 * When records were lost (a full ring, seen as gaps in their sequence numbers), the
 * profile says it is incomplete — a comment, summary.txt's heap_incomplete, and `ctrace
 * report` prints it — and blocks allocated before the loss that were not seen freed are
 * not in use but unknown (heapagg.h): a lost free never shows up as a leak.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/heap.h"
#include "agent/live.h"
#include "agent/stackcache.h"
#include "libtrace/clock.h"
#include "libtrace/heapagg.h"
#include "libtrace/heapreport.h"
#include "libtrace/heapsample.h"

/* The aggregate and its bookkeeping: created by heap_start (constructor), fed by the
 * collector, written and freed by the exit path after the collector stopped. */
static ct_heap_agg *agg;
static uint64_t heap_rate;
static uint64_t heap_start_ns;
static uint64_t agg_errors;

/* Set by heap_start when malloc is defined ahead of the agent: said in summary.txt. */
static char bypass_note[224];

/* Whether the malloc programs call is another object's than the agent's (the executable's
 * own, or a library preloaded before the agent): its allocations never reach the hooks,
 * and the heap profile is empty, or nearly, without this note. */
static void check_bypass(void)
{
	Dl_info self, other;
	void *mine = NULL, *used = dlsym(RTLD_DEFAULT, "malloc");
	if (dladdr((void *)check_bypass, &self) && self.dli_fname) {
		void *h = dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD);
		mine = h ? dlsym(h, "malloc") : NULL;
		if (h)
			dlclose(h);
	}
	const ElfW(Sym) *sym = NULL;
	if (!mine || !used || used == mine || !dladdr1(used, &other, (void **)&sym, RTLD_DL_SYMENT))
		return;
	/* A non-PIE executable that takes malloc's address gives it a canonical address, its
	 * PLT entry: an undefined symbol there, which calls ours. */
	if (sym && sym->st_shndx == SHN_UNDEF)
		return;
	snprintf(bypass_note, sizeof(bypass_note),
		 "malloc is defined by %.120s, ahead of the agent: allocations made through it "
		 "do not reach the heap hooks",
		 other.dli_fname && *other.dli_fname ? other.dli_fname : "the program itself");
}

static int heap_start(void)
{
	check_bypass();
	heap_rate = ct_cfg.heap_rate ? ct_cfg.heap_rate : 512 * 1024;
	ct_stackcache_init();
	/* The reorder window must span what the rings can hold (2 x 4 MiB of 64-byte records
	 * on this kind of machine) while one thread sits on a sequence number; at rate 1,
	 * where a late event can mismatch an address and every thread has a ring of its own
	 * (heapring.c), make it 2^19 events. */
	agg = ct_heap_agg_new(heap_rate, heap_rate <= 1 ? 19 : 16);
	if (!agg)
		return -ENOMEM;
	heap_start_ns = ct_now();
	int r = ct_heap_hooks_start(heap_rate);
	if (r < 0) {
		ct_heap_agg_free(agg);
		agg = NULL;
	}
	return r;
}

static void heap_on_event(const ct_event *ev)
{
	ct_ev_heap r;
	if (!agg || !ct_event_get(ev, &r, sizeof r))
		return;
	int kind;
	switch (ev->type) {
	case CT_EV_HEAP_ALLOC:
		kind = CT_HEAP_EV_ALLOC;
		break;
	case CT_EV_HEAP_FREE:
		kind = CT_HEAP_EV_FREE;
		break;
	case CT_EV_HEAP_UNTRACKED:
		kind = CT_HEAP_EV_UNTRACKED;
		break;
	case CT_EV_HEAP_ALLOC_AT:
		kind = CT_HEAP_EV_ALLOC_AT;
		break;
	case CT_EV_HEAP_FREE_AT:
		kind = CT_HEAP_EV_FREE_AT;
		break;
	case CT_EV_HEAP_NONE:
		kind = CT_HEAP_EV_NONE;
		break;
	default:
		return;
	}
	if (ct_heap_agg_add_at(agg, r.seq, kind, (uintptr_t)r.addr, r.stack, r.size, ev->time) < 0)
		agg_errors++;
}

/* Holding back (rate 1). The aggregator applies events in sequence order through a window
 * of 2^19; a number missing when the window is full used to be counted lost at once. But
 * a thread preempted between taking its number and appending its event (a few
 * instructions; a busy machine can keep it off the CPU for tens of milliseconds while the
 * other threads append half a million events) delivers it later: counting it lost marked
 * the profile incomplete and dropped blocks that were in use (test_heap_rings under load).
 * Now the drain stops at an event the window cannot take, which stays in its ring with
 * everything after it; the producers then wait for room, which leaves the CPU to the
 * latecomer. The number is given up on only when a record is known to have been dropped
 * (then the gap is real) or after HOLD_NS (far below the producers' own 10 s bound). */
#define HOLD_NS 2000000000u
static uint64_t hold_since; /* when the current hold began; 0: none */
static uint64_t holds;	    /* holds begun (CTRACE_VERBOSE at exit) */
static int final_drain;	    /* the exit path's drain: nothing may stay behind */
static int held;	    /* this drain held an event back */

/* Whether the aggregator's missing number may be given up on now. */
static int give_up(uint64_t now)
{
	if (final_drain)
		return 1;
	ct_heap_agg_stats st;
	ct_heap_agg_get_stats(agg, &st);
	ct_heap_hooks_stats hs;
	ct_heap_hooks_get_stats(&hs);
	if (hs.emit_failed > st.gaps) /* a record was dropped: the gap is real */
		return 1;
	if (!hold_since) {
		hold_since = now;
		holds++;
	}
	return now - hold_since >= HOLD_NS;
}

/* A rate-1 event from a thread's ring (heapring.c), dated by the drain that took it.
 * Nonzero: hold it (and the rest) back for the next drain. */
static int ring_event(void *ctx, const ct_heap_ring_ev *e)
{
	static const int kinds[4] = {CT_HEAP_EV_ALLOC_AT, CT_HEAP_EV_FREE_AT, CT_HEAP_EV_NONE,
				     CT_HEAP_EV_NONE};
	uint64_t now = *(const uint64_t *)ctx;
	uint64_t seq = e->seq_kind >> 2;
	int kind = kinds[e->seq_kind & 3];
	uint32_t stack = ct_heap_unpack_stack(e->val);
	uint64_t size = ct_heap_unpack_size(e->val);
	int rc = ct_heap_agg_offer(agg, seq, kind, (uintptr_t)e->addr, stack, size, now);
	if (rc == -EAGAIN) {
		if (!give_up(now)) {
			held = 1;
			return 1;
		}
		rc = ct_heap_agg_add_at(agg, seq, kind, (uintptr_t)e->addr, stack, size, now);
	}
	if (rc < 0)
		agg_errors++;
	return 0;
}

static void heap_tick(uint64_t now)
{
	if (!agg)
		return;
	held = 0;
	ct_heap_ring_drain(ring_event, &now);
	if (!held) /* nothing waits for a missing number any more */
		hold_since = 0;
}

static int64_t nonneg(int64_t v)
{
	return v < 0 ? 0 : v;
}

/* What summary.txt says of an incomplete profile: set when heap.pb.gz is written. */
static char incomplete_note[224];

/* Whether records were lost; if so, buf gets what that means for the profile of sites. */
static int incomplete(const ct_heap_site *sites, size_t n, char *buf, size_t len)
{
	ct_heap_agg_stats st;
	ct_heap_agg_get_stats(agg, &st);
	ct_heap_hooks_stats hs;
	ct_heap_hooks_get_stats(&hs);
	uint64_t lost = st.gaps > hs.emit_failed ? st.gaps : hs.emit_failed;
	if (!lost && !agg_errors)
		return 0;
	int64_t objs = 0, bytes = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t o, b;
		ct_heap_unsample(sites[i].unknown_objects, sites[i].unknown_bytes, heap_rate, &o,
				 &b);
		objs += o;
		bytes += b;
	}
	snprintf(buf, len,
		 "%llu heap records lost (ring full)%s; %lld objects (%lld bytes) allocated "
		 "before a loss and not seen freed are not counted as in use",
		 (unsigned long long)lost, agg_errors ? ", aggregation errors" : "",
		 (long long)objs, (long long)bytes);
	return 1;
}

const char *ct_heap_incomplete(void)
{
	return bypass_note[0] ? bypass_note : incomplete_note;
}

/* One profile: alloc_* from every site, inuse_* now (or at the peak); NULL on ENOMEM. */
static ct_profile *build_profile(const char *name, const ct_heap_site *sites, size_t n, bool peak)
{
	ct_profile *p = ct_out_profile_new();
	if (!p)
		return NULL;
	if (ct_profile_add_sample_type(p, "alloc_objects", "count") < 0 ||
	    ct_profile_add_sample_type(p, "alloc_space", "bytes") < 0 ||
	    ct_profile_add_sample_type(p, "inuse_objects", "count") < 0 ||
	    ct_profile_add_sample_type(p, "inuse_space", "bytes") < 0)
		goto err;
	p->period_type.type = ct_profile_str(p, "space");
	p->period_type.unit = ct_profile_str(p, "bytes");
	p->period = (int64_t)heap_rate;
	ct_heap_agg_stats st;
	ct_heap_agg_get_stats(agg, &st);
	ct_heap_hooks_stats hs;
	ct_heap_hooks_get_stats(&hs);
	char c[320];
	char how[128];
	if (hs.direct)
		snprintf(how, sizeof how,
			 "frees matched by the collector, %llu of unknown blocks, %llu waits for "
			 "a full ring",
			 (unsigned long long)st.unknown_frees,
			 (unsigned long long)ct_heap_ring_waits());
	else
		snprintf(how, sizeof how,
			 "%llu blocks untracked (table full, grown to level %u of %u)",
			 (unsigned long long)hs.untracked, hs.level + 1, hs.nlevels);
	snprintf(c, sizeof c,
		 "ctrace heap: rate %llu bytes; %llu sampled events; %llu lost (ring full), "
		 "%llu applied out of order, %s",
		 (unsigned long long)heap_rate, (unsigned long long)st.events,
		 (unsigned long long)(hs.emit_failed + agg_errors), (unsigned long long)st.late,
		 how);
	ct_profile_add_comment(p, c);
	char inc[sizeof incomplete_note];
	if (incomplete(sites, n, inc, sizeof inc)) {
		snprintf(c, sizeof c, "%s%s", CT_HEAP_INCOMPLETE, inc);
		ct_profile_add_comment(p, c);
		if (!peak)
			memcpy(incomplete_note, inc, sizeof inc);
	}
	ct_stackcache_stats_t sc;
	ct_stackcache_stats(&sc);
	snprintf(c, sizeof c,
		 "ctrace heap stacks: %llu from the stack cache, %llu cursor walks, %llu cache "
		 "mismatches (counted under CTRACE_STACK_VERIFY=1)",
		 (unsigned long long)sc.hits, (unsigned long long)sc.walks,
		 (unsigned long long)sc.mismatches);
	ct_profile_add_comment(p, c);
	if (peak) {
		double at = st.peak_time > heap_start_ns ? (st.peak_time - heap_start_ns) / 1e9 : 0;
		snprintf(c, sizeof c,
			 "ctrace heap peak: %lld bytes in use (estimated) at %.3f s after start",
			 (long long)st.peak_est, at);
		ct_profile_add_comment(p, c);
	}
	for (size_t i = 0; i < n; i++) {
		const ct_heap_site *s = &sites[i];
		int64_t v[4];
		ct_heap_unsample(s->alloc_objects, s->alloc_bytes, heap_rate, &v[0], &v[1]);
		ct_heap_unsample(nonneg(peak ? s->peak_objects : s->inuse_objects),
				 nonneg(peak ? s->peak_bytes : s->inuse_bytes), heap_rate, &v[2],
				 &v[3]);
		if (!v[0] && !v[1] && !v[2] && !v[3] && !s->alloc_objects)
			continue;
		/* Block size; a per-stack site (rate 1) has its average. */
		ct_label l = {.key = "bytes",
			      .num = s->size		? (int64_t)s->size
				     : s->alloc_objects ? s->alloc_bytes / s->alloc_objects
							: 0};
		if (ct_out_add_stack(p, s->stack, v, &l, 1) < 0)
			goto err;
	}
	return p;
err:
	ct_log("heap: cannot build %s", name);
	ct_profile_free(p);
	return NULL;
}

static void write_profile(const char *name, const ct_heap_site *sites, size_t n, bool peak)
{
	ct_profile *p = build_profile(name, sites, n, peak);
	if (p)
		ct_out_write(p, name);
	else
		ct_out_fail(name, "out of memory building it");
}

ct_profile *ct_heap_profile_now(void)
{
	if (!agg)
		return NULL;
	size_t n;
	const ct_heap_site *sites = ct_heap_agg_sites(agg, &n);
	return build_profile(CT_FILE_HEAP, sites, sites ? n : 0, false);
}

static void heap_finish(void)
{
	ct_heap_hooks_stop();
	if (!agg)
		return;
	final_drain = 1;
	heap_tick(ct_now());
	if (holds)
		ct_log("heap: %llu waits for a late event's sequence number",
		       (unsigned long long)holds);
	ct_heap_hooks_stats hs;
	ct_heap_hooks_get_stats(&hs);
	if (ct_heap_agg_end(agg, hs.seq_end) < 0)
		agg_errors++;
	size_t n;
	const ct_heap_site *sites = ct_heap_agg_sites(agg, &n);
	if (!sites)
		return;
	write_profile(CT_FILE_HEAP, sites, n, false);
	write_profile(CT_FILE_HEAP_PEAK, sites, n, true);
	ct_heap_agg_free(agg);
	agg = NULL;
}

static const ct_subscription heap_subs[] = {
	{CT_EV_HEAP_ALLOC, heap_on_event},
	{CT_EV_HEAP_FREE, heap_on_event},
	{CT_EV_HEAP_UNTRACKED, heap_on_event},
	{CT_EV_HEAP_ALLOC_AT, heap_on_event},
	{CT_EV_HEAP_FREE_AT, heap_on_event},
	{CT_EV_HEAP_NONE, heap_on_event},
	{0, NULL},
};

CT_SOURCE(heap_source) = {
	.name = "heap",
	.mode = CT_MODE_HEAP,
	.subs = heap_subs,
	.start = heap_start,
	.finish = heap_finish,
	.tick = heap_tick,
};
