/*
 * bench_io — what the file hooks cost a read(2) that does not block, run bare and with
 * the agent preloaded from tests/bench/bench_io.sh.
 *
 *   bench_io read N    N read(2)s of 8 bytes from /dev/zero in rounds of 500 through the
 *                      program's call (so through the agent's hook when it is preloaded),
 *                      each followed by a round calling libc's read directly; prints
 *                      "added_ns X ns_per_read Y": the median over rounds of the
 *                      difference per call, and the fastest round of the program's calls
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define ROUND 500L /* reads per round: ~1 ms, rarely preempted */

static int fd;
static ssize_t (*direct_read)(int, void *, size_t);

static double round_ns(ssize_t (*rd)(int, void *, size_t))
{
	char buf[8];
	uint64_t t0 = now_ns();
	for (long i = 0; i < ROUND; i++)
		if (rd(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			exit(1);
	return (double)(now_ns() - t0) / ROUND;
}

static double hooked_round(void)
{
	return round_ns(read);
}

static double direct_round(void)
{
	return round_ns(direct_read);
}

int main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "read") != 0) {
		fprintf(stderr, "usage: bench_io read N\n");
		return 2;
	}
	long rounds = atol(argv[2]) / ROUND;
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	direct_read = libc ? (ssize_t(*)(int, void *, size_t))dlsym(libc, "read") : NULL;
	fd = open("/dev/zero", O_RDONLY);
	if (fd < 0 || rounds <= 0 || !direct_read)
		return 1;
	return print_added(rounds, hooked_round, direct_round, "ns_per_read");
}
