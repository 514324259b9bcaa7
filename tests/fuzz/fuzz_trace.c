/*
 * fuzz_trace.c — libFuzzer target: the trace.ctr reader, the state model and every trace
 * view on arbitrary bytes.
 *
 * Chunk checksums are not verified (ct_trace_read_opts.skip_crc), so that mutations reach
 * the parser behind them. Decoding must never crash, hang, leak or trip a sanitizer; it
 * fails with a message, an offset and no trace, or succeeds with a trace whose model keeps
 * its invariants (each thread's intervals contiguous, non-empty, inside [begin, end)) and
 * whose views (--sched text, Chrome JSON, every trace-derived pprof kind, the Perfetto
 * export, the timeline page) render without error. Annotations keep theirs too (regions
 * inside their parents, indexes in range), and the model focused on a region name keeps
 * ordered, non-overlapping intervals and renders again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "libtrace/pprof.h"
#include "libtrace/timeline.h"
#include "libtrace/tracechrome.h"
#include "libtrace/traceperfetto.h"
#include "libtrace/traceprof.h"
#include "libtrace/traceregions.h"
#include "libtrace/tracesched.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_trace: broken invariant: %s\n", what);
		abort();
	}
}

static void check_model(const ct_trace_model *m)
{
	for (uint32_t i = 0; i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		uint64_t at = th->begin;
		require(th->begin <= th->end, "thread begin <= end");
		for (size_t k = 0; k < th->niv; k++) {
			require(th->iv[k].start == at, "intervals contiguous");
			require(th->iv[k].end > th->iv[k].start, "intervals non-empty");
			at = th->iv[k].end;
		}
		require(!th->niv || at == th->end, "intervals end at the thread's end");
	}
}

static void check_annotations(const ct_trace_model *m)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const ct_region *r = &m->regions[i];
		require(r->start <= r->end && r->depth >= 1, "region start <= end, depth >= 1");
		require(r->thread == CT_NO_EVENT || r->thread < m->nthreads, "region thread");
		require(r->task == CT_NO_EVENT || r->task < m->ntasks, "region task");
		if (r->parent == CT_NO_EVENT) {
			require(r->depth == 1, "an outermost region has depth 1");
			continue;
		}
		require(r->parent < i, "parent before child");
		const ct_region *p = &m->regions[r->parent];
		require(p->start <= r->start && r->end <= p->end && p->depth + 1 == r->depth,
			"a region inside its parent");
	}
	for (uint32_t i = 0; i < m->nlogs; i++)
		require(m->logs[i].task == CT_NO_EVENT || m->logs[i].task < m->ntasks, "log task");
}

/* The model restricted to the first region's name: ordered intervals without overlap. */
static void check_focus(ct_trace_model *m)
{
	if (!m->nregions)
		return;
	require(ct_trace_model_focus(m, m->regions[0].name) == 0, "focus");
	for (uint32_t i = 0; i < m->nthreads; i++) {
		const ct_thread *th = &m->threads[i];
		for (size_t k = 0; k < th->niv; k++) {
			require(th->iv[k].end > th->iv[k].start, "focused intervals non-empty");
			require(!k || th->iv[k].start >= th->iv[k - 1].end,
				"focused intervals ordered");
		}
	}
	check_annotations(m);
}

static void render(const ct_trace_model *m)
{
	FILE *null = fopen("/dev/null", "w");
	require(null != NULL, "/dev/null");
	require(ct_trace_report_sched(null, m, 5) == 0, "sched report");
	require(ct_trace_export_chrome(null, m) == 0, "chrome export");
	require(ct_trace_export_perfetto(null, m) == 0, "perfetto export");
	require(ct_timeline_write_html(null, m) == 0, "timeline");
	fclose(null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ct_trace *t = NULL;
	ct_error err = {.offset = -1};
	ct_trace_read_opts o = {.skip_crc = true};
	if (ct_trace_decode_opts(data, size, &o, &t, &err)) {
		require(t == NULL && err.msg[0] != '\0' && err.offset >= -1, "failure contract");
		return 0;
	}
	require(t != NULL, "success contract");
	ct_trace_model *m = NULL;
	require(ct_trace_model_build(t, &m) == 0, "model");
	check_model(m);
	check_annotations(m);
	render(m);
	ct_profile *p = NULL;
	require(ct_trace_pprof_sched_latency(m, &p) == 0, "sched latency");
	uint8_t *buf;
	size_t len;
	require(ct_pprof_encode(p, false, &buf, &len) == 0, "sched latency encodes");
	free(buf);
	ct_profile_free(p);
	for (int k = 0; k < CT_TP_NKINDS; k++) {
		require(ct_trace_pprof(m, (ct_trace_pprof_kind)k, &p) == 0, "trace pprof");
		require(ct_pprof_encode(p, false, &buf, &len) == 0, "trace pprof encodes");
		free(buf);
		ct_profile_free(p);
	}
	check_focus(m);
	render(m);
	ct_trace_model_free(m);
	ct_trace_free(t);
	return 0;
}
