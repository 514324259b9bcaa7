/* pipe_steal [raw] — closes every fd (close() over 0..1023, or a raw close_range when
 * "raw"), then in rounds opens pipes onto the lowest numbers (in raw mode 1100 pairs, so
 * every number the agent held before is one of its pipes), writes a message into each,
 * reads it back with a blocking read and checks it, allocating and locking on the way.
 * Anyone else reading those pipes makes it hang or fail; prints "pipes ok" at the end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "burn.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int fds[2200][2];

__attribute__((noinline)) static int pipe_round(int round, int npipes)
{
	char msg[64], got[64];
	for (int i = 0; i < npipes; i++)
		if (pipe(fds[i]) < 0)
			return -1;
	for (int i = 0; i < npipes; i++) {
		int n = snprintf(msg, sizeof(msg), "round %d pipe %d", round, i);
		if (write(fds[i][1], msg, (size_t)n + 1) != n + 1)
			return -1;
	}
	for (int i = 0; i < npipes; i++) {
		void *p = malloc(4096 + (size_t)i);
		pthread_mutex_lock(&mu);
		burn(0.0002);
		pthread_mutex_unlock(&mu);
		free(p);
		int n = snprintf(msg, sizeof(msg), "round %d pipe %d", round, i);
		if (read(fds[i][0], got, (size_t)n + 1) != n + 1 || memcmp(got, msg, (size_t)n + 1))
			return -1;
	}
	for (int i = 0; i < npipes; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int raw = argc > 1 && strcmp(argv[1], "raw") == 0;
	int out = dup(1);
	if (raw)
		syscall(SYS_close_range, 0u, ~0u, 0);
	else
		for (int fd = 0; fd < 1024; fd++)
			if (fd != out)
				close(fd);
	for (int r = 0; r < (raw ? 3 : 40); r++)
		if (pipe_round(r, raw ? 1100 : 8) < 0)
			return 1;
	if (!raw)
		dprintf(out, "pipes ok\n");
	return 0;
}
