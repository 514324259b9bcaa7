/*
 * tid.h — how the agent learns the calling thread's kernel thread id (agent.h: ct_gettid)
 * without a system call per thread: see tid.c.
 */
#ifndef CT_TID_H
#define CT_TID_H

/* The constructor, on the main thread, before any other thread asks: learns where glibc
 * keeps a thread's tid in its descriptor. */
void ct_tid_init(void);

/* A forked child's handler, on its only thread: forgets the parent's cached tid. */
void ct_tid_forked(void);

#endif
