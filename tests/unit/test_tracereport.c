/*
 * test_tracereport.c — the trace analyses over one hand-built scenario with known state
 * times: the --sched report's numbers (per-thread running/runnable/waiting, load line,
 * longest waits with stacks and wakers, leaked threads), the Chrome JSON export (parsed
 * and checked by python3's json module: thread names with quotes, control characters and
 * invalid UTF-8, non-overlapping slices per thread, paired flows), and the scheduler-latency
 * pprof profile (decoded back; its delays sum to the runnable time).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/pprof.h"
#include "libtrace/tracechrome.h"
#include "libtrace/traceprof.h"
#include "libtrace/tracesched.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/tracefix.h"

#define T0 1000000000ull
#define MS 1000000ull

static const uintptr_t s_cpu[] = {0x100, 0x300}, s_wait[] = {0x200, 0x300},
		       s_unlock[] = {0x400, 0x300}, s_join[] = {0x500, 0x300};

/* main (tid 100 = pid) runs on cpu0 throughout; worker (101) is created, preempted, waits
 * 20 ms on a mutex main releases, exits; a thread with a hostile name (102) blocks in join
 * until the end. */
static void scenario(tfix *f)
{
	uint32_t cpu = tfix_stack(f, s_cpu, 2), wait = tfix_stack(f, s_wait, 2);
	uint32_t unlock = tfix_stack(f, s_unlock, 2), join = tfix_stack(f, s_join, 2);
	ct_tw_name(f->w, 100, T0, "main");
	ct_tw_switch_in(f->w, 100, T0, 0);
	ct_tw_create(f->w, 100, T0 + 1 * MS, 101, 0);
	ct_tw_create(f->w, 100, T0 + 2 * MS, 102, 0);
	ct_tw_name(f->w, 101, T0 + 1 * MS, "worker");
	ct_tw_switch_in(f->w, 101, T0 + 3 * MS, 1);
	ct_tw_sample(f->w, 101, T0 + 12 * MS, cpu, MS);
	ct_tw_switch_out(f->w, 101, T0 + 13 * MS, 1, true);
	ct_tw_switch_in(f->w, 101, T0 + 18 * MS, 1);
	ct_tw_switch_out(f->w, 101, T0 + 20 * MS, 1, false);
	ct_tw_unblock(f->w, 100, T0 + 39 * MS, 101, 0xabc, unlock);
	ct_tw_switch_in(f->w, 101, T0 + 40 * MS, 1);
	ct_tw_wait(f->w, 101, T0 + 19 * MS + MS / 2, T0 + 40 * MS, CT_WAIT_MUTEX, 0xabc, wait);
	ct_tw_exit(f->w, 101, T0 + 50 * MS);
	ct_tw_flush(f->w, T0 + 50 * MS);
	ct_tw_name(f->w, 102, T0 + 2 * MS, "st\"uck\x01\xff");
	ct_tw_switch_in(f->w, 102, T0 + 2 * MS, 1);
	ct_tw_switch_out(f->w, 102, T0 + 3 * MS, 1, false);
	ct_tw_wait(f->w, 102, T0 + 2 * MS + MS / 2, CT_TW_OPEN, CT_WAIT_JOIN, 101, join);
}

/* Names every location by its offset in the module, as the symbolizer would. */
static void symbolize(ct_trace *t)
{
	static const char *const names[] = {"",	    "cpu_work", "lock_wait",
					    "main", "unlock",	"join_wait"};
	ct_profile *p = t->prof;
	for (uint32_t i = 0; i < p->nlocations; i++) {
		uint64_t k = (p->locations[i].address + 1 - TFIX_BASE) >> 8;
		ck_assert_uint_lt(k, 6);
		ct_line l = {.function = ct_profile_add_function(p, names[k], names[k], "app.c", 1),
			     .line = 10};
		ck_assert_int_eq(ct_profile_set_lines(p, i, &l, 1), 0);
	}
}

typedef struct {
	ct_trace *t;
	ct_trace_model *m;
} built;

static built build(bool switches)
{
	tfix f;
	tfix_open(&f, switches);
	scenario(&f);
	built b = {.t = tfix_read(&f, T0 + 100 * MS)};
	symbolize(b.t);
	ck_assert_int_eq(ct_trace_model_build(b.t, &b.m), 0);
	return b;
}

