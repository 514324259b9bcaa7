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

void ct_forkguard_enter(void);
void ct_forkguard_exit(void);

#endif
