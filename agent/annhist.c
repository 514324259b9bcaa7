/*
 * annhist.c — the label timeline: for every thread, when its label set changed (the
 * CT_EV_ANN_LABEL records annotate.c emits while the CPU mode records), so that the CPU
 * source can tell which labels a thread had when it was sampled (ct_ann_labels_at).
 *
 * A record is a change (the set from its time on) or, under the perf engine's signal
 * (labelsig.c), an observation: the set read right after one sample (ct_ann_labels_at).
 *
 * Records reach the collector out of order across rings (a thread migrates between CPUs'
 * rings), so each thread's changes are kept sorted by time. Old changes are dropped at
 * each tick: those more than KEEP_NS behind the newest time seen, except the last of
 * them, which still tells what the thread had since. The CPU source looks samples up one
 * drain after it received them, far inside that window. A thread's end (CT_EV_THREAD_END)
 * is a change to no labels, so a reused tid starts clean.
 *
 * Thread-safety: collector thread only. Memory from malloc (the collector's guard is set).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/ann.h"

enum { KEEP_NS = 2000000000, THREAD_CAP = 1 << 16 };

typedef struct {
	uint64_t time;
	uint32_t set;
	uint32_t observed; /* CT_ANN_OBSERVED: the set at the sample just before time */
} change;

typedef struct {
	uint32_t tid; /* 0: free slot */
	uint32_t n, cap;
	change *ch;
} thread_hist;

static thread_hist *threads; /* open addressing by tid, at most half full */
static size_t nthreads, cap_threads;
static uint64_t newest;
static int seen;

_Atomic int ct_ann_pushed;

int ct_ann_labels_seen(void)
{
	return seen || atomic_load_explicit(&ct_ann_pushed, memory_order_relaxed);
}

static thread_hist *find(uint32_t tid, int create)
{
	if (create && (nthreads + 1) * 2 > cap_threads) {
		size_t ncap = cap_threads ? cap_threads * 2 : 64;
		thread_hist *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t i = 0; i < cap_threads; i++) {
			if (!threads[i].tid)
				continue;
			size_t j = threads[i].tid * 2654435761u % ncap;
			while (nt[j].tid)
				j = (j + 1) % ncap;
			nt[j] = threads[i];
		}
		free(threads);
		threads = nt;
		cap_threads = ncap;
	}
	if (!cap_threads)
		return NULL;
	size_t j = tid * 2654435761u % cap_threads;
	while (threads[j].tid && threads[j].tid != tid)
		j = (j + 1) % cap_threads;
	if (threads[j].tid)
		return &threads[j];
	if (!create)
		return NULL;
	threads[j].tid = tid;
	nthreads++;
	return &threads[j];
}

/* Inserts a change in time order. A thread past THREAD_CAP changes since the last prune
 * loses its oldest half (samples that old would get the wrong labels; none are that old). */
static int add_change(uint32_t tid, uint64_t time, uint32_t set, uint32_t observed)
{
	thread_hist *t = find(tid, 1);
	if (!t)
		return -ENOMEM;
	if (t->n == THREAD_CAP) {
		memmove(t->ch, t->ch + THREAD_CAP / 2, (THREAD_CAP / 2) * sizeof(change));
		t->n = THREAD_CAP / 2;
	}
	if (t->n == t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 16;
		change *nc = realloc(t->ch, ncap * sizeof(change));
		if (!nc)
			return -ENOMEM;
		t->ch = nc;
		t->cap = ncap;
	}
	uint32_t i = t->n;
	while (i > 0 && t->ch[i - 1].time > time) {
		t->ch[i] = t->ch[i - 1];
		i--;
	}
	t->ch[i] = (change){.time = time, .set = set, .observed = observed};
	t->n++;
	if (time > newest)
		newest = time;
	return 0;
}

/* Two kinds of entries (ann.h, CT_ANN_OBSERVED): a change holds from its time on; an
 * observation was read right after one sample of the thread (the perf engine's signal),
 * with no code of the thread run in between, so it is exactly that sample's set. A sample
 * therefore takes the first entry after it when that is an observation (its own), and
 * otherwise the last entry at or before it. */
uint32_t ct_ann_labels_at(uint32_t tid, uint64_t time)
{
	thread_hist *t = find(tid, 0);
	if (!t || !t->n)
		return 0;
	uint32_t lo = 0, hi = t->n; /* the first entry after time is at hi, in [lo, hi] */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->ch[mid].time <= time)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (hi < t->n && t->ch[hi].observed)
		return t->ch[hi].set;
	return hi ? t->ch[hi - 1].set : 0;
}

static void on_label(const ct_event *ev)
{
	uint32_t rec[2]; /* the set, and CT_ANN_OBSERVED or 0 */
	if (!ct_event_get(ev, rec, sizeof(rec)))
		return;
	seen = 1;
	add_change(ev->tid, ev->time, rec[0], rec[1] == CT_ANN_OBSERVED);
}

static void on_thread_end(const ct_event *ev)
{
	if (seen && find(ev->tid, 0))
		add_change(ev->tid, ev->time, 0, 0);
}

/* Drops changes older than KEEP_NS before the newest one, keeping the last of them. */
static void hist_tick(uint64_t now)
{
	(void)now;
	if (!seen || newest < KEEP_NS)
		return;
	uint64_t cut = newest - KEEP_NS;
	for (size_t i = 0; i < cap_threads; i++) {
		thread_hist *t = &threads[i];
		uint32_t k = 0;
		while (k + 1 < t->n && t->ch[k + 1].time < cut)
			k++;
		if (k) {
			memmove(t->ch, t->ch + k, (t->n - k) * sizeof(change));
			t->n -= k;
		}
	}
}

static void hist_reset(void)
{
	for (size_t i = 0; i < cap_threads; i++)
		free(threads[i].ch);
	free(threads);
	threads = NULL;
	nthreads = cap_threads = 0;
	newest = 0;
	seen = 0;
}

static const ct_subscription hist_subs[] = {
	{CT_EV_ANN_LABEL, on_label},
	{CT_EV_THREAD_END, on_thread_end},
	{0, NULL},
};

CT_SOURCE(ann_hist_source) = {
	.name = "labels",
	.mode = CT_MODE_CPU,
	.subs = hist_subs,
	.tick = hist_tick,
	.fork_child = hist_reset,
};
