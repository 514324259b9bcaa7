/*
 * forkguard.h — sections of agent code that a fork must not cut through.
 *
 * A lock that another thread holds when the process forks stays locked forever in the
 * child. The agent's own locks are reset by its atfork handlers, but libunwind's (its
 * memory pools, its caches) and glibc's dl_iterate_phdr lock are not, and the agent uses
 * both in every child. Code that runs them is bracketed by ct_forkguard_enter/exit; a
 * fork waits (at most 2 s) until no thread is inside such a section, and holds new
 * entries back meanwhile. Nesting is allowed. Not for signal handlers.
 */
#ifndef CT_AGENT_FORKGUARD_H
#define CT_AGENT_FORKGUARD_H

#include <stddef.h>

void ct_forkguard_enter(void);
/* ct_forkguard_enter for the hooks' stack captures: 0, entering nothing, while a fork is
 * under way, rather than a wait. A hook's thread may hold a lock of the program (an unlock
 * hook captures before the real unlock) that a fork handler after the agent's takes
 * (an allocator preloaded after the agent, as jemalloc is): it waited for the fork, the
 * fork for it. The forking thread itself always enters. 1 when entered. */
int ct_forkguard_try_enter(void);
void ct_forkguard_exit(void);

/* A table a forked child starts afresh (only the forking thread is left in it), page
 * aligned and a whole number of pages long: marked MADV_WIPEONFORK, the fork gives the
 * child zero pages for it, where the child's memset copied every page the parent had
 * written (~100 page faults, ~1 ms, per forked child). Returns 1 when so marked, 0 when
 * the child must still clear it (a kernel before 4.14, or a table not so laid out). */
#define CT_PAGE_ALIGNED __attribute__((aligned(4096)))
int ct_fork_fresh(void *table, size_t len);

#endif
