/*
 * test_traceann.c — annotations in trace.ctr and the model (libtrace/traceann.c,
 * libtrace/traceregions.c): regions, tasks and logs written and read back with every
 * field; payload errors named with their byte offset; nesting (also with lost ends, an
 * end without a begin and a region open at exit); a task whose regions hop threads; the
 * time by state inside a region; and the focus on one region name.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/traceann.h"
#include "libtrace/tracechrome.h"
#include "libtrace/tracefmt.h"
#include "libtrace/traceperfetto.h"
#include "libtrace/traceprof.h"
#include "libtrace/traceregions.h"
#include "libtrace/tracesched.h"
#include "proto/perfetto_trace.pb-c.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/tracefix.h"

static const uintptr_t site[] = {0x200, 0x300};

/* A thread tid running on cpu 0 from t0 (so the model has a life for it). */
static void thread_runs(tfix *f, uint32_t tid, uint64_t t0)
{
	ck_assert_int_eq(ct_tw_switch_in(f->w, tid, t0, 0), 0);
}

static const ct_region *region_named(const ct_trace_model *m, const char *name, int nth)
{
	for (uint32_t i = 0; i < m->nregions; i++)
		if (!strcmp(m->regions[i].name, name) && nth-- == 0)
			return &m->regions[i];
	ck_abort_msg("no region %s", name);
	return NULL;
}

START_TEST(roundtrip)
{
	tfix f;
	tfix_open(&f, true);
	uint32_t s = tfix_stack(&f, site, 2);
	thread_runs(&f, 7, 1000);
	ck_assert_int_eq(ct_tw_task_begin(f.w, 7, 1100, 42, 5, "request", s), 0);
	ck_assert_int_eq(ct_tw_region_begin(f.w, 7, 1200, "parse", 42, 1, s), 0);
	ck_assert_int_eq(ct_tw_log(f.w, 7, 1250, 42, "http", "GET /api", 0), 0);
	ck_assert_int_eq(ct_tw_region_end(f.w, 7, 1300, "parse", 42, 1, 0), 0);
	ck_assert_int_eq(ct_tw_task_end(f.w, 7, 1400, 42, 0), 0);
	/* refused: tid 0, task id 0, a stack the table does not know */
	ck_assert_int_eq(ct_tw_region_begin(f.w, 0, 1500, "x", 0, 1, 0), -EINVAL);
	ck_assert_int_eq(ct_tw_task_begin(f.w, 7, 1500, 0, 0, "x", 0), -EINVAL);
	ck_assert_int_eq(ct_tw_log(f.w, 7, 1500, 0, "c", "m", 999), -EINVAL);
	ct_trace *t = tfix_read(&f, 2000);
	ck_assert_uint_eq(t->nannots, 5);
	const ct_trace_annot *a = t->annots;
	ck_assert_uint_eq(a[0].kind, CT_EV_TASK);
	ck_assert_uint_eq(a[0].time, 1100);
	ck_assert_uint_eq(a[0].tid, 7);
	ck_assert_uint_eq(a[0].task, 42);
	ck_assert_uint_eq(a[0].parent, 5);
	ck_assert_uint_eq(a[0].ended, 0);
	ck_assert_str_eq(a[0].name, "request");
	ck_assert_uint_ne(a[0].stack, 0);
	ck_assert_uint_eq(t->stacks[a[0].stack - 1].nlocs, 2);
	ck_assert_uint_eq(a[1].kind, CT_EV_REGION_BEGIN);
	ck_assert_str_eq(a[1].name, "parse");
	ck_assert_uint_eq(a[1].depth, 1);
	ck_assert_uint_eq(a[1].task, 42);
	ck_assert_uint_eq(a[2].kind, CT_EV_LOG);
	ck_assert_str_eq(a[2].name, "http");
	ck_assert_str_eq(a[2].msg, "GET /api");
	ck_assert_uint_eq(a[2].stack, 0);
	ck_assert_uint_eq(a[3].kind, CT_EV_REGION_END);
	ck_assert_uint_eq(a[3].time, 1300);
	ck_assert_uint_eq(a[4].kind, CT_EV_TASK);
	ck_assert_uint_eq(a[4].ended, 1);
	ct_trace_free(t);
}
END_TEST

