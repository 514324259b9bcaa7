/*
 * profdelta.h — the difference of two profiles of one process taken at two moments, as
 * Go's net/http/pprof serves `?seconds=N` (its profile.Merge of the later profile with the
 * earlier one scaled by -1).
 *
 * Samples are matched by what identifies them across two profiles built independently:
 * the addresses of their locations (or, for an address-less location, its first
 * function's name) and their labels. Location and mapping indexes may differ.
 *
 * Thread-safety: none; both profiles belong to the caller's thread.
 */
#ifndef CT_PROFDELTA_H
#define CT_PROFDELTA_H

#include "libtrace/profile.h"

/* Subtracts from each sample of cur the values of base's samples with the same stack and
 * labels (base's total for that key is taken once, from the first such sample of cur),
 * then drops the samples of cur whose values are all zero, and the comments of cur that
 * base does not have word for word (counts over the whole run so far, which say nothing of
 * the difference). Both must have the same sample types. 0, -EINVAL (different sample
 * types) or -ENOMEM. */
int ct_profile_subtract(ct_profile *cur, const ct_profile *base);

#endif
