/*
 * exe.c — resolving the command `ctrace record` will run and checking that the agent can
 * load into it (exe.h). A program without PT_INTERP (statically linked, or static-pie) is
 * started by the kernel without the dynamic loader, so LD_PRELOAD is never read.
 */
#include "cli/exe.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libtrace/safefile.h"

static int is_exec_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int ct_exe_resolve(const char *cmd, char *out, size_t len)
{
	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return is_exec_file(out) ? 0 : -ENOENT;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	for (const char *p = path;; p++) {
		size_t n = strcspn(p, ":");
		/* an empty element means the current directory */
		if (snprintf(out, len, "%.*s%s%s", (int)n, n ? p : ".", "/", cmd) < (int)len &&
		    is_exec_file(out))
			return 0;
		p += n;
		if (!*p)
			return -ENOENT;
	}
}

/* Reads len bytes at off; 0 or -errno (-ENOEXEC when the file is shorter). */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -ENOEXEC;
}

int ct_exe_check_loadable(const char *path, char *why, size_t len)
{
	int fd = ct_open_regular(path); /* a FIFO is left to exec to refuse */
	if (fd < 0)
		return -errno;
	Elf64_Ehdr eh;
	int rc = read_at(fd, &eh, sizeof(eh), 0);
	if (rc || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		close(fd); /* a script, or something exec will judge */
		return 0;
	}
	Elf64_Ehdr self; /* ctrace and its agent are built for the same machine */
	int sfd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	bool same =
		sfd < 0 || read_at(sfd, &self, sizeof(self), 0) != 0 ||
		(eh.e_ident[EI_CLASS] == self.e_ident[EI_CLASS] && eh.e_machine == self.e_machine);
	if (sfd >= 0)
		close(sfd);
	if (!same) {
		close(fd);
		snprintf(why, len,
			 "built for another machine (ELF class %d, machine %d; the agent's: %d, "
			 "%d), "
			 "so the agent cannot load into it",
			 eh.e_ident[EI_CLASS], eh.e_machine, self.e_ident[EI_CLASS],
			 self.e_machine);
		return -ENOEXEC;
	}
	rc = -ENOEXEC;
	for (unsigned i = 0; i < eh.e_phnum && rc == -ENOEXEC; i++) {
		Elf64_Phdr ph;
		if (eh.e_phentsize != sizeof(ph) ||
		    read_at(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))))
			break;
		if (ph.p_type == PT_INTERP)
			rc = 0;
	}
	close(fd);
	if (rc)
		snprintf(why, len,
			 "statically linked (no PT_INTERP): the agent is an LD_PRELOAD library "
			 "and only the dynamic loader loads it, so nothing could be recorded");
	return rc;
}

int ct_exe_missing_interp(const char *path, char *what, size_t len)
{
	int fd = ct_open_regular(path);
	if (fd < 0)
		return 0;
	char interp[PATH_MAX] = "";
	const char *kind = NULL;
	char head[256];
	ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
	Elf64_Ehdr eh;
	if (n > 2 && head[0] == '#' && head[1] == '!') {
		head[n] = 0;
		const char *p = head + 2 + strspn(head + 2, " \t");
		snprintf(interp, sizeof(interp), "%.*s", (int)strcspn(p, " \t\n"), p);
		kind = "its interpreter '%s' (from its #! line) does not exist";
	} else if (read_at(fd, &eh, sizeof(eh), 0) == 0 &&
		   memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
		   eh.e_phentsize == sizeof(Elf64_Phdr)) {
		for (unsigned i = 0; i < eh.e_phnum && !kind; i++) {
			Elf64_Phdr ph;
			if (read_at(fd, &ph, sizeof(ph),
				    (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))))
				break;
			if (ph.p_type != PT_INTERP || ph.p_filesz == 0 ||
			    ph.p_filesz >= sizeof(interp) ||
			    read_at(fd, interp, ph.p_filesz, (off_t)ph.p_offset))
				continue;
			interp[ph.p_filesz] = 0;
			kind = "its dynamic loader '%s' (PT_INTERP) does not exist";
		}
	}
	close(fd);
	if (!kind || !*interp || access(interp, F_OK) == 0)
		return 0;
	snprintf(what, len, kind, interp);
	return 1;
}
