/*
 * procfs.h — small reads of /proc files, shared by the agent and the CLI: no allocation and
 * no stdio, so the agent may read them on its exit path and from its server's threads.
 *
 * Thread-safety: none needed; each call uses its caller's buffer.
 */
#ifndef CT_PROCFS_H
#define CT_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* Reads the start of the file at path (at most len - 1 bytes) into buf, NUL-terminated
 * (buf[0] = 0 when it cannot be read). The byte count, or -1. */
long ct_procfs_read(const char *path, char *buf, size_t len);

/* The hexadecimal mask after key (a status file's "\nSigBlk:", "\nShdPnd:"); 0 when the
 * file or the key is not there. */
uint64_t ct_procfs_status_mask(const char *path, const char *key);

/* A stat file ("pid (comm) S ...") read into buf: its fields after the command, which may
 * hold spaces and parentheses — the state first. NULL when it cannot be read. */
const char *ct_procfs_stat_fields(const char *path, char *buf, size_t len);

#endif