START_TEST(decode_errors)
{
	const char *strs[] = {"a", "b"};
	uint32_t stk[] = {3};
	ct_trace_ann_tables tb = {strs, 2, stk, 1};
	ct_trace_annot a;
	size_t at;
	char what[128];
	/* region begin: name 1, task 0, depth 2, stack 1 (ok); then name 5 (bad) */
	const uint8_t ok[] = {1, 0, 2, 1, 0x77};
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(ct_trace_ann_decode(CT_EV_REGION_BEGIN, ok, sizeof(ok), &tb, &a, &at, what,
					     sizeof(what)),
			 0);
	ck_assert_str_eq(a.name, "b");
	ck_assert_uint_eq(a.depth, 2);
	ck_assert_uint_eq(a.stack, 3);
	const uint8_t badname[] = {5, 0, 1, 0};
	ck_assert_int_eq(ct_trace_ann_decode(CT_EV_REGION_BEGIN, badname, sizeof(badname), &tb, &a,
					     &at, what, sizeof(what)),
			 -EINVAL);
	ck_assert_uint_eq(at, 0);
	ck_assert_str_eq(what, "bad region begin name string index 5");
	const uint8_t badstack[] = {0, 9, 0, 0, 0, 2};
	ck_assert_int_eq(ct_trace_ann_decode(CT_EV_LOG, badstack, sizeof(badstack), &tb, &a, &at,
					     what, sizeof(what)),
			 -EINVAL);
	ck_assert_uint_eq(at, 1);
	ck_assert_str_eq(what, "bad log category string index 9");
	const uint8_t task0[] = {0, 0, 0, 0, 0};
	ck_assert_int_eq(ct_trace_ann_decode(CT_EV_TASK, task0, sizeof(task0), &tb, &a, &at, what,
					     sizeof(what)),
			 -EINVAL);
	ck_assert_str_eq(what, "bad task id 0");
	const uint8_t cut[] = {1, 0};
	ck_assert_int_eq(ct_trace_ann_decode(CT_EV_REGION_END, cut, sizeof(cut), &tb, &a, &at, what,
					     sizeof(what)),
			 -EINVAL);
	ck_assert_uint_eq(at, 2);
	ck_assert_str_eq(what, "truncated or overlong varint in region end depth");
}
END_TEST

/* A whole file whose region name index is out of range: the reader names the offset. */
START_TEST(reader_names_offset)
{
	tfix f;
	tfix_open(&f, true);
	thread_runs(&f, 7, 1000);
	ck_assert_int_eq(ct_tw_region_begin(f.w, 7, 1200, "only", 0, 1, 0), 0);
	size_t len;
	uint8_t *buf = tfix_finish(&f, 2000, &len);
	/* the region event: kind 32, dt 200 (2 bytes), length 4, then its payload: name 0,
	 * task 0, depth 1, stack 0 */
	const uint8_t ev[] = {CT_EV_REGION_BEGIN, 0xc8, 0x01, 4, 0, 0, 1, 0};
	uint8_t *p = memmem(buf, len, ev, sizeof(ev));
	ck_assert_ptr_nonnull(p);
	p += 4; /* the name's string index */
	*p = 9;
	ct_trace *t = NULL;
	ct_error err = {.offset = -1};
	ct_trace_read_opts o = {.skip_crc = true};
	ck_assert_int_eq(ct_trace_decode_opts(buf, len, &o, &t, &err), -EINVAL);
	char want[96];
	snprintf(want, sizeof(want), "bad region begin name string index 9 at byte %lld",
		 (long long)(p - buf));
	ck_assert_str_eq(err.msg, want);
	free(buf);
}
END_TEST

