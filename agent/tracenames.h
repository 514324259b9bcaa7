/*
 * tracenames.h — the names the scheduler trace gives new threads without asking /proc.
 *
 * A thread starts with its creator's name (the kernel copies comm at clone). The trace
 * source used to read /proc/self/task/TID/comm for every new thread it wrote, on the
 * collector: an open, a read and a close for each — and for a thread that had already
 * ended, a failing path lookup in procfs — which a storm of short threads paid thousands
 * of times a second. So the collector keeps the names itself: the process's name (its
 * main thread's, read once from /proc when the trace opens) and a table of the threads
 * alive whose name differs from it (renamed by PERF_RECORD_COMM or the hooks'
 * CT_EV_THREAD_NAME, or born to such a thread). A new thread gets its creator's entry,
 * else the process's name. Renames are applied in the order the collector sees them, not
 * strictly in time (records of different rings): a thread created right after its creator
 * renamed itself may get the older name — /proc, read later, had the opposite race (a
 * name the new thread gave itself afterwards). When the table is full, the names of new
 * threads come from /proc again, for the rest of the run.
 *
 * Collector thread only (and the exit path after it stopped): no locking.
 */
#ifndef CT_TRACENAMES_H
#define CT_TRACENAMES_H

#include <stdbool.h>
#include <stdint.h>

/* Thread names are at most 15 bytes (the kernel's TASK_COMM_LEN), plus the terminator. */
#define CT_TN_LEN 16

/* Forgets every entry; name (truncated to 15 bytes) is the process's from now on. */
void ct_tn_reset(const char *name);

/* Thread tid is called name from now on. */
void ct_tn_set(uint32_t tid, const char *name);

/* Thread child was created by creator: copies the name child starts with to out (at least
 * CT_TN_LEN bytes) and remembers it, unless child already ended (then forgets it). While
 * the table is incomplete (it overflowed), the name comes from /proc instead, if child has
 * not ended (its /proc entry is gone then, or, its tid reused, another's). 1 when out
 * holds a name. */
int ct_tn_new_thread(uint32_t creator, uint32_t child, bool ended, char *out);

/* Thread tid's current name from /proc/self/task/TID/comm into name (CT_TN_LEN bytes): 1,
 * or 0 when it cannot be read. */
int ct_tn_read(uint32_t tid, char *name);

/* Thread tid ended: forgets it. */
void ct_tn_gone(uint32_t tid);

#endif
