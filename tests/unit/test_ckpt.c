/*
 * test_ckpt.c — the checkpoint journal (libtrace/ckpt.h): deltas of two checkpoints sum per
 * key (max for a lock's longest wait), stacks, modules and thread names written once serve
 * every later checkpoint, a sample's 0 sentinel keeps its leaf pc exact, heap in-use deltas
 * net out and are unsampled, a torn last append is ignored, and malformed journals are
 * refused with the byte offset. Also the outdir names the journal adds (temp files).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libtrace/ckpt.h"
#include "libtrace/outdir.h"
#include "tests/unit/ct_check.h"

static void save(const char *dir, const ct_ckpt_buf *b, size_t len, char *path, size_t cap)
{
	snprintf(path, cap, "%s/checkpoint.ctk", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b->data, 1, len, f), len);
	fclose(f);
}

/* Two checkpoints of a small run: cpu on two threads, a heap site, a mutex. */
static void journal(ct_ckpt_buf *b)
{
	ct_ckpt_start s = {.pid = 77,
			   .hz = 100,
			   .modes = CT_MODE_CPU | CT_MODE_HEAP | CT_MODE_LOCK,
			   .heap_rate = 1,
			   .wall_ns = 1000,
			   .mono_ns = 5000000000ull,
			   .engine = "perf",
			   .reason = "test",
			   .cmd = "prog arg"};
	ct_ckpt_put_magic(b);
	ct_ckpt_put_start(b, &s);
	ct_ckpt_put_module(b, 0x400000, 0x500000, 0x1000, "/bin/prog", "abcd");
	uintptr_t sample[] = {0x401000, 0x402000, 0};
	uintptr_t hook[] = {0x403000, 0x404000};
	ct_ckpt_put_stack(b, 1, sample, 3, 0);
	ct_ckpt_put_stack(b, 2, hook, 2, 0);
	ct_ckpt_put_thread(b, 10, "main");
	int64_t cpu[2] = {3, 30000000};
	ct_ckpt_put_entry(b, CT_CKPT_CPU, 1, 10, 0, cpu, 2);
	int64_t heap[4] = {2, 200, 2, 200};
	ct_ckpt_put_entry(b, CT_CKPT_HEAP, 2, 100, 0, heap, 4);
	int64_t mu[3] = {1, 500, 500};
	ct_ckpt_put_entry(b, CT_CKPT_MUTEX, 2, 0xbeef, 0, mu, 3);
	ct_ckpt_commit c = {.mono_ns = 6000000000ull, .samples = 3, .threads = 1};
	ct_ckpt_put_commit(b, &c);
	/* The second checkpoint: only deltas, a new thread (named) and a rename. */
	ct_ckpt_put_thread(b, 11, "worker");
	ct_ckpt_put_entry(b, CT_CKPT_CPU, 1, 10, 0, cpu, 2);
	ct_ckpt_put_entry(b, CT_CKPT_CPU, 1, 11, 0, cpu, 2);
	int64_t freed[4] = {0, 0, -1, -100};
	ct_ckpt_put_entry(b, CT_CKPT_HEAP, 2, 100, 0, freed, 4);
	int64_t mu2[3] = {2, 300, 200};
	ct_ckpt_put_entry(b, CT_CKPT_MUTEX, 2, 0xbeef, 0, mu2, 3);
	c = (ct_ckpt_commit){.mono_ns = 7500000000ull, .samples = 9, .lost = 2, .threads = 2};
	ct_ckpt_put_commit(b, &c);
	ck_assert(!b->oom);
}

static int64_t label_num(const ct_sample *s, const char *key)
{
	for (uint32_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].key, key) == 0)
			return s->labels[i].num;
	return -1;
}

/* The journal above saved without its last cut bytes, read back; the read must succeed. */
static ct_ckpt *read_journal(size_t cut)
{
	char dir[128], path[256];
	ct_check_tmpdir(dir, sizeof(dir), "ckpt");
	ct_ckpt_buf b = {0};
	journal(&b);
	save(dir, &b, b.len - cut, path, sizeof(path));
	ct_ckpt *c;
	ct_error err = {.offset = -1};
	ck_assert_int_eq(ct_ckpt_read_file(path, &c, &err), 0);
	ct_ckpt_buf_free(&b);
	ct_check_rm_rf(dir);
	return c;
}

