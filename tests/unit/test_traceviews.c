/*
 * test_traceviews.c — the views issue 12 adds over the trace model, on a generated
 * scenario with every state and wait reason, unblock edges and samples: the trace-derived
 * pprof profiles (each kind's nanoseconds equal the model's total time in the states it
 * takes, decoded back through the pprof reader; labels as documented), the Perfetto export
 * (decoded with the proto subset: the same slices as the Chrome JSON export, flows, thread
 * names, counters; at most a third of the JSON's size even with these shallow stacks),
 * the Chrome export's thread states as sched_switch text (--chrome-states), and the
 * timeline page (self-contained, names escaped).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/pprof.h"
#include "libtrace/timeline.h"
#include "libtrace/tracechrome.h"
#include "libtrace/traceperfetto.h"
#include "libtrace/traceprof.h"
#include "proto/perfetto_trace.pb-c.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/tracefix.h"

#define T0 1000000000ull
#define US 1000ull
#define MS 1000000ull
#define NTH 5

/* NTH threads on 2 CPUs, in turns: each slice runs, takes a sample, then is preempted or
 * waits with the next reason (sync waits ended by an unblock from thread 100); thread 104
 * is left waiting at the end. */
static void scenario(tfix *f)
{
	uintptr_t off[2] = {0x100, 0x300};
	uint32_t cpu = tfix_stack(f, off, 2);
	ct_tw_name(f->w, 100, T0, "main");
	for (uint32_t k = 1; k < NTH; k++) {
		char name[32];
		ct_tw_create(f->w, 100, T0 + k * US, 100 + k, cpu);
		snprintf(name, sizeof(name), k == 2 ? "q\"uote</script>" : "worker-%u", k);
		ct_tw_name(f->w, 100 + k, T0 + k * US, name);
	}
	uint64_t t = T0 + 10 * US;
	unsigned turn = 0;
	for (int round = 0; round < 30; round++) {
		for (uint32_t k = 0; k < NTH; k++, turn++) {
			uint32_t tid = 100 + k, c = k % 2;
			uint64_t d = (50 + 13 * (turn % 7)) * US;
			ct_tw_switch_in(f->w, tid, t, c);
			ct_tw_sample(f->w, tid, t + d / 2, cpu, MS);
			bool preempt = turn % 3 == 0;
			ct_tw_switch_out(f->w, tid, t + d, c, preempt);
			if (!preempt) {
				ct_wait_reason r = (ct_wait_reason)(turn % CT_WAIT_NREASONS);
				uintptr_t w[2] = {0x400 + 0x10 * r, 0x300};
				uint64_t end = t + d + 200 * US;
				bool open = k == 4 && round == 29;
				ct_tw_wait(f->w, tid, t + d - US, open ? CT_TW_OPEN : end, r,
					   0x1000 + r, tfix_stack(f, w, 2));
				if (!open && k && (ct_wait_reason_is_sync(r) || r == CT_WAIT_JOIN))
					ct_tw_unblock(f->w, 100, end - US, tid, 0x1000 + r, cpu);
			}
			t += d + 5 * US;
		}
		if (round % 10 == 9)
			ct_tw_flush(f->w, t);
	}
}

typedef struct {
	ct_trace *t;
	ct_trace_model *m;
} built;

static built build(void)
{
	tfix f;
	tfix_open(&f, true);
	scenario(&f);
	built b = {.t = tfix_read(&f, T0 + 200 * MS)};
	ck_assert_int_eq(ct_trace_model_build(b.t, &b.m), 0);
	return b;
}

static void release(built *b)
{
	ct_trace_model_free(b->m);
	ct_trace_free(b->t);
}

/* The model's nanoseconds in state st (and, for waiting, a reason kind wants). */
static uint64_t model_total(const ct_trace_model *m, ct_trace_pprof_kind kind)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		for (size_t k = 0; k < th->niv; k++) {
			const ct_interval *iv = &th->iv[k];
			ct_wait_reason r = (ct_wait_reason)iv->reason;
			bool w = iv->state == CT_TS_WAITING;
			bool take = kind == CT_TP_WALL	  ? true
				    : kind == CT_TP_SCHED ? iv->state == CT_TS_RUNNABLE
				    : kind == CT_TP_SYNC
					    ? w && (ct_wait_reason_is_sync(r) || r == CT_WAIT_JOIN)
				    : kind == CT_TP_NET	  ? w && r == CT_WAIT_NET
				    : kind == CT_TP_IO	  ? w && r == CT_WAIT_IO
				    : kind == CT_TP_SLEEP ? w && r == CT_WAIT_SLEEP
							  : false;
			if (take)
				sum += iv->end - iv->start;
		}
	}
	return sum;
}

