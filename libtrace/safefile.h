/*
 * safefile.h — creating an output file so that nothing already at its path is followed or
 * overwritten in place: the data goes to a temporary name next to it, created with
 * O_CREAT|O_EXCL|O_NOFOLLOW (a planted file or symlink makes the open fail instead of
 * redirecting the write), and is renamed over the path only when complete. A reader never
 * sees a half-written file, and a symlink at the path is replaced, never written through
 * (ct_safefile_open_named, for a path the user named, writes into devices and FIFOs).
 *
 * Thread-safety: each ct_safefile is used by one thread; temporary names are unique per
 * process and call. Not async-signal-safe (stdio).
 */
#ifndef CT_SAFEFILE_H
#define CT_SAFEFILE_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
	FILE *f;	 /* write here */
	char path[4096]; /* final name */
	char tmp[4160];	 /* temporary name, removed on failure */
	int direct;	 /* ct_safefile_open_named: written in place, nothing to rename */
	int fd, werr;	 /* f's file, and the errno of its first failed write */
} ct_safefile;

/* Creates the temporary file for path (mode 0666 & ~umask). 0 or -errno (-ENAMETOOLONG,
 * or the open's errno). */
int ct_safefile_open(ct_safefile *sf, const char *path);

/* For a path the user named (a report's OUT): as ct_safefile_open, except that a path that
 * is itself a device, a FIFO or another file that is not regular (/dev/null, a FIFO made
 * with mkfifo), or that names an fd of the process (/dev/stdout, /dev/fd/N, a shell's
 * process substitution), is written in place, as a shell's '>' would, never replaced. A
 * symlink elsewhere is replaced, as a planted one must be. 0 or -errno (-EISDIR for a
 * directory). */
int ct_safefile_open_named(ct_safefile *sf, const char *path);
/* Whether ct_safefile_open_named writes path in place (a device, a FIFO, an fd of ours):
 * such a name need not end in the format's extension. */
bool ct_safefile_in_place(const char *path);

/* Finishes the file: when rc is 0 it is flushed, closed and renamed to its path; else (or
 * when that fails) the temporary file is removed. Returns rc, or the first -errno of the
 * close or rename. */
int ct_safefile_close(ct_safefile *sf, int rc);

/* Opens path for reading only when it is a regular file (O_RDONLY | O_CLOEXEC): a path
 * that a file being read names (a profile's mapping, a trace's module, a perf map) may be
 * a FIFO or a device, whose open or read would block for ever, so it is opened without
 * blocking and refused unless fstat shows a regular file. The descriptor, or -1 with errno
 * set (EINVAL: not a regular file). */
int ct_open_regular(const char *path);

#endif
