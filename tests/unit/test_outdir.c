/*
 * test_outdir.c — the output directory's vocabulary: mode lists (every name, aliases,
 * typos rejected with the offending name while the good names still count), the profile
 * table and name classification, and summary.txt (a write/read round trip of every key,
 * newlines in values kept on one line, unknown keys skipped, a malformed line named by
 * offset, a planted symlink at the temporary or final name never written through).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libtrace/outdir.h"
#include "libtrace/safefile.h"
#include "tests/unit/ct_check.h"

START_TEST(modes_names)
{
	unsigned m = 99;
	ct_error err = {.offset = -1};
	ck_assert_int_eq(ct_modes_parse("cpu", &m, &err), 0);
	ck_assert_uint_eq(m, CT_MODE_CPU);
	ck_assert_int_eq(ct_modes_parse("heap,lock,block,sched", &m, &err), 0);
	ck_assert_uint_eq(m, CT_MODE_HEAP | CT_MODE_LOCK | CT_MODE_BLOCK | CT_MODE_SCHED);
	ck_assert_int_eq(ct_modes_parse("mutex", &m, &err), 0);
	ck_assert_uint_eq(m, CT_MODE_LOCK);
	ck_assert_int_eq(ct_modes_parse("all", &m, &err), 0);
	ck_assert_uint_eq(m, CT_MODE_ALL);
	ck_assert_int_eq(ct_modes_parse("cpu,", &m, &err), -EINVAL); /* empty last name */
	ck_assert_uint_eq(m, CT_MODE_CPU);
}
END_TEST

START_TEST(modes_typos)
{
	unsigned m = 0;
	ct_error err = {.offset = -1};
	ck_assert_int_eq(ct_modes_parse("cpu,hepa,lock", &m, &err), -EINVAL);
	ck_assert_uint_eq(m, CT_MODE_CPU | CT_MODE_LOCK); /* the agent keeps what it knows */
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown mode 'hepa'"));
	ck_assert_int_eq(err.offset, 4);
	ck_assert_int_eq(ct_modes_parse("CPU", &m, &err), -EINVAL); /* names are lower case */
	ck_assert_int_eq(ct_modes_parse("cpu,,heap", &m, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "empty mode name"));
	ck_assert_int_eq(ct_modes_parse("", &m, &err), -EINVAL);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(ct_modes_parse("cpus", &m, &err), -EINVAL); /* no prefix matches */
	ck_assert_int_eq(ct_modes_parse("cp", &m, &err), -EINVAL);
}
END_TEST

START_TEST(profile_names)
{
	size_t n;
	const ct_outdir_profile *t = ct_outdir_profiles(&n);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(t[0].name, "cpu");
	ck_assert_str_eq(t[2].file, "heap-peak.pb.gz");
	ck_assert_ptr_eq(ct_outdir_profile_of("x/y/heap-peak.pb.gz"), &t[2]);
	ck_assert_ptr_eq(ct_outdir_profile_of("mutex.pb.gz"), &t[3]);
	ck_assert_ptr_null(ct_outdir_profile_of("x/cpu.pb.gz.bak"));
	ck_assert_ptr_null(ct_outdir_profile_of("cpu"));
	ck_assert(ct_outdir_is_ours("summary.txt"));
	ck_assert(ct_outdir_is_ours("trace.ctr"));
	ck_assert(ct_outdir_is_ours(".owner"));
	ck_assert(ct_outdir_is_ours("other.pb.gz"));
	ck_assert(!ct_outdir_is_ours("notes.txt"));
	ck_assert(!ct_outdir_is_ours(".pb.gz"));
	ck_assert(ct_outdir_is_child("1234"));
	ck_assert(!ct_outdir_is_child("0123"));
	ck_assert(!ct_outdir_is_child("12a"));
	ck_assert(!ct_outdir_is_child(""));
	ck_assert(ct_outdir_is_child("1234.1") && ct_outdir_is_pre_exec("1234.12"));
	ck_assert(!ct_outdir_is_pre_exec("1234"));
	ck_assert(!ct_outdir_is_child("1234.") && !ct_outdir_is_child("1234.0"));
	ck_assert(!ct_outdir_is_child("1234.1.2") && !ct_outdir_is_child("1234.x"));
}
END_TEST

/* The file tests' scratch directory, fresh for each, and summary.txt's path in it. */
static char dir[128], summary[256];

static void dir_setup(void)
{
	ct_check_tmpdir(dir, sizeof(dir), "outdir");
	snprintf(summary, sizeof(summary), "%s/summary.txt", dir);
}