static void release(built *b)
{
	ct_trace_model_free(b->m);
	ct_trace_free(b->t);
}

static char *sched_text(const ct_trace_model *m)
{
	ct_check_mem mem;
	FILE *f = ct_check_mem_open(&mem);
	ck_assert_int_eq(ct_trace_report_sched(f, m, 5), 0);
	return ct_check_mem_close(&mem);
}

static void has(const char *text, const char *want)
{
	ck_assert_msg(strstr(text, want) != NULL, "missing \"%s\" in:\n%s", want, text);
}

START_TEST(sched_report)
{
	built b = build(true);
	char *s = sched_text(b.m);
	has(s, "trace: pid 100, /usr/bin/app --flag; engine perf; 100ms; 3 threads; 2 chunks\n");
	/* tid, name, lifetime, running, runnable, count, max, max at, waiting, switches,
	 * preempted, reasons. */
	has(s, "     100  main                 100ms     100ms         0      0         0         "
	       "-         0        0        0    (alive at end)\n");
	has(s, "     101  worker                49ms      22ms       7ms      2       5ms      "
	       "13ms      20ms        2        1  mutex 20ms\n");
	has(s,
	    "     102  st\"uck\\x01\\xff        98ms       1ms         0      0         0         "
	    "-      97ms        1        0  join 97ms  (alive at end)\n");
	has(s, "total: running 123ms, runnable 7ms, waiting 117ms (join 97ms, mutex 20ms)\n");
	has(s, "load: 2 CPUs used; busy cpu0 100.0% cpu1 23.0%; runnable while a CPU sat idle: "
	       "6ms\n");
	has(s, "  1. st\"uck\\x01\\xff (102): join 97ms at +3ms, object 0x65\n"
	       "        join_wait\n        main\n");
	has(s, "  2. worker (101): mutex 20ms at +20ms, object 0xabc\n"
	       "        lock_wait\n        main\n"
	       "      unblocked by main (100) at +39ms\n        unlock\n        main\n");
	has(s, "threads alive when the trace ended (leaked, stuck, or never joined)\n"
	       "  main (100) [main]: running\n"
	       "  st\"uck\\x01\\xff (102): waiting (join) for 97ms since +3ms, object 0x65\n"
	       "        join_wait\n");
	free(s);
	release(&b);
}
END_TEST

START_TEST(sched_report_timer_engine)
{
	built b = build(false);
	char *s = sched_text(b.m);
	has(s, "note: no context-switch records (timer engine): running and runnable are merged "
	       "into \"on CPU or runnable\"\n");
	has(s, "ONCPU|RUN");
	/* worker: on CPU or runnable for its lifetime minus the 20.5 ms hook wait. */
	has(s, "     101  worker                49ms    28.5ms         -      -         -         "
	       "-    20.5ms        0        0  mutex 20.5ms\n");
	ck_assert_ptr_null(strstr(s, "load:"));
	free(s);
	release(&b);
}
END_TEST

/* python3 checks the JSON: it parses, names survive, slices of a thread never overlap and
 * tile its life, flows come in s/f pairs, the wait carries reason, object and stack. */
