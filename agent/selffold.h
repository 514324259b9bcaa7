/*
 * selffold.h — the agent's own frames in the program's CPU samples, folded into one
 * `[ctrace]` leaf.
 *
 * A CPU sample taken while a thread runs agent code (a hook recording a wait, libunwind
 * capturing a hook stack, the collector thread) would otherwise show dozens of agent
 * functions scattered through the program's profile. ct_selffold rewrites such a stack so
 * that the agent's cost is one honest frame, `[ctrace]`, under the program's call site:
 * - leaf-side frames in libctrace.so or the libunwind it loaded, together with the C
 *   library / vDSO functions they called (clock_gettime, memcpy, ...), become one
 *   `[ctrace]` frame (a function of that name inside libctrace.so, so that every
 *   symbolizer and viewer names it the same way);
 * - a hook's call of the real function it wraps (libc's epoll_wait under the agent's
 *   epoll_wait) is the program's time, and so is program code the agent calls (a thread's
 *   start routine under the agent's thread-start wrapper): there, and everywhere further
 *   from the leaf, the agent's frames are dropped, leaving the stack the program would
 *   have without the agent.
 * A real call is recognised by name: the C library function the hook called is one the
 * agent interposes. A program that loads libunwind itself shares the agent's copy, and its
 * own unwinding then counts as `[ctrace]`.
 *
 * Collector thread only (the module table and the name cache are its own).
 */
#ifndef CT_SELFFOLD_H
#define CT_SELFFOLD_H

#include <stdint.h>

/* Finds the agent's and libunwind's code and the symbol tables it needs. On the first fold. */
void ct_selffold_init(void);

/* Folds pcs[0..n) (innermost first, a CPU sample's exact leaf pc then return addresses)
 * in place as above; returns the new depth (>= 1 when n >= 1). */
int ct_selffold(uintptr_t *pcs, int n);

/* The pc the `[ctrace]` frame is written with (inside the function of that name). */
uintptr_t ct_selffold_pc(void);

#endif