START_TEST(nesting)
{
	tfix f;
	tfix_open(&f, true);
	thread_runs(&f, 7, 1000);
	ct_tw_region_begin(f.w, 7, 1100, "outer", 0, 1, 0);
	ct_tw_region_begin(f.w, 7, 1200, "inner", 0, 2, 0);
	ct_tw_region_end(f.w, 7, 1300, "inner", 0, 2, 0);
	ct_tw_region_begin(f.w, 7, 1400, "inner", 0, 2, 0);
	ct_tw_region_begin(f.w, 7, 1450, "deep", 0, 3, 0); /* its end is lost */
	ct_tw_region_end(f.w, 7, 1500, "inner", 0, 2, 0);
	ct_tw_region_end(f.w, 7, 1600, "outer", 0, 1, 0);
	ct_tw_region_end(f.w, 7, 1700, "", 0, 0, 0); /* nothing open */
	ct_tw_region_begin(f.w, 7, 1800, "open", 0, 1, 0);
	ct_tw_exit(f.w, 7, 1900);
	tfix_built b = tfix_build(&f, 2000);
	const ct_trace_model *m = b.m;
	ck_assert_uint_eq(m->nregions, 5);
	ck_assert_uint_eq(m->unmatched_ends, 1);
	const ct_region *outer = region_named(m, "outer", 0);
	const ct_region *in1 = region_named(m, "inner", 0), *in2 = region_named(m, "inner", 1);
	const ct_region *deep = region_named(m, "deep", 0), *open = region_named(m, "open", 0);
	ck_assert_uint_eq(outer->start, 1100);
	ck_assert_uint_eq(outer->end, 1600);
	ck_assert_uint_eq(outer->depth, 1);
	ck_assert_uint_eq(outer->parent, CT_NO_EVENT);
	ck_assert(!outer->unended);
	ck_assert_uint_eq(in1->depth, 2);
	ck_assert_uint_eq(in1->end, 1300);
	ck_assert_ptr_eq(&m->regions[in1->parent], outer);
	ck_assert_ptr_eq(&m->regions[in2->parent], outer);
	ck_assert_uint_eq(in2->end, 1500);
	ck_assert_uint_eq(deep->depth, 3);
	ck_assert_ptr_eq(&m->regions[deep->parent], in2);
	ck_assert_uint_eq(deep->end, 1500); /* closed with its parent */
	ck_assert(deep->unended);
	ck_assert_uint_eq(open->end, 1900); /* ended with its thread */
	ck_assert(open->unended);
	ck_assert_uint_ne(outer->thread, CT_NO_EVENT);
	ck_assert_uint_eq(m->threads[outer->thread].tid, 7);
	tfix_release(&b);
}
END_TEST

/* A request task: begun by the acceptor (tid 1), handled in regions on workers 2 then 3. */
START_TEST(task_hops_threads)
{
	tfix f;
	tfix_open(&f, true);
	thread_runs(&f, 1, 1000);
	thread_runs(&f, 2, 1000);
	thread_runs(&f, 3, 1000);
	ct_tw_task_begin(f.w, 1, 1100, 9, 0, "request", 0);
	ct_tw_region_begin(f.w, 2, 1200, "parse", 9, 1, 0);
	ct_tw_region_end(f.w, 2, 1300, "parse", 9, 1, 0);
	ct_tw_log(f.w, 2, 1310, 9, "queue", "handed to 3", 0);
	ct_tw_region_begin(f.w, 3, 1400, "reply", 9, 1, 0);
	ct_tw_region_end(f.w, 3, 1600, "reply", 9, 1, 0);
	ct_tw_task_end(f.w, 3, 1650, 9, 0);
	ct_tw_region_begin(f.w, 3, 1700, "other", 0, 1, 0);
	ct_tw_region_end(f.w, 3, 1800, "other", 0, 1, 0);
	tfix_built b = tfix_build(&f, 2000);
	const ct_trace_model *m = b.m;
	ck_assert_uint_eq(m->ntasks, 1);
	const ct_task *k = &m->tasks[0];
	ck_assert_uint_eq(k->id, 9);
	ck_assert_str_eq(k->name, "request");
	ck_assert_uint_eq(k->start, 1100);
	ck_assert_uint_eq(k->end, 1650);
	ck_assert_uint_eq(k->begin_tid, 1);
	ck_assert_uint_eq(k->end_tid, 3);
	ck_assert(k->ended);
	ck_assert_uint_eq(k->nregions, 2);
	const ct_region *parse = region_named(m, "parse", 0), *reply = region_named(m, "reply", 0);
	ck_assert_uint_eq(parse->task, 0);
	ck_assert_uint_eq(reply->task, 0);
	ck_assert_uint_eq(m->threads[parse->thread].tid, 2);
	ck_assert_uint_eq(m->threads[reply->thread].tid, 3);
	ck_assert_uint_eq(region_named(m, "other", 0)->task, CT_NO_EVENT);
	ck_assert_uint_eq(m->nlogs, 1);
	ck_assert_uint_eq(m->logs[0].task, 0);
	ck_assert_str_eq(m->logs[0].msg, "handed to 3");
	ck_assert_uint_eq(m->threads[m->logs[0].thread].tid, 2);
	tfix_release(&b);
}
END_TEST

