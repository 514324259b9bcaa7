/*
 * sandbox.c — a program that installs a seccomp filter ends its recording first.
 *
 * A filter may refuse (an errno) or punish (SIGSYS: the process killed) the system calls
 * the agent makes later on the program's threads — the files written at exit above all —
 * and one installed with SECCOMP_FILTER_FLAG_TSYNC covers the agent's own threads too
 * (the collector's reads and checkpoints, the live server's polls). A program that ran
 * `exit(7)` died of SIGSYS under the agent instead. So just before the program's filter
 * goes in (prctl(PR_SET_SECCOMP), or the seccomp or prctl system call through syscall():
 * libseccomp installs one so), the agent writes its files as at an exit and stops: the
 * engine, the collector and the live server stop, the hooks record nothing more.
 * summary.txt says where the recording ended; the rest of the run is not recorded. A
 * sandbox the program's parent set up before the exec (systemd's SystemCallFilter=)
 * is not seen: the agent starts inside it.
 */
#include <linux/seccomp.h>
#include <stdatomic.h>
#include <stdio.h>

#include "agent/agent.h"
#include "agent/internal.h"
#include "agent/live.h"
#include "libtrace/clock.h"

_Atomic int ct_sandboxed;
static char ended_by[48]; /* the call that installed the filter; "" while none did */
static double ended_at_s; /* seconds after the start */

void ct_sandbox_warning(char *buf, size_t len)
{
	if (ended_by[0])
		ct_warning_add(buf, len,
			       "the recording ends where the program installed a seccomp filter "
			       "(%s), %.2f s after the start: what the filter allows the agent "
			       "cannot know, so it wrote its files then and stopped",
			       ended_by, ended_at_s);
}

/* op: the seccomp(2) operation, or for prctl the mode (PR_SET_SECCOMP's argument). */
void ct_before_seccomp(const char *how, unsigned long op, int from_prctl)
{
	int installs = from_prctl ? op == SECCOMP_MODE_STRICT || op == SECCOMP_MODE_FILTER
				  : op == SECCOMP_SET_MODE_STRICT || op == SECCOMP_SET_MODE_FILTER;
	if (!installs || ct_tls_guard || !ct_active() || ended_by[0])
		return;
	snprintf(ended_by, sizeof(ended_by), "%s", how);
	ended_at_s = (double)(ct_now() - ct_start_clock.mono_ns) / 1e9;
	ct_http_stop();
	ct_shutdown();
	atomic_store(&ct_sandboxed, 1); /* threads' ends make no system call of ours */
}
