/* cap_server — like priv_server, but each worker first drops every capability except
 * CAP_SETUID and CAP_SETGID (as hardened servers do), then switches to nobody and handles
 * "requests" in handle_request: the agent can no longer chown its folder at the switch.
 * Worker 0 drops them with glibc's capset(), worker 1 with the raw system call (as libcap
 * does). Prints the workers' pids; prints "skip" when not run as root. */
#include <linux/capability.h>
#include <sys/syscall.h>

#include "nobody_workers.h"

extern int capset(cap_user_header_t hdr, const cap_user_data_t data);

static int drop_caps(int raw)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {{0}};
	d[0].effective = d[0].permitted = (1u << CAP_SETUID) | (1u << CAP_SETGID);
	return raw ? (int)syscall(SYS_capset, &h, d) : capset(&h, d);
}

int main(void)
{
	return nobody_workers(drop_caps);
}
