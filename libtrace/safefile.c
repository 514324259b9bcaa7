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

/* The stream over sf->fd: each failed write's errno is kept (sf->werr), so that a writer
 * that saw only ferror (EIO) learns at the close why (ENOSPC, EFBIG, EPIPE). */
static ssize_t sf_write(void *c, const char *buf, size_t n)
{
	ct_safefile *sf = c;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(sf->fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			sf->werr = w < 0 ? errno : EIO;
			return done ? (ssize_t)done : -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static int sf_close(void *c)
{
	ct_safefile *sf = c;
	return close(sf->fd);
}

/* sf->f over fd (which it owns from now on, closed on failure). 0 or -errno. */
static int sf_stream(ct_safefile *sf, int fd)
{
	sf->fd = fd;
	sf->werr = 0;
	cookie_io_functions_t io = {.write = sf_write, .close = sf_close};
	sf->f = fopencookie(sf, "w", io);
	if (sf->f)
		return 0;
	int e = errno;
	close(fd);
	return -e;
}

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
		int rc = sf_stream(sf, fd);
		if (rc)
			unlink(sf->tmp);
		return rc;
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

/* How ct_safefile_open_named writes path: through a temporary renamed over it (new, a
 * regular file, a symlink that names no fd of ours), in place (a device, a FIFO, an fd of
 * ours), or not at all (a directory). */
enum { SF_REPLACE, SF_IN_PLACE, SF_DIR };

static int named_kind(const char *path)
{
	struct stat st, lst;
	bool own = names_own_fd(path);
	if (lstat(path, &lst) != 0 || (S_ISLNK(lst.st_mode) && !own) || stat(path, &st) != 0)
		return SF_REPLACE;
	if (S_ISDIR(st.st_mode))
		return SF_DIR;
	return S_ISREG(st.st_mode) && !own ? SF_REPLACE : SF_IN_PLACE;
}

bool ct_safefile_in_place(const char *path)
{
	return named_kind(path) == SF_IN_PLACE;
}

int ct_safefile_open_named(ct_safefile *sf, const char *path)
{
	int kind = named_kind(path);
	if (kind == SF_DIR)
		return -EISDIR;
	if (kind == SF_REPLACE)
		return ct_safefile_open(sf, path);
	sf->direct = 1; /* a device, a FIFO, a socket, an fd of ours: written in place */
	sf->tmp[0] = 0;
	if (snprintf(sf->path, sizeof(sf->path), "%s", path) >= (int)sizeof(sf->path))
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : sf_stream(sf, fd);
}

int ct_safefile_close(ct_safefile *sf, int rc)
{
	if (!sf->f)
		return rc ? rc : -EBADF;
	if (fflush(sf->f) != 0 && !rc)
		rc = -EIO;
	if (fclose(sf->f) != 0 && !rc)
		rc = -errno;
	if (rc == -EIO && sf->werr) /* a writer saw ferror; the write said why */
		rc = -sf->werr;
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