/* Thread 7 inside "work" [1100, 1700): runs 100, waits on a mutex 300, runnable 200. */
static tfix_built state_scenario(void)
{
	tfix f;
	tfix_open(&f, true);
	uint32_t s = tfix_stack(&f, site, 2);
	thread_runs(&f, 7, 1000);
	ct_tw_region_begin(f.w, 7, 1100, "work", 0, 1, 0);
	ct_tw_wait(f.w, 7, 1200, 1500, CT_WAIT_MUTEX, 0xabc, s);
	ct_tw_switch_out(f.w, 7, 1200, 0, false);
	ct_tw_switch_in(f.w, 7, 1500, 0);
	ct_tw_switch_out(f.w, 7, 1500, 0, true);
	ct_tw_switch_in(f.w, 7, 1700, 1);
	ct_tw_region_end(f.w, 7, 1700, "work", 0, 1, 0);
	ct_tw_sample(f.w, 7, 1150, s, 50);
	ct_tw_sample(f.w, 7, 1800, s, 50);
	return tfix_build(&f, 2000);
}

START_TEST(state_in_region)
{
	tfix_built b = state_scenario();
	uint64_t st[CT_TS_NSTATES] = {0}, rs[CT_WAIT_NREASONS] = {0};
	ct_region_states(b.m, region_named(b.m, "work", 0), st, rs);
	ck_assert_uint_eq(st[CT_TS_RUNNING], 100);
	ck_assert_uint_eq(st[CT_TS_WAITING], 300);
	ck_assert_uint_eq(st[CT_TS_RUNNABLE], 200);
	ck_assert_uint_eq(rs[CT_WAIT_MUTEX], 300);
	tfix_release(&b);
}
END_TEST

START_TEST(focus)
{
	tfix_built b = state_scenario();
	ct_trace_model *m = b.m;
	ck_assert_int_eq(ct_trace_model_focus(m, "nope"), -ENOENT);
	ck_assert_ptr_null(m->focus);
	ck_assert_int_eq(ct_trace_model_focus(m, "work"), 0);
	ck_assert_str_eq(m->focus, "work");
	ck_assert_uint_eq(m->nthreads, 1);
	const ct_thread *th = &m->threads[0];
	uint64_t sum = 0;
	for (size_t k = 0; k < th->niv; k++) {
		ck_assert_uint_ge(th->iv[k].start, 1100);
		ck_assert_uint_le(th->iv[k].end, 1700);
		sum += th->iv[k].end - th->iv[k].start;
	}
	ck_assert_uint_eq(sum, 600);
	ck_assert_uint_eq(th->nsamples, 1); /* the one at 1150 */
	ck_assert_uint_eq(m->nregions, 1);
	/* the wall profile of the focused model is the region's 600 ns; sync its mutex wait */
	ct_profile *p;
	ck_assert_int_eq(ct_trace_pprof(m, CT_TP_WALL, &p), 0);
	int64_t wall = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		wall += p->samples[i].values[1];
	ck_assert_int_eq(wall, 600);
	ct_profile_free(p);
	ck_assert_int_eq(ct_trace_pprof(m, CT_TP_SYNC, &p), 0);
	int64_t sync = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		sync += p->samples[i].values[1];
	ck_assert_int_eq(sync, 300);
	ct_profile_free(p);
	tfix_release(&b);
}
END_TEST

/* Task 9 "request" begun on 1; on 2 "handle" [1200, 1600) holding "parse" [1250, 1300)
 * and a log; on 3 "handle" [1400, 1800). Both handles are in the task. */
