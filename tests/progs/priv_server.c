/* priv_server — a server that starts as root and forks 2 workers which switch to the
 * user nobody (setgid, then setuid) and then handle "requests" (CPU work in
 * handle_request). Prints the workers' pids; prints "skip" when not run as root. */
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
			if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
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