static const char *label(const ct_profile *p, const ct_sample *s, const char *key)
{
	for (uint32_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].key, key) == 0)
			return s->labels[i].str;
	(void)p;
	return NULL;
}

START_TEST(pprof_totals_equal_model)
{
	built b = build();
	uint64_t lifetimes = 0;
	for (uint32_t i = 0; i < b.m->nthreads; i++)
		lifetimes += b.m->threads[i].end - b.m->threads[i].begin;
	ck_assert_uint_eq(model_total(b.m, CT_TP_WALL), lifetimes);
	for (int k = 0; k < CT_TP_NKINDS; k++) {
		ct_profile *p;
		ck_assert_int_eq(ct_trace_pprof(b.m, (ct_trace_pprof_kind)k, &p), 0);
		/* through the wire and back, as go tool pprof reads it */
		uint8_t *buf;
		size_t len;
		ck_assert_int_eq(ct_pprof_encode(p, true, &buf, &len), 0);
		ct_profile_free(p);
		ct_error err = {.offset = -1};
		ck_assert_int_eq(ct_pprof_decode(buf, len, &p, &err), 0);
		free(buf);
		ck_assert_uint_eq(p->nsample_types, 2);
		ck_assert_str_eq(p->sample_types[1].unit, "nanoseconds");
		uint64_t total = 0;
		for (size_t i = 0; i < p->nsamples; i++) {
			const ct_sample *s = &p->samples[i];
			total += (uint64_t)s->values[1];
			ck_assert_ptr_nonnull(label(p, s, "thread"));
			if (k == CT_TP_WALL)
				ck_assert_ptr_nonnull(label(p, s, "state"));
			if (k != CT_TP_SCHED && k != CT_TP_WALL)
				ck_assert_ptr_nonnull(label(p, s, "reason"));
		}
		uint64_t want = model_total(b.m, (ct_trace_pprof_kind)k);
		ck_assert_msg(total == want, "%s: %llu != model %llu",
			      ct_trace_pprof_kind_name((ct_trace_pprof_kind)k),
			      (unsigned long long)total, (unsigned long long)want);
		ck_assert_msg(want > 0, "%s: the scenario has none",
			      ct_trace_pprof_kind_name((ct_trace_pprof_kind)k));
		ct_profile_free(p);
	}
	ck_assert_int_eq(ct_trace_pprof_kind_parse("wall"), CT_TP_WALL);
	ck_assert_int_eq(ct_trace_pprof_kind_parse("cpu"), -1);
	release(&b);
}
END_TEST

/* What writer makes of the model (malloc'd, *len bytes); the writer must succeed. */
static char *exported(int (*writer)(FILE *, const ct_trace_model *), const ct_trace_model *m,
		      size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	ck_assert_int_eq(writer(f, m), 0);
	fclose(f);
	return buf;
}

START_TEST(timeline_page)
{
	built b = build();
	size_t len;
	char *html = exported(ct_timeline_write_html, b.m, &len);
	ck_assert_ptr_nonnull(strstr(html, "<canvas"));
	ck_assert_ptr_null(strstr(html, "@CT_DATA@"));
	ck_assert_ptr_null(strstr(html, "@CT_SCRIPT@"));
	/* the hostile name is escaped inside the JSON: no early end of the script element */
	ck_assert_ptr_nonnull(strstr(html, "\"q\\\"uote\\u003c/script\\u003e\""));
	ck_assert_ptr_null(strstr(html, "uote</script>"));
	ck_assert_ptr_nonnull(strstr(html, "\"worker-1\""));
	ck_assert_ptr_null(strstr(html, "http:"));
	ck_assert_ptr_null(strstr(html, "https:"));
	ck_assert_ptr_null(strstr(html, " src="));
	ck_assert_ptr_nonnull(strstr(html, "default-src 'none'"));
	/* every reason by name */
	for (int r = 0; r < CT_WAIT_NREASONS; r++) {
		char want[32];
		snprintf(want, sizeof(want), "\"%s\"", ct_wait_reason_name((ct_wait_reason)r));
		ck_assert_ptr_nonnull(strstr(html, want));
	}
	free(html);
	release(&b);
}
END_TEST