static const char *check_py =
	"import json,sys\n"
	"d=json.load(open(sys.argv[1]))\n"
	"ev=d['traceEvents']\n"
	"names={e['tid']:e['args']['name'] for e in ev if e['ph']=='M' and "
	"e['name']=='thread_name'}\n"
	"assert names=={100:'main',101:'worker',102:'st\"uck\\x3f\\x3f'},names\n"
	"x={}\n"
	"for e in ev:\n"
	"  if e['ph']=='X':\n"
	"    assert e['cat']=='state' and e['pid']==100\n"
	"    "
	"x.setdefault(e['tid'],[]).append((e['ts'],e['ts']+e['dur'],e['name'],e.get('args',{})))\n"
	"for tid,l in x.items():\n"
	"  l.sort()\n"
	"  for a,b in zip(l,l[1:]): assert abs(a[1]-b[0])<1e-6,(tid,a,b)\n"
	"w=[s for s in x[101] if s[2]=='waiting'][0]\n"
	"assert w[3]=={'reason':'mutex','object':'0xabc','stack':['lock_wait','main']},w\n"
	"assert abs(w[0]-20000)<1e-6 and abs(w[1]-40000)<1e-6,w\n"
	"fl=[e for e in ev if e['ph'] in 'sf']\n"
	"assert [e['ph'] for e in fl]==['s','f'] and fl[0]['id']==fl[1]['id'],fl\n"
	"assert fl[0]['tid']==100 and fl[0]['ts']==39000 and fl[1]['tid']==101 and "
	"fl[1]['ts']==40000\n"
	"i=[e for e in ev if e['ph']=='i']\n"
	"assert len(i)==1 and i[0]['args']['stack']==['cpu_work','main'] and i[0]['ts']==12000\n"
	"assert d['otherData']['states_merged'] is False\n"
	"print('ok', len(ev))\n";

START_TEST(chrome_json)
{
	built b = build(true);
	char json[] = "/tmp/ct_chrome_XXXXXX", py[] = "/tmp/ct_check_XXXXXX";
	int fd = mkstemp(json), pfd = mkstemp(py);
	ck_assert(fd >= 0 && pfd >= 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_int_eq(ct_trace_export_chrome(f, b.m), 0);
	fclose(f);
	ck_assert_int_eq(write(pfd, check_py, strlen(check_py)), (ssize_t)strlen(check_py));
	close(pfd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "python3 %s %s", py, json);
	ck_assert_int_eq(system(cmd), 0);
	unlink(json);
	unlink(py);
	release(&b);
}
END_TEST

static int64_t label_num(const ct_sample *s, const char *key)
{
	for (uint32_t i = 0; i < s->nlabels; i++)
		if (!strcmp(s->labels[i].key, key))
			return s->labels[i].num;
	return -1;
}

static const char *label_str(const ct_sample *s, const char *key)
{
	for (uint32_t i = 0; i < s->nlabels; i++)
		if (!strcmp(s->labels[i].key, key))
			return s->labels[i].str;
	return NULL;
}

START_TEST(sched_latency_profile)
{
	built b = build(true);
	ct_profile *p;
	ck_assert_int_eq(ct_trace_pprof_sched_latency(b.m, &p), 0);
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(ct_pprof_encode(p, true, &buf, &len), 0);
	ct_profile_free(p);
	ct_error err;
	ck_assert_int_eq(ct_pprof_decode(buf, len, &p, &err), 0);
	free(buf);
	ck_assert_uint_eq(p->nsample_types, 2);
	ck_assert_str_eq(p->sample_types[1].type, "delay");
	ck_assert_str_eq(p->sample_types[1].unit, "nanoseconds");
	ck_assert_uint_eq(p->nsamples, 2);
	int64_t total = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		total += s->values[1];
		ck_assert_int_eq(s->values[0], 1);
		ck_assert_str_eq(label_str(s, "thread"), "worker");
		ck_assert_int_eq(label_num(s, "tid"), 101);
		const char *leaf = p->functions[p->locations[s->locs[0]].lines[0].function].name;
		if (s->values[1] == (int64_t)(5 * MS)) {
			/* preempted at 13 ms, its sample 1 ms (one period) before: exact */
			ck_assert_str_eq(leaf, "cpu_work");
			ck_assert_uint_eq(s->nlocs, 2);
			ck_assert_ptr_null(label_str(s, "approx"));
		} else {
			/* runnable from creation: no sample yet */
			ck_assert_int_eq(s->values[1], (int64_t)(2 * MS));
			ck_assert_str_eq(leaf, "[no sample]");
			ck_assert_str_eq(label_str(s, "approx"), "1");
		}
	}
	ck_assert_int_eq(total, (int64_t)(7 * MS));
	ck_assert_int_eq(p->duration_nanos, (int64_t)(100 * MS));
	ct_profile_free(p);
	release(&b);
}
END_TEST

static Suite *suite(void)
{
	return CT_CHECK_SUITE("tracereport", sched_report, sched_report_timer_engine, chrome_json,
			      sched_latency_profile);
}

CT_CHECK_MAIN(suite)