START_TEST(round_trip)
{
	ct_ckpt *c = read_journal(0);
	const ct_ckpt_info *in = ct_ckpt_get_info(c);
	ck_assert_uint_eq(in->commits, 2);
	ck_assert_uint_eq(in->torn, 0);
	ck_assert_uint_eq(in->last.samples, 9);
	ck_assert_str_eq(in->start.cmd, "prog arg");

	ct_profile *p = ct_ckpt_profile(c, CT_CKPT_CPU);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->period, 10000000);
	ck_assert_int_eq(p->duration_nanos, 2500000000ll);
	ck_assert_uint_eq(p->nmappings, 1);
	ck_assert_str_eq(p->mappings[0].filename, "/bin/prog");
	ck_assert_uint_eq(p->nsamples, 3); /* tid 10, tid 11, lost */
	int64_t total = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		total += s->values[0];
		if (label_num(s, "tid") == 10) {
			ck_assert_int_eq(s->values[0], 6);
			ck_assert_int_eq(s->values[1], 60000000);
			ck_assert_uint_eq(s->nlocs, 2);
			/* leaf exact, caller as return address - 1 */
			ck_assert_uint_eq(p->locations[s->locs[0]].address, 0x401000);
			ck_assert_uint_eq(p->locations[s->locs[1]].address, 0x401fff);
			ck_assert_uint_eq(p->locations[s->locs[0]].mapping, 1);
		}
	}
	ck_assert_int_eq(total, 3 + 3 + 3 + 2);
	ct_profile_free(p);

	p = ct_ckpt_profile(c, CT_CKPT_HEAP); /* rate 1: values as they are */
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nsamples, 1);
	ck_assert_int_eq(p->samples[0].values[0], 2);
	ck_assert_int_eq(p->samples[0].values[1], 200);
	ck_assert_int_eq(p->samples[0].values[2], 1);
	ck_assert_int_eq(p->samples[0].values[3], 100);
	ck_assert_int_eq(label_num(&p->samples[0], "bytes"), 100);
	ck_assert_uint_eq(p->locations[p->samples[0].locs[0]].address, 0x402fff);
	ct_profile_free(p);

	p = ct_ckpt_profile(c, CT_CKPT_MUTEX);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nsamples, 1);
	ck_assert_int_eq(p->samples[0].values[0], 3);
	ck_assert_int_eq(p->samples[0].values[1], 800);
	ck_assert_int_eq(label_num(&p->samples[0], "max_wait"), 500);
	ct_profile_free(p);
	ck_assert_ptr_null(ct_ckpt_profile(c, CT_CKPT_BLOCK)); /* its mode was off */
	ct_ckpt_free(c);
}
END_TEST

/* Hostile counts: lost samples times the period past int64 saturate (the builtin's wrapped
 * product was kept), and a count past 2^48 is refused. */
START_TEST(lost_weight_saturates)
{
	char dir[128], path[256];
	ct_check_tmpdir(dir, sizeof(dir), "ckpt");
	for (int k = 0; k < 2; k++) {
		ct_ckpt_buf b = {0};
		ct_ckpt_start st = {.pid = 7,
				    .hz = 1,
				    .modes = CT_MODE_CPU,
				    .heap_rate = 1,
				    .mono_ns = 1,
				    .engine = "perf",
				    .reason = "t",
				    .cmd = "p"};
		ct_ckpt_put_magic(&b);
		ct_ckpt_put_start(&b, &st);
		ct_ckpt_commit cm = {.mono_ns = 2,
				     .lost = k ? UINT64_C(1) << 48 : UINT64_C(1) << 40};
		ct_ckpt_put_commit(&b, &cm);
		save(dir, &b, b.len, path, sizeof(path));
		ct_ckpt_buf_free(&b);
		ct_ckpt *c = NULL;
		ct_error err = {.offset = -1};
		int rc = ct_ckpt_read_file(path, &c, &err);
		if (k) {
			ck_assert_int_eq(rc, -EINVAL);
			ck_assert_ptr_null(c);
			continue;
		}
		ck_assert_int_eq(rc, 0);
		ct_profile *p = ct_ckpt_profile(c, CT_CKPT_CPU);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(p->nsamples, 1);
		ck_assert_int_eq(p->samples[0].values[0], INT64_C(1) << 40);
		ck_assert_int_eq(p->samples[0].values[1], INT64_MAX); /* 2^40 s: past int64 ns */
		ct_profile_free(p);
		ct_ckpt_free(c);
	}
	ct_check_rm_rf(dir);
}
END_TEST