static void dir_teardown(void)
{
	ct_check_rm_rf(dir);
}

START_TEST(summary_round_trip)
{
	ct_summary s = {.pid = 4242,
			.samples = 18446744073709551615ull,
			.lost = 7,
			.threads = 65,
			.collector_cpu_ms = 12.5};
	strcpy(s.cmd, "my prog");
	strcpy(s.engine, "timer");
	strcpy(s.reason, "perf_event_open: Permission denied\n(paranoid 3)");
	strcpy(s.errors, "cannot write cpu.pb.gz: No space left on device\ncannot write x\n");
	ck_assert_int_eq(ct_summary_write(dir, &s), 0);
	char *text = ct_check_read_file(dir, "summary.txt");
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "pid=4242\ncmd=my prog\nengine=timer\n"
			       "reason=perf_event_open: Permission denied (paranoid 3)\n"
			       "samples=18446744073709551615\nlost=7\nthreads=65\n"
			       "collector_cpu_ms=12.5\n"
			       "error=cannot write cpu.pb.gz: No space left on device\n"
			       "error=cannot write x\n");
	free(text);
	ct_summary r;
	ct_error err = {.offset = -1};
	ck_assert_int_eq(ct_summary_read(summary, &r, &err), 0);
	ck_assert_int_eq(r.pid, 4242);
	ck_assert_str_eq(r.cmd, "my prog");
	ck_assert_str_eq(r.engine, "timer");
	ck_assert_str_eq(r.reason, "perf_event_open: Permission denied (paranoid 3)");
	ck_assert_uint_eq(r.samples, s.samples);
	ck_assert_uint_eq(r.lost, 7);
	ck_assert_uint_eq(r.threads, 65);
	ck_assert(r.collector_cpu_ms == 12.5);
	ck_assert_str_eq(r.errors, s.errors);
}
END_TEST

START_TEST(summary_bad_input)
{
	ct_summary r;
	ct_error err = {.offset = -1};
	ck_assert_int_eq(ct_summary_read(summary, &r, &err), -ENOENT);
	ct_check_write_file(dir, "summary.txt", "future_key=1\nsamples=5\n\nlost=2\n");
	ck_assert_int_eq(ct_summary_read(summary, &r, &err), 0);
	ck_assert_uint_eq(r.samples, 5);
	ck_assert_uint_eq(r.lost, 2);
	ct_check_write_file(dir, "summary.txt", "samples=5\ngarbage\n");
	ck_assert_int_eq(ct_summary_read(summary, &r, &err), -EINVAL);
	ck_assert_int_eq(err.offset, 10);
	ck_assert_ptr_nonnull(strstr(err.msg, "at byte 10"));
}
END_TEST

/* A symlink planted at the final name is replaced, never written through; one planted at
 * a temporary name is skipped. The victim keeps its content. */
START_TEST(summary_symlink_attack)
{
	char victim[256];
	ct_check_write_file(dir, "victim", "precious\n");
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	ck_assert_int_eq(symlink(victim, summary), 0);
	for (int i = 0; i < 4; i++) { /* the next temporary names this process will try */
		char tmp[300];
		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%d", summary, (long)getpid(), i);
		ck_assert_int_eq(symlink(victim, tmp), 0);
	}
	ct_summary s = {.pid = 1};
	strcpy(s.engine, "perf");
	ck_assert_int_eq(ct_summary_write(dir, &s), 0);
	char *v = ct_check_read_file(dir, "victim");
	ck_assert_str_eq(v, "precious\n");
	free(v);
	struct stat st;
	ck_assert_int_eq(lstat(summary, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
}
END_TEST

START_TEST(safefile_failure_leaves_nothing)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/out.svg", dir);
	ct_safefile sf;
	ck_assert_int_eq(ct_safefile_open(&sf, path), 0);
	fputs("half", sf.f);
	ck_assert_int_eq(ct_safefile_close(&sf, -EIO), -EIO);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(rmdir(dir), 0); /* no temporary left behind */
	snprintf(path, sizeof(path), "%s/missing/out.svg", dir);
	ck_assert_int_eq(ct_safefile_open(&sf, path), -ENOENT);
}
END_TEST

static Suite *outdir_suite(void)
{
	Suite *s = CT_CHECK_SUITE("outdir", modes_names, modes_typos, profile_names);
	TCase *tc = CT_CHECK_TCASE(s, "files", 0, summary_round_trip, summary_bad_input,
				   summary_symlink_attack, safefile_failure_leaves_nothing);
	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	return s;
}

CT_CHECK_MAIN(outdir_suite)
