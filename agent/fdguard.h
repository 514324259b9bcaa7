/*
 * fdguard.h — the agent's own file descriptors, kept out of the program's way.
 *
 * Every long-lived fd the agent holds (the perf event fds, the trace stream, libunwind's
 * address-validation pipe) is adopted here: moved to a high number
 * (F_DUPFD_CLOEXEC below min(RLIMIT_NOFILE, 2048)), its identity remembered (st_dev and
 * st_ino; the event id for a perf fd, whose inode is shared by every anon-inode fd) and
 * checked again before the agent reads, writes, ioctls or closes it. The program's
 * close/dup2/dup3/close_range calls on those numbers behave as they would without the
 * agent (the number is not the program's: EBADF), and a dup2 onto one of them first
 * moves ours away. A program that closes ours behind our back (a raw syscall, glibc's
 * closefrom) makes the next check fail: the agent then forgets that fd without touching
 * the number, and reopens what it needs.
 *
 * Slots are small integers naming an adopted fd; ct_fdg_get returns its current number.
 * Everything here is async-signal-safe except ct_fdg_adopt and ct_fdg_patch_library.
 */
#ifndef CT_AGENT_FDGUARD_H
#define CT_AGENT_FDGUARD_H

#include <stddef.h>
#include <stdint.h>

enum { CT_FDG_FILE, CT_FDG_PERF };

/* Moves fd to a high number (closing the original) and adopts it: returns its slot, or
 * -errno (fd is then closed). The identity is fd's as given; a copy the program replaced
 * before the slot held it is never taken for ours (the slot's fd is -1 if none remains). kind
 * CT_FDG_PERF also remembers the perf event id. */
int ct_fdg_adopt(int fd, int kind);
/* The slot's fd number if it is still the one we adopted, else -1 (the slot is then
 * forgotten; the number, now the program's, is left alone). */
int ct_fdg_check(int slot);
/* The slot's fd number if it is still ours, held for a use (read, write, ioctl) until
 * ct_fdg_unpin; -1 (nothing held) if not. While any fd is held, the program's dup2/dup3
 * onto a number in our range waits, so the use never reaches a file the program put at
 * that number. Hold it briefly, and never across a wait on the program. */
int ct_fdg_pin(int slot);
void ct_fdg_unpin(void);
/* The slot's fd number without a check (-1 once forgotten): for poll sets. A poll on a
 * number the program's dup2 takes over meanwhile waits on the program's file, until its
 * timeout: keep that short while the program moves our fds (ct_fdg_last_move_ns). */
int ct_fdg_get(int slot);
/* When the program's dup2/dup3 last moved one of our fds to another number (ct_now), or 0. */
uint64_t ct_fdg_last_move_ns(void);
/* Closes the slot's fd if it is still ours, and frees the slot. */
void ct_fdg_release(int slot);
/* The slot holding fd when fd is still ours (checked), else -1. */
int ct_fdg_owned(int fd);
/* Routes a dlopen'ed library's own pipe2/read/write/syscall(SYS_write)/close/open through
 * the guard (libunwind's memory-validation pipe): its pipes are adopted, and it can read,
 * write or close only fds it opened. 0 or -errno. */
int ct_fdg_patch_library(void *handle);
/* How many fds the agent holds now. */
int ct_fdg_held(void);
/* Below this RLIMIT_NOFILE the agent's fds are a share of the program's worth saying. */
#define CT_FDG_FEW 256
/* Appends to buf (summary.txt's warning) the agent's share of a small RLIMIT_NOFILE. */
void ct_fdg_warning(char *buf, size_t len);

#endif
