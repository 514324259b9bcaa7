/*
 * lastthread.h — ends the process when the program's last thread ends without exit()
 * (agent/lastthread.c): glibc's exit(0) would wait for the agent's threads forever.
 */
#ifndef CT_AGENT_LASTTHREAD_H
#define CT_AGENT_LASTTHREAD_H

/* In the constructor, on the main thread: the key, and main counted. */
void ct_lt_init(void);

/* A program thread started (in its trampoline). */
void ct_lt_started(void);

/* In a forked child: the forking thread is the only one. */
void ct_lt_fork_child(void);

#endif
