/*
 * httpunix.c — the live server's unix socket file (CTRACE_HTTP=unix:PATH). A socket file
 * left by a server that is gone (stale: a connection is refused) is replaced; one that a
 * server listens on is refused with EADDRINUSE, as a TCP port in use is — it used to be
 * taken over, and removed at exit under the other server. At exit only the file this
 * process bound is removed (same device and inode), not one put there since.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/http.h"

static dev_t bound_dev; /* the socket file bound: written once, before the server starts */
static ino_t bound_ino;

/* Whether a server listens on un: a connection is accepted, queued, or refused for a full
 * queue (EAGAIN). A stale socket file refuses it (ECONNREFUSED). */
static int in_use(const struct sockaddr_un *un)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 1;
	int r = connect(fd, (const struct sockaddr *)un, sizeof(*un)), err = errno;
	close(fd);
	return r == 0 || (err != ECONNREFUSED && err != ENOENT);
}

int ct_http_unix_bind(int fd, const char *path)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	if (!*path || strlen(path) >= sizeof(un.sun_path))
		return -ENAMETOOLONG;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (in_use(&un))
			return -EADDRINUSE;
		unlink(path);
	}
	/* umask around bind: mode 0600 from the file's creation on (the constructor runs
	 * before the program's threads, which could otherwise see the umask changed). */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (r < 0 || lstat(path, &st) < 0)
		return -errno;
	bound_dev = st.st_dev;
	bound_ino = st.st_ino;
	return 0;
}

void ct_http_unix_remove(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && st.st_dev == bound_dev && st.st_ino == bound_ino)
		unlink(path);
}
