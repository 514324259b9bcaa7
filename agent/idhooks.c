/*
 * idhooks.c — a process that drops privileges can still write its profiles.
 *
 * Servers start as root and switch their workers to an unprivileged user (nginx, sshd,
 * postgres): after setuid the worker can no longer create files in the root-owned
 * folder the agent gave it, and its recording is lost at exit. So the set*id calls are
 * interposed: when the process runs as root and is about to switch to another user or
 * group, its output folder (created now if needed) is handed to the new uid/gid first.
 * capset is interposed too, for the capability drops that would defeat that (below).
 * The call itself, its return value and errno are the real ones.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "agent/agent.h"

int ct_own_folder(void)
{
	char tail[24];
	int n = snprintf(tail, sizeof(tail), "/%d", (int)getpid());
	size_t len = strlen(ct_cfg.out_dir);
	return len > (size_t)n && strcmp(ct_cfg.out_dir + len - (size_t)n, tail) == 0;
}

/* Hands the output folder to uid/gid ((uid_t)-1 / (gid_t)-1: unchanged) while we are
 * root. When the chown is refused (the process dropped CAP_CHOWN first), its own folder —
 * never the run's top folder — becomes writable by anyone with the sticky bit, as /tmp
 * is: the agent still creates its files there with O_EXCL | O_NOFOLLOW and renames them
 * into place, so no one else's file or symlink can redirect them, and the sticky bit keeps
 * others from removing or replacing them. Best effort: the program's call goes ahead
 * whatever happens here. */
static void hand_over(uid_t uid, gid_t gid)
{
	if (!ct_agent_active || geteuid() != 0 || (uid == 0 && gid == 0))
		return;
	if ((uid == (uid_t)-1 || uid == 0) && (gid == (gid_t)-1 || gid == 0))
		return;
	int saved = errno;
	int g = ct_tls_guard;
	ct_tls_guard = 1;
	if (ct_out_dir_create() == 0 &&
	    chown(ct_cfg.out_dir, uid == 0 ? (uid_t)-1 : uid, gid == 0 ? (gid_t)-1 : gid) < 0 &&
	    (!ct_own_folder() || chmod(ct_cfg.out_dir, 01777) < 0))
		ct_log("cannot hand %s to uid %d gid %d", ct_cfg.out_dir, (int)uid, (int)gid);
	ct_tls_guard = g;
	errno = saved;
}

#define REAL(name, type) ((type)ct_real(name))

CT_EXPORT int setuid(uid_t uid)
{
	hand_over(uid, (gid_t)-1);
	return REAL("setuid", int (*)(uid_t))(uid);
}

CT_EXPORT int seteuid(uid_t uid)
{
	hand_over(uid, (gid_t)-1);
	return REAL("seteuid", int (*)(uid_t))(uid);
}

CT_EXPORT int setreuid(uid_t r, uid_t e)
{
	hand_over(e != (uid_t)-1 ? e : r, (gid_t)-1);
	return REAL("setreuid", int (*)(uid_t, uid_t))(r, e);
}

CT_EXPORT int setresuid(uid_t r, uid_t e, uid_t s)
{
	hand_over(e != (uid_t)-1 ? e : r, (gid_t)-1);
	return REAL("setresuid", int (*)(uid_t, uid_t, uid_t))(r, e, s);
}

CT_EXPORT int setgid(gid_t gid)
{
	hand_over((uid_t)-1, gid);
	return REAL("setgid", int (*)(gid_t))(gid);
}

CT_EXPORT int setegid(gid_t gid)
{
	hand_over((uid_t)-1, gid);
	return REAL("setegid", int (*)(gid_t))(gid);
}

CT_EXPORT int setregid(gid_t r, gid_t e)
{
	hand_over((uid_t)-1, e != (gid_t)-1 ? e : r);
	return REAL("setregid", int (*)(gid_t, gid_t))(r, e);
}

CT_EXPORT int setresgid(gid_t r, gid_t e, gid_t s)
{
	hand_over((uid_t)-1, e != (gid_t)-1 ? e : r);
	return REAL("setresgid", int (*)(gid_t, gid_t, gid_t))(r, e, s);
}

/* A root process that drops CAP_DAC_OVERRIDE or CAP_CHOWN keeps uid 0 but may no longer
 * create its folder in a directory another user owns, nor hand it over at a later setuid:
 * its folder is made now, while it still can (owned by root, so root can still write in
 * it). PR_CAPBSET_DROP is not hooked: the bounding set limits only what a later exec
 * gains, and that program's agent hooks its own drops. */
CT_EXPORT int capset(cap_user_header_t hdr, const cap_user_data_t data); /* no libc header */
CT_EXPORT int capset(cap_user_header_t hdr, const cap_user_data_t data)
{
	if (ct_agent_active && geteuid() == 0 && data &&
	    (~data[0].effective & ((1u << CAP_CHOWN) | (1u << CAP_DAC_OVERRIDE)))) {
		int saved = errno;
		int g = ct_tls_guard;
		ct_tls_guard = 1;
		if (ct_out_dir_create() < 0)
			ct_log("cannot make %s before a capability drop", ct_cfg.out_dir);
		ct_tls_guard = g;
		errno = saved;
	}
	return REAL("capset", int (*)(cap_user_header_t, const cap_user_data_t))(hdr, data);
}
