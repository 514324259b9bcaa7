/*
 * cmp.h — three-way comparison of unsigned keys, for qsort comparators: -1, 0 or 1 as a is
 * below, equal to or above b; ct_cmp_u64_2 orders by a first key, then a second on a tie.
 * Swapping a comparison's two sides sorts that key in descending order.
 *
 * Thread-safety: none needed (pure functions).
 */
#ifndef CT_CMP_H
#define CT_CMP_H

#include <stdint.h>

static inline int ct_cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* (a1, a2) against (b1, b2): the first keys, then the second ones. */
static inline int ct_cmp_u64_2(uint64_t a1, uint64_t b1, uint64_t a2, uint64_t b2)
{
	return a1 != b1 ? ct_cmp_u64(a1, b1) : ct_cmp_u64(a2, b2);
}

#endif
