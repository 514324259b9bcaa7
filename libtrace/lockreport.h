/*
 * lockreport.h — the text report of lock contention and blocking.
 *
 * Joins a mutex profile (delay charged to the stacks that held the locks) and a block
 * profile (time charged to the stacks that waited, labelled with a `reason`) into what
 * mutrace prints: a table of the contended locks — address, kind, contentions, total and
 * longest wait, the delay their holders caused — each followed by its top holder stacks
 * and waiting sites, then the blocking time per reason (mutex, rwlock, spin, sem, cond,
 * join, net, sleep) with its top waiting sites.
 *
 * It reads the labels ctrace's agent writes (`lock`, `reason`, `max_wait`); profiles
 * without them (Go's, for instance) still report, with every sample under one lock "-"
 * or reason "-". Works on symbolized and unsymbolized profiles (frames then print as
 * addresses).
 *
 * Thread-safety: none needed; reads its arguments only.
 */
#ifndef CT_LOCKREPORT_H
#define CT_LOCKREPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "libtrace/profile.h"

/* Writes the report to out. Either profile may be NULL (its sections are skipped); top
 * bounds the tables of locks and of reasons and the sites shown per reason (<= 0 means
 * 10); each lock shown gets its 3 heaviest holder and waiting stacks. Rows are found by
 * a hash of their label, so a profile of many distinct labels costs linear time.
 * 0, -EINVAL when both are NULL or one given has no `delay` sample type (not a mutex or
 * block profile), -ENOMEM, or -EIO when writing failed. */
int ct_lock_report(FILE *out, const ct_profile *mutex, const ct_profile *block, int top);

/* Whether p reads as a block profile (waits, charged to the waiting stack) rather than a
 * mutex profile (charged to the holder): its samples carry a reason label (ctrace's), or,
 * for a profile without labels (Go's), name's base name says "block". */
bool ct_lock_is_block(const ct_profile *p, const char *name);

#endif