START_TEST(torn_tail_ignored)
{
	/* Cut inside the second checkpoint's last record: only the first one counts. */
	ct_ckpt *c = read_journal(3);
	ck_assert_uint_eq(ct_ckpt_get_info(c)->commits, 1);
	ck_assert_uint_gt(ct_ckpt_get_info(c)->torn, 0);
	ct_profile *p = ct_ckpt_profile(c, CT_CKPT_CPU);
	ck_assert_uint_eq(p->nsamples, 1);
	ck_assert_int_eq(p->samples[0].values[0], 3);
	ct_profile_free(p);
	ct_ckpt_free(c);
}
END_TEST

START_TEST(malformed_refused)
{
	char dir[128], path[256];
	ct_check_tmpdir(dir, sizeof(dir), "ckpt");
	ct_ckpt *c;
	ct_error err = {.offset = -1};
	ct_ckpt_buf b = {0};
	ct_ckpt_put_magic(&b);
	b.data[0] = 'X';
	save(dir, &b, b.len, path, sizeof(path));
	ck_assert_int_eq(ct_ckpt_read_file(path, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad magic at byte 0"));

	b.len = 0; /* magic and START only: nothing committed */
	ct_ckpt_put_magic(&b);
	ct_ckpt_start s = {.engine = "perf", .reason = "", .cmd = ""};
	ct_ckpt_put_start(&b, &s);
	save(dir, &b, b.len, path, sizeof(path));
	ck_assert_int_eq(ct_ckpt_read_file(path, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "no COMMIT"));

	b.len = 0; /* a STACK claiming more pcs than it holds, then a COMMIT */
	ct_ckpt_put_magic(&b);
	ct_ckpt_put_start(&b, &s);
	size_t at = b.len;
	uintptr_t pcs[2] = {1, 2};
	ct_ckpt_put_stack(&b, 5, pcs, 2, 0);
	b.data[at + 5 + 5] = 9; /* n = 9 */
	ct_ckpt_commit k = {0};
	ct_ckpt_put_commit(&b, &k);
	save(dir, &b, b.len, path, sizeof(path));
	ck_assert_int_eq(ct_ckpt_read_file(path, &c, &err), -EINVAL);
	ck_assert_int_eq(err.offset, (long long)at);
	ck_assert_ptr_nonnull(strstr(err.msg, "malformed record of type 3"));
	ct_ckpt_buf_free(&b);
	ct_check_rm_rf(dir);
}
END_TEST

START_TEST(temp_names)
{
	ck_assert(ct_outdir_is_temp("cpu.pb.gz.tmp.123.0"));
	ck_assert(ct_outdir_is_temp("summary.txt.tmp.9.1"));
	ck_assert(!ct_outdir_is_temp("cpu.pb.gz"));
	ck_assert(!ct_outdir_is_temp(".tmp.1"));
	ck_assert(!ct_outdir_is_temp("x.tmp."));
	ck_assert(ct_outdir_is_ours(CT_FILE_CHECKPOINT));
	ck_assert(ct_outdir_is_ours(CT_FILE_CHILDREN));
}
END_TEST

static Suite *ckpt_suite(void)
{
	return CT_CHECK_SUITE("ckpt", round_trip, lost_weight_saturates, torn_tail_ignored,
			      malformed_refused, temp_names);
}

CT_CHECK_MAIN(ckpt_suite)