typedef struct {
	uint32_t tid;
	uint64_t ts, dur; /* ns from the trace's start */
	char name[32];
} slice;

static int slice_cmp(const void *a, const void *b)
{
	const slice *x = a, *y = b;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* The X events of the Chrome JSON (one event per line). */
static slice *json_slices(const char *json, size_t *n)
{
	slice *v = calloc(200000, sizeof(*v));
	*n = 0;
	for (const char *l = json; (l = strstr(l, "{\"ph\":\"X\"")); l++) {
		unsigned long ts, tsf, dur, durf;
		slice *s = &v[*n];
		int got = sscanf(
			l,
			"{\"ph\":\"X\",\"cat\":\"state\",\"name\":\"%31[^\"]\",\"ts\":%lu.%lu,"
			"\"pid\":%*d,\"tid\":%u,\"dur\":%lu.%lu",
			s->name, &ts, &tsf, &s->tid, &dur, &durf);
		ck_assert_int_eq(got, 6);
		s->ts = ts * 1000 + tsf;
		s->dur = dur * 1000 + durf;
		ck_assert_uint_lt(++*n, 200000);
	}
	return v;
}

/* The slices of the Perfetto trace: B/E pairs per thread track, named by interned names. */
static slice *perfetto_slices(const Perfetto__Protos__Trace *tr, size_t *n, size_t *flows,
			      size_t *counters)
{
	slice *v = calloc(200000, sizeof(*v));
	const char *names[16] = {0};
	uint32_t tid_of[64] = {0};
	size_t open[64];
	*n = *flows = *counters = 0;
	for (size_t i = 0; i < tr->n_packet; i++) {
		const Perfetto__Protos__TracePacket *p = tr->packet[i];
		ck_assert_uint_eq(p->trusted_packet_sequence_id, 1);
		if (i == 0) {
			ck_assert_uint_eq(p->sequence_flags, 1);
			ck_assert_ptr_nonnull(p->trace_packet_defaults);
			ck_assert_uint_eq(p->trace_packet_defaults->track_event_defaults
						  ->n_extra_counter_track_uuids,
					  2);
		}
		if (p->interned_data)
			for (size_t k = 0; k < p->interned_data->n_event_names; k++) {
				const Perfetto__Protos__EventName *e =
					p->interned_data->event_names[k];
				ck_assert_uint_lt(e->iid, 16);
				names[e->iid] = e->name;
			}
		if (p->track_descriptor && p->track_descriptor->thread) {
			ck_assert_uint_lt(p->track_descriptor->uuid, 64);
			tid_of[p->track_descriptor->uuid] =
				(uint32_t)p->track_descriptor->thread->tid;
			ck_assert_ptr_nonnull(p->track_descriptor->thread->thread_name);
		}
		const Perfetto__Protos__TrackEvent *e = p->track_event;
		if (!e)
			continue;
		*flows += e->n_flow_ids;
		if (e->n_extra_counter_values) {
			ck_assert_uint_eq(e->n_extra_counter_values, 2);
			++*counters;
		}
		uint64_t u = e->track_uuid;
		if (e->type == PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_BEGIN) {
			ck_assert_uint_lt(u, 64);
			ck_assert_ptr_nonnull(names[e->name_iid]);
			open[u] = *n;
			v[*n] = (slice){.tid = tid_of[u], .ts = p->timestamp};
			snprintf(v[*n].name, sizeof(v[*n].name), "%s", names[e->name_iid]);
			++*n;
		} else if (e->type == PERFETTO__PROTOS__TRACK_EVENT__TYPE__TYPE_SLICE_END) {
			v[open[u]].dur = p->timestamp - v[open[u]].ts;
		}
	}
	return v;
}

START_TEST(perfetto_same_slices_as_json)
{
	built b = build();
	size_t jlen, plen;
	char *json = exported(ct_trace_export_chrome, b.m, &jlen);
	char *pb = exported(ct_trace_export_perfetto, b.m, &plen);
	Perfetto__Protos__Trace *tr =
		perfetto__protos__trace__unpack(NULL, plen, (const uint8_t *)pb);
	ck_assert_ptr_nonnull(tr);
	size_t nj, np, flows, counters;
	slice *js = json_slices(json, &nj), *ps = perfetto_slices(tr, &np, &flows, &counters);
	ck_assert_uint_gt(nj, 100);
	ck_assert_uint_eq(nj, np);
	qsort(js, nj, sizeof(*js), slice_cmp);
	qsort(ps, np, sizeof(*ps), slice_cmp);
	for (size_t i = 0; i < nj; i++) {
		ck_assert_uint_eq(js[i].tid, ps[i].tid);
		ck_assert_uint_eq(js[i].ts, ps[i].ts);
		ck_assert_uint_eq(js[i].dur, ps[i].dur);
		ck_assert_str_eq(js[i].name, ps[i].name);
	}
	/* every flow of the JSON (an "s" event) is a flow here */
	size_t jflows = 0;
	for (const char *l = json; (l = strstr(l, "{\"ph\":\"s\"")); l++)
		jflows++;
	ck_assert_uint_gt(jflows, 0);
	ck_assert_uint_eq(flows, jflows);
	ck_assert_uint_gt(counters, 2);
	/* two-frame stacks keep this JSON lean; deeper real stacks widen the gap (make bench
	 * measures it on 12-frame stacks) */
	ck_assert_msg(plen * 3 <= jlen, "perfetto %zu bytes, JSON %zu", plen, jlen);
	perfetto__protos__trace__free_unpacked(tr, NULL);
	free(js);
	free(ps);
	free(json);
	free(pb);
	release(&b);
}
END_TEST

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

/* --chrome-states: the --chrome document plus, in systemTraceEvents, a sched_switch into
 * every running interval, R+ out of each one followed by runnable time, S out of each one
 * followed by a wait, and a sched_wakeup per unblock flow; odd names sanitized. */
START_TEST(chrome_states_text)
{
	built b = build();
	size_t plen, slen;
	char *plain = exported(ct_trace_export_chrome, b.m, &plen);
	char *st = exported(ct_trace_export_chrome_states, b.m, &slen);
	const char *text = strstr(st, "\"systemTraceEvents\":\"# tracer: nop\\n");
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(strncmp(st, plain, plen - 3), 0); /* the same up to "]}\n" */
	ck_assert_ptr_null(strstr(plain, "systemTraceEvents"));
	size_t running = 0, preempted = 0, waited = 0;
	for (uint32_t i = 0; i < b.m->nthreads; i++) {
		const ct_thread *th = &b.m->threads[i];
		for (size_t k = 0; k < th->niv; k++) {
			if (th->iv[k].state != CT_TS_RUNNING)
				continue;
			running++;
			preempted += k + 1 < th->niv && th->iv[k + 1].state == CT_TS_RUNNABLE;
			waited += k + 1 < th->niv && th->iv[k + 1].state == CT_TS_WAITING;
		}
	}
	ck_assert_uint_gt(running, 100);
	ck_assert_uint_eq(count(text, "sched_switch:") - count(text, "next_pid=0 "), running);
	ck_assert_uint_eq(count(text, "prev_state=R+ "), preempted);
	ck_assert_uint_eq(count(text, "prev_state=S "), waited);
	ck_assert_uint_eq(count(text, "sched_wakeup:"), count(plain, "{\"ph\":\"s\""));
	ck_assert_uint_gt(count(text, "sched_wakeup:"), 0);
	ck_assert_ptr_nonnull(strstr(text, "prev_comm=q_uote</script>"));
	free(plain);
	free(st);
	release(&b);
}
END_TEST

static Suite *suite(void)
{
	return CT_CHECK_SUITE("traceviews", pprof_totals_equal_model, timeline_page,
			      perfetto_same_slices_as_json, chrome_states_text);
}

CT_CHECK_MAIN(suite)