static tfix_built views_scenario(void)
{
	tfix f;
	tfix_open(&f, true);
	for (uint32_t tid = 1; tid <= 3; tid++)
		thread_runs(&f, tid, 1000);
	ct_tw_task_begin(f.w, 1, 1100, 9, 0, "request", 0);
	ct_tw_region_begin(f.w, 2, 1200, "handle", 9, 1, 0);
	ct_tw_region_begin(f.w, 2, 1250, "parse", 9, 2, 0);
	ct_tw_log(f.w, 2, 1260, 9, "http", "GET /x", 0);
	ct_tw_region_end(f.w, 2, 1300, "parse", 9, 2, 0);
	ct_tw_region_end(f.w, 2, 1600, "handle", 9, 1, 0);
	ct_tw_region_begin(f.w, 3, 1400, "handle", 9, 1, 0);
	ct_tw_region_end(f.w, 3, 1800, "handle", 9, 1, 0);
	ct_tw_task_end(f.w, 3, 1850, 9, 0);
	return tfix_build(&f, 2000);
}

__attribute__((noinline)) static char *render(int (*fn)(FILE *, const ct_trace_model *),
					      const ct_trace_model *m, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	ck_assert_int_eq(fn(f, m), 0);
	fclose(f);
	return buf;
}

static int sched(FILE *out, const ct_trace_model *m)
{
	return ct_trace_report_sched(out, m, 0);
}

START_TEST(chrome_regions)
{
	tfix_built b = views_scenario();
	size_t len;
	char *json = render(ct_trace_export_chrome, b.m, &len);
	struct {
		char name[16];
		unsigned long ts, tsf, dur, durf;
		unsigned tid;
	} x[4];
	int n = 0;
	for (const char *l = json; (l = strstr(l, "{\"ph\":\"X\",\"cat\":\"region\"")); l++) {
		ck_assert_int_lt(n, 4);
		ck_assert_int_eq(sscanf(l,
					"{\"ph\":\"X\",\"cat\":\"region\",\"name\":\"%15[^\"]\","
					"\"ts\":%lu.%lu,\"dur\":%lu.%lu,\"pid\":%*d,\"tid\":%u",
					x[n].name, &x[n].ts, &x[n].tsf, &x[n].dur, &x[n].durf,
					&x[n].tid),
				 6);
		n++;
	}
	ck_assert_int_eq(n, 3);
	/* on 2's region lane: handle at +0.200 µs for 0.400 µs, parse inside it */
	ck_assert_str_eq(x[0].name, "handle");
	ck_assert_uint_eq(x[0].tid, 2 + (1u << 30));
	ck_assert_uint_eq(x[0].ts * 1000 + x[0].tsf, 200);
	ck_assert_uint_eq(x[0].dur * 1000 + x[0].durf, 400);
	ck_assert_str_eq(x[1].name, "parse");
	ck_assert_uint_eq(x[1].tid, x[0].tid);
	ck_assert_uint_eq(x[1].ts * 1000 + x[1].tsf, 250);
	ck_assert_uint_eq(x[1].dur * 1000 + x[1].durf, 50);
	ck_assert_uint_eq(x[2].tid, 3 + (1u << 30));
	ck_assert_ptr_nonnull(strstr(json, "\"args\":{\"name\":\"thread 2 regions\"}"));
	ck_assert_ptr_nonnull(strstr(json, "{\"ph\":\"b\",\"cat\":\"task\",\"name\":\"request\","
					   "\"ts\":0.100,\"pid\":100,\"tid\":1,\"id\":\"0x9\""));
	ck_assert_ptr_nonnull(strstr(json, "{\"ph\":\"e\",\"cat\":\"task\",\"name\":\"request\","
					   "\"ts\":0.850,\"pid\":100,\"tid\":3,\"id\":\"0x9\""));
	ck_assert_ptr_nonnull(strstr(json, "{\"ph\":\"i\",\"cat\":\"log\",\"s\":\"t\",\"name\":"
					   "\"http\",\"ts\":0.260,\"pid\":100,\"tid\":2,"
					   "\"args\":{\"message\":\"GET /x\",\"task\":9"));
	free(json);
	tfix_release(&b);
}
END_TEST

