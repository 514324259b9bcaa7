/* safefile.c — output files written to an O_EXCL|O_NOFOLLOW temporary and renamed into
 * place, and input files opened only when regular (safefile.h). */
#include "libtrace/safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ct_safefile_open(ct_safefile *sf, const char *path)
{
	static unsigned counter;
	sf->f = NULL;
	sf->direct = 0;
	if (snprintf(sf->path, sizeof(sf->path), "%s", path) >= (int)sizeof(sf->path))
		return -ENAMETOOLONG;
	for (int attempt = 0; attempt < 16; attempt++) {
		unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
		snprintf(sf->tmp, sizeof(sf->tmp), "%s.tmp.%ld.%u", path, (long)getpid(), n);
		int fd = open(sf->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0 && errno == EEXIST)
			continue; /* a stale file from a recycled pid, or a planted one */
		if (fd < 0)
			return -errno;
		sf->f = fdopen(fd, "w");
		if (!sf->f) {
			int e = errno;
			close(fd);
			unlink(sf->tmp);
			return -e;
		}
		return 0;
	}
	return -EEXIST;
}

/* The names of an fd the process holds: /dev/stdout, /dev/fd/N, /proc/self/fd/N. */
static bool names_own_fd(const char *path)
{
	static const char *const pre[] = {"/dev/fd/", "/proc/self/fd/", "/dev/stdout",
					  "/dev/stderr"};
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (strncmp(path, pre[i], strlen(pre[i])) == 0)
			return true;
	return false;
}

int ct_safefile_open_named(ct_safefile *sf, const char *path)
{
	struct stat st, lst;
	if (lstat(path, &lst) != 0 || (S_ISLNK(lst.st_mode) && !names_own_fd(path)))
		return ct_safefile_open(sf, path); /* new, or a symlink: replaced */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;
	if (stat(path, &st) != 0 || (S_ISREG(st.st_mode) && !names_own_fd(path)))
		return ct_safefile_open(sf, path);
	sf->direct = 1; /* a device, a FIFO, a socket, an fd of ours: written in place */
	sf->tmp[0] = 0;
	if (snprintf(sf->path, sizeof(sf->path), "%s", path) >= (int)sizeof(sf->path))
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (!(sf->f = fdopen(fd, "w"))) {
		int e = errno;
		close(fd);
		return -e;
	}
	return 0;
}

int ct_safefile_close(ct_safefile *sf, int rc)
{
	if (!sf->f)
		return rc ? rc : -EBADF;
	if (fflush(sf->f) != 0 && !rc)
		rc = -errno;
	if (fclose(sf->f) != 0 && !rc)
		rc = -errno;
	sf->f = NULL;
	if (sf->direct)
		return rc;
	if (!rc && rename(sf->tmp, sf->path) != 0)
		rc = -errno;
	if (rc)
		unlink(sf->tmp);
	return rc;
}

int ct_open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	int e = 0;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else if (fcntl(fd, F_SETFL, 0) < 0) /* reads block as usual (none do on a file) */
		e = errno;
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
