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

#define ROUND 500L /* reads per round: ~1 ms, rarely preempted */

static int fd;
static ssize_t (*direct_read)(int, void *, size_t);

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double round_ns(ssize_t (*rd)(int, void *, size_t))
{
	char buf[8];
	uint64_t t0 = now_ns();
	for (long i = 0; i < ROUND; i++)
		if (rd(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			exit(1);
	return (double)(now_ns() - t0) / ROUND;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
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
	double *diff = malloc((size_t)rounds * sizeof(*diff)), best = 1e30;
	if (!diff)
		return 1;
	for (long r = 0; r < rounds; r++) {
		double hooked = round_ns(read);
		diff[r] = hooked - round_ns(direct_read);
		if (hooked < best)
			best = hooked;
	}
	qsort(diff, (size_t)rounds, sizeof(*diff), cmp_double);
	printf("added_ns %.2f ns_per_read %.2f\n", diff[rounds / 2], best);
	return 0;
}
