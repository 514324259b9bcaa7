/*
 * tracewrite_sort.c — the trace writer's sort of a thread's batch before it is encoded
 * (events are delta-encoded by time, so a batch is written in time order; ties keep the
 * order events arrived in). Shaped for how batches arrive: a few long runs in order that
 * overlap little, not random data.
 */
#include <stdbool.h>
#include <string.h>

#include "libtrace/tracewrite_impl.h"

/* Whether x is written after y: later, or at the same time and arrived later. */
static inline bool ev_after(const tw_ev *x, const tw_ev *y)
{
	return x->t > y->t || (x->t == y->t && x->seq > y->seq);
}

/* The end of the run of events in order that starts at i (i < n). */
static size_t run_end(const tw_ev *ev, size_t i, size_t n)
{
	while (++i < n && !ev_after(&ev[i - 1], &ev[i]))
		;
	return i;
}

/* Merges a[0, na) and b[0, nb), both in order, into out: on a tie, a's event first. out
 * may be b - na (a copied out of the way first): a write never overtakes b's next read. */
static void merge_runs(const tw_ev *a, size_t na, const tw_ev *b, size_t nb, tw_ev *out)
{
	size_t i = 0, j = 0, k = 0;
	while (i < na && j < nb)
		out[k++] = ev_after(&a[i], &b[j]) ? b[j++] : a[i++];
	memcpy(out + k, a + i, (na - i) * sizeof(*a));
	memmove(out + k + (na - i), b + j, (nb - j) * sizeof(*b));
}

/* Adds the batch's runs to its sorted prefix one at a time, each merged with only the
 * part of the prefix it overlaps (found by binary search). A batch is a few long runs in
 * order that overlap little — each drain of the collector appends a thread's perf records,
 * then its hook records (a wait dated by its start, which may precede the drain before) —
 * so this moves each event about once. false, leaving ev a permutation of what it was,
 * when the overlaps would cost more than a few passes over the batch. */
static bool sort_by_runs(tw_ev *ev, size_t n, tw_ev *tmp)
{
	size_t sorted = run_end(ev, 0, n), work = 0;
	while (sorted < n) {
		size_t end = run_end(ev, sorted, n), lo = 0, hi = sorted;
		while (lo < hi) { /* the first prefix event written after ev[sorted] */
			size_t mid = lo + (hi - lo) / 2;
			if (ev_after(&ev[mid], &ev[sorted]))
				hi = mid;
			else
				lo = mid + 1;
		}
		work += end - lo;
		if (work > 4 * n)
			return false;
		memcpy(tmp, ev + lo, (sorted - lo) * sizeof(*ev));
		merge_runs(tmp, sorted - lo, ev + sorted, end - sorted, ev + lo);
		sorted = end;
	}
	return true;
}

/* Sorts a batch by time, ties in arrival order, without qsort's log2(n) passes and
 * indirect call per comparison (they were half the collector's time on a program that
 * switches context all the time): sort_by_runs, else a natural merge sort, whose passes
 * merge neighbouring runs (log2(runs) passes). tmp has room for n events. */
void ct_tw__sort_batch(tw_ev *ev, size_t n, tw_ev *tmp)
{
	if (n < 2 || sort_by_runs(ev, n, tmp))
		return;
	tw_ev *src = ev, *dst = tmp;
	while (run_end(src, 0, n) < n) {
		for (size_t i = 0; i < n;) {
			size_t mid = run_end(src, i, n);
			size_t end = mid < n ? run_end(src, mid, n) : n;
			merge_runs(src + i, mid - i, src + mid, end - mid, dst + i);
			i = end;
		}
		tw_ev *t = src;
		src = dst;
		dst = t;
	}
	if (src != ev)
		memcpy(ev, src, n * sizeof(*ev));
}
