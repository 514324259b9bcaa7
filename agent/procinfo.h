/*
 * procinfo.h — what the agent notes about the process beyond its samples, for the output
 * directory: threads made with a raw clone() (which the timer engine does not sample and
 * the thread hooks never see), and the perf map a JIT published (/tmp/perf-<pid>.map).
 */
#ifndef CT_AGENT_PROCINFO_H
#define CT_AGENT_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

/* Threads the program made with clone(CLONE_THREAD) itself, not through pthread_create. */
uint64_t ct_raw_clone_threads(void);
/* Appends to summary.txt's warning (buf, NUL-terminated) what those threads miss. */
void ct_raw_clone_warning(char *buf, size_t len);
/* Every part's warning for summary.txt, appended to buf in turn. */
void ct_warnings_all(char *buf, size_t len);
/* At exit: copies /tmp/perf-<pid>.map, if the process published one (a regular file of
 * ours), into the output directory as perf-<pid>.map, where the symbolizer finds it. */
void ct_perfmap_copy(void);
/* The first of sigs whose action is really handler (the agent's, which the program left
 * at its default) that was sent to the process and waits for a thread to take it, while a
 * thread leaves it unblocked (that thread takes it at its next turn): without the handler
 * the kernel would have ended the process as it was sent. 0 when none. Reads /proc (one
 * file when nothing is pending): not in a signal handler, and under the agent's guard. */
int ct_sig_pending_fatal(const int *sigs, size_t n, void (*handler)(int));
/* The process's command line (arguments joined by spaces) into buf, for summary.txt and
 * DIR/.children: 0 if unknown. */
int ct_read_command(char *buf, size_t len);
/* The constructor could not start the agent: what failed (e.g. "its rings") and why (a
 * negative errno) into the summary's reason, with the address-space limit when one is set
 * (`ulimit -v`: the agent's rings and threads need more than the program's first pages). */
void ct_start_failed(const char *what, int err);

#endif