START_TEST(perfetto_regions)
{
	tfix_built b = views_scenario();
	size_t len;
	char *pb = render(ct_trace_export_perfetto, b.m, &len);
	Perfetto__Protos__Trace *tr =
		perfetto__protos__trace__unpack(NULL, len, (const uint8_t *)pb);
	ck_assert_ptr_nonnull(tr);
	uint64_t thread_of_tid2 = 0, regions2 = 0, request = 0;
	for (size_t i = 0; i < tr->n_packet; i++) {
		const Perfetto__Protos__TrackDescriptor *td = tr->packet[i]->track_descriptor;
		if (td && td->thread && td->thread->tid == 2)
			thread_of_tid2 = td->uuid;
		if (td && td->name && !strcmp(td->name, "regions") &&
		    td->parent_uuid == thread_of_tid2)
			regions2 = td->uuid;
		if (td && td->name && !strcmp(td->name, "request"))
			request = td->uuid;
	}
	ck_assert_uint_ne(regions2, 0);
	ck_assert_uint_ne(request, 0);
	/* on 2's regions track: B handle, B parse, E, E, in nesting order */
	char seq[64] = "";
	uint64_t flow = 0;
	int flowed = 0, logs = 0, task_slices = 0;
	for (size_t i = 0; i < tr->n_packet; i++) {
		const Perfetto__Protos__TrackEvent *e = tr->packet[i]->track_event;
		if (!e)
			continue;
		if (e->track_uuid == regions2) {
			size_t at = strlen(seq);
			snprintf(seq + at, sizeof(seq) - at, "%s%s@%llu ",
				 e->type == PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN
					 ? "B:"
					 : "E",
				 e->type == PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN
					 ? e->name
					 : "",
				 (unsigned long long)tr->packet[i]->timestamp);
		}
		if (e->n_flow_ids && e->name && !strcmp(e->name, "handle")) {
			ck_assert(!flow || flow == e->flow_ids[0]);
			flow = e->flow_ids[0];
			flowed++;
		}
		if (e->track_uuid == request)
			task_slices++;
		if (e->name && !strcmp(e->name, "http") && e->n_debug_annotations &&
		    !strcmp(e->debug_annotations[0]->string_value, "GET /x"))
			logs++;
	}
	ck_assert_str_eq(seq, "B:handle@200 B:parse@250 E@300 E@600 ");
	ck_assert_int_eq(flowed, 2); /* the task's regions on 2 and 3 are one flow */
	ck_assert_int_eq(task_slices, 2);
	ck_assert_int_eq(logs, 1);
	perfetto__protos__trace__free_unpacked(tr, NULL);
	free(pb);
	tfix_release(&b);
}
END_TEST

START_TEST(sched_regions_table)
{
	tfix_built b = views_scenario();
	size_t len;
	char *txt = render(sched, b.m, &len);
	ck_assert_ptr_nonnull(strstr(txt, "\nregions (by total time"));
	const char *row = strstr(txt, "\n  handle ");
	ck_assert_ptr_nonnull(row);
	char total[16], mean[16], p50[16], p99[16], max[16];
	unsigned count;
	ck_assert_int_eq(sscanf(row, " handle %u %15s %15s %15s %15s %15s", &count, total, mean,
				p50, p99, max),
			 6);
	ck_assert_uint_eq(count, 2);
	ck_assert_str_eq(total, "800ns");
	ck_assert_str_eq(mean, "400ns");
	ck_assert_str_eq(p50, "400ns");
	ck_assert_str_eq(max, "400ns");
	ck_assert_ptr_nonnull(strstr(txt, "\n  parse "));
	ck_assert_ptr_nonnull(strstr(txt, "tasks: 1 (1 ended); logs: 1\n"));
	free(txt);
	tfix_release(&b);
}
END_TEST

static Suite *traceann_suite(void)
{
	return CT_CHECK_SUITE("traceann", roundtrip, decode_errors, reader_names_offset, nesting,
			      task_hops_threads, state_in_region, focus, chrome_regions,
			      perfetto_regions, sched_regions_table);
}

CT_CHECK_MAIN(traceann_suite)
