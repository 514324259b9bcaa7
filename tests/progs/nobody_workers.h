/* nobody_workers.h — the forking server of priv_server and cap_server: 2 workers that
 * each run `prepare` (if any), switch to the user nobody (setgid, then setuid) and then
 * handle "requests" (CPU work in handle_request). Prints the workers' pids; prints "skip"
 * when not run as root. */
#ifndef CT_TEST_NOBODY_WORKERS_H
#define CT_TEST_NOBODY_WORKERS_H

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "burn.h"

__attribute__((noinline)) static void handle_request(void)
{
	burn(0.3);
}

/* Returns main's exit status: 0 when both workers exited 0. `prepare(i)` runs first in
 * worker i; a negative result makes the worker exit 3. */
static int nobody_workers(int (*prepare)(int worker))
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
			if ((prepare && prepare(i) < 0) || setgid(pw->pw_gid) < 0 ||
			    setuid(pw->pw_uid) < 0)
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

#endif
