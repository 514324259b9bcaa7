/* cap_server — like priv_server, but each worker first drops every capability except
 * CAP_SETUID and CAP_SETGID (as hardened servers do), then switches to nobody and handles
 * "requests" in handle_request: the agent can no longer chown its folder at the switch.
 * Worker 0 drops them with glibc's capset(), worker 1 with the raw system call (as libcap
 * does). Prints the workers' pids; prints "skip" when not run as root. */
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "burn.h"

extern int capset(cap_user_header_t hdr, const cap_user_data_t data);

__attribute__((noinline)) static void handle_request(void)
{
	burn(0.3);
}

static int drop_caps(int raw)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {{0}};
	d[0].effective = d[0].permitted = (1u << CAP_SETUID) | (1u << CAP_SETGID);
	return raw ? (int)syscall(SYS_capset, &h, d) : capset(&h, d);
}

int main(void)
{
	struct passwd *pw = getpwnam("nobody");
	if (geteuid() != 0 || !pw) {
		printf("skip\n");
		return 0;
	}
	pid_t w[2];
	for (int i = 0; i < 2; i++) {
		w[i] = fork();
		if (w[i] < 0)
			return 1;
		if (w[i] == 0) {
			if (drop_caps(i) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
				_exit(3);
			handle_request();
			exit(0);
		}
	}
	int bad = 0;
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(w[i], &st, 0);
		bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		printf("%d\n", (int)w[i]);
	}
	return bad;
}
