/*
 * gen_trace — writes the trace.ctr fuzz seeds into DIR: a complete perf-engine trace with
 * every event kind (annotations too: regions, tasks, logs) over two chunks, the same cut inside its
 * last chunk (no footer), and a timer-engine trace. Built and run by tests/fuzz/run via fuzz.mk, so
 * no binary seed is committed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "libtrace/traceann.h"
#include "libtrace/tracewrite.h"

static int events(ct_tw *w, ct_stacks *st)
{
	uintptr_t pcs[3] = {0x401234, 0x402345, 0x7f0000001000};
	uint32_t s = ct_stacks_intern(st, pcs, 3);
	int rc = ct_tw_create(w, 10, 1000, 11, s);
	rc |= ct_tw_name(w, 11, 1010, "worker \"1\"");
	rc |= ct_tw_start(w, 11, 1020);
	rc |= ct_tw_switch_in(w, 11, 1100, 2);
	rc |= ct_tw_sample(w, 11, 1150, s, 1000);
	rc |= ct_tw_switch_out(w, 11, 1200, 2, true);
	rc |= ct_tw_switch_in(w, 11, 1300, 1);
	rc |= ct_tw_switch_out(w, 11, 1400, 1, false);
	rc |= ct_tw_wait(w, 11, 1390, 1600, CT_WAIT_COND, 0x1000, s);
	rc |= ct_tw_unblock(w, 10, 1550, 0, 0x1000, s);
	rc |= ct_tw_switch_in(w, 11, 1600, 1);
	rc |= ct_tw_task_begin(w, 10, 1010, 7, 0, "request", s);
	rc |= ct_tw_region_begin(w, 11, 1100, "handle", 7, 1, s);
	rc |= ct_tw_region_begin(w, 11, 1120, "parse", 7, 2, 0);
	rc |= ct_tw_log(w, 11, 1130, 7, "http", "GET /", 0);
	rc |= ct_tw_region_end(w, 11, 1300, "parse", 7, 2, 0);
	rc |= ct_tw_flush(w, 1700);
	rc |= ct_tw_region_end(w, 11, 1750, "handle", 7, 1, 0);
	rc |= ct_tw_task_end(w, 11, 1760, 7, 0);
	rc |= ct_tw_region_end(w, 11, 1770, "", 0, 0, 0);
	rc |= ct_tw_lost(w, 1800, 3, "switch");
	rc |= ct_tw_wait(w, 10, 1850, CT_TW_OPEN, CT_WAIT_JOIN, 11, 0);
	rc |= ct_tw_exit(w, 11, 1900);
	return rc;
}

static int put(const char *dir, const char *name, bool switches, off_t cut)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ct_stacks *st = ct_stacks_create(64, 1024);
	if (fd < 0 || !st)
		return -1;
	const char *argv[] = {"seed", "-x"};
	ct_tw_info info = {.pid = 10,
			   .argv = argv,
			   .argc = 2,
			   .engine = switches ? "perf" : "timer",
			   .has_switches = switches,
			   .sample_period_ns = 1000,
			   .stacks = st};
	ct_tw_module m = {.path = "/usr/bin/seed",
			  .build_id = "0123abcd",
			  .start = 0x400000,
			  .end = 0x500000,
			  .file_offset = 0x1000};
	ct_tw *w;
	int rc = ct_tw_open(&w, fd, &info);
	if (!rc) {
		rc = ct_tw_set_modules(w, &m, 1) | events(w, st);
		rc |= ct_tw_close(w, 2000);
	}
	if (!rc && cut)
		rc = ftruncate(fd, lseek(fd, 0, SEEK_END) - cut);
	close(fd);
	ct_stacks_destroy(st);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_trace DIR\n");
		return 2;
	}
	if (put(argv[1], "complete.ctr", true, 0) || put(argv[1], "cut.ctr", true, 40) ||
	    put(argv[1], "timer.ctr", false, 0)) {
		fprintf(stderr, "gen_trace: cannot write the seeds\n");
		return 1;
	}
	return 0;
}
