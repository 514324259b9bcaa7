/*
 * stacksort.h — sorting stacks (arrays of small integers, root first) into the order a
 * call tree lists its paths: root-first lexicographic, a stack before the stacks it is a
 * prefix of. The report tree (report.h) reads its pre-order nodes off that order.
 *
 * Thread-safety: none needed; touches only its arguments. Not async-signal-safe.
 */
#ifndef CT_STACKSORT_H
#define CT_STACKSORT_H

#include <stddef.h>
#include <stdint.h>

/* Sorts the ns stacks stored back to back in seq (stack k is seq[soff[k] .. soff[k + 1]),
 * each element < nf): order[i] gets the index of the i-th stack in order, lcp[i] how many
 * elements it shares with the stack before it (lcp[0] = 0). order and lcp hold ns
 * entries. 0 or -ENOMEM. */
int ct_stacks_sort(const uint32_t *seq, const size_t *soff, uint32_t ns, uint32_t nf,
		   uint32_t *order, uint32_t *lcp);

#endif
