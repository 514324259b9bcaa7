/*
 * heapreport.h — the text report of a heap profile: totals, top allocation sites and
 * possible leaks.
 *
 * Reads a heap profile (sample types alloc_objects, alloc_space, inuse_objects,
 * inuse_space, as ctrace's agent and Go's runtime write them) and, optionally, the
 * matching heap-peak profile, and prints:
 *   - totals: allocated over the run, in use at exit, in use at the peak (objects and
 *     bytes, with the sampling period);
 *   - the top allocation sites by space and by count — a site is the first frame that is
 *     not the allocator itself (malloc, operator new, ...), so C and C++ read alike;
 *   - possible leaks: the stacks still holding memory at exit, heaviest first, each with
 *     its frames (function and file:line when symbolized, module+offset otherwise).
 *
 * Thread-safety: none needed; reads its arguments only.
 */
#ifndef CT_HEAPREPORT_H
#define CT_HEAPREPORT_H

#include <stdio.h>

#include "libtrace/profile.h"

/* The start of the comment a heap profile carries when its recording lost records (the
 * agent writes it; the report prints it): in use then counts only what is known to be. */
#define CT_HEAP_INCOMPLETE "ctrace heap: incomplete: "

/* Writes the report to out; an incomplete profile (CT_HEAP_INCOMPLETE) says so first.
 * heap is required; peak may be NULL (its line is skipped).
 * top bounds every list (<= 0 means 10). 0, -EINVAL when heap is NULL or not a heap
 * profile, -ENOMEM, or -EIO when writing failed. */
int ct_heap_report(FILE *out, const ct_profile *heap, const ct_profile *peak, int top);

#endif
