/*
 * test_tracemodel.c — thread states derived from trace events (libtrace/tracemodel.c) on
 * hand-tfix_built scenarios: creation, preemption, a wait covered by a hook (and the unblock
 * edge that ended it), a kernel wait, exit; every wait reason; the timer engine's merged
 * state; a thread still blocked at the end; tid reuse; and, on random event streams,
 * the invariant that a thread's intervals are contiguous and never overlap.
 */
#include <check.h>
#include <stdlib.h>

#include "libtrace/tracemodel.h"
#include "tests/unit/ct_check.h"
#include "tests/unit/tracefix.h"

static const uintptr_t wait_site[] = {0x200, 0x300};

static const ct_thread *thread(const ct_trace_model *m, uint32_t tid)
{
	for (uint32_t i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == tid)
			return &m->threads[i];
	ck_abort_msg("no thread %u", tid);
	return NULL;
}

static void iv_is(const ct_interval *iv, uint64_t start, uint64_t end, ct_thread_state s)
{
	ck_assert_uint_eq(iv->start, start);
	ck_assert_uint_eq(iv->end, end);
	ck_assert_str_eq(ct_thread_state_name(iv->state), ct_thread_state_name(s));
}

START_TEST(lifecycle)
{
	tfix f;
	tfix_open(&f, true);
	uint32_t s = tfix_stack(&f, wait_site, 2);
	ct_tw_switch_in(f.w, 1, 900, 1);
	ct_tw_create(f.w, 1, 1000, 2, 0);
	ct_tw_name(f.w, 2, 1050, "worker");
	ct_tw_switch_in(f.w, 2, 1100, 0);
	ct_tw_switch_out(f.w, 2, 1200, 0, true);
	ct_tw_switch_in(f.w, 2, 1300, 1);
	ct_tw_switch_out(f.w, 2, 1400, 1, false);
	ct_tw_switch_in(f.w, 2, 1600, 0);
	ct_tw_wait(f.w, 2, 1390, 1610, CT_WAIT_MUTEX, 0xabc, s);
	ct_tw_unblock(f.w, 1, 1450, 2, 0xabc, 0);
	ct_tw_unblock(f.w, 1, 1550, 2, 0xabc, 0); /* the later edge is the one that ended it */
	ct_tw_switch_out(f.w, 2, 1700, 0, false);
	ct_tw_switch_in(f.w, 2, 1800, 0);
	ct_tw_exit(f.w, 2, 1900);
	ct_tw_switch_out(f.w, 2, 1901, 0, false); /* the dying thread's last switch */
	tfix_built b = tfix_build(&f, 2000);
	ck_assert(!b.m->merged);
	ck_assert_uint_eq(b.m->nthreads, 2);
	ck_assert_uint_eq(b.m->ncpus, 2);
	const ct_thread *th = thread(b.m, 2);
	ck_assert_str_eq(th->name, "worker");
	ck_assert(th->created && !th->alive && th->creator == 1);
	ck_assert_uint_eq(th->begin, 1000);
	ck_assert_uint_eq(th->end, 1900);
	ck_assert_uint_eq(th->switches, 3);
	ck_assert_uint_eq(th->preemptions, 1);
	ck_assert_uint_eq(th->niv, 8);
	iv_is(&th->iv[0], 1000, 1100, CT_TS_RUNNABLE);
	iv_is(&th->iv[1], 1100, 1200, CT_TS_RUNNING);
	ck_assert_uint_eq(th->iv[1].cpu, 0);
	iv_is(&th->iv[2], 1200, 1300, CT_TS_RUNNABLE);
	iv_is(&th->iv[3], 1300, 1400, CT_TS_RUNNING);
	ck_assert_uint_eq(th->iv[3].cpu, 1);
	iv_is(&th->iv[4], 1400, 1600, CT_TS_WAITING);
	ck_assert_uint_eq(th->iv[4].reason, CT_WAIT_MUTEX);
	ck_assert_uint_eq(th->iv[4].object, 0xabc);
	ck_assert_uint_eq(th->iv[4].stack, 1);
	ck_assert_uint_ne(th->iv[4].unblock, CT_NO_EVENT);
	ck_assert_uint_eq(b.t->events[th->iv[4].unblock].time, 1550);
	ck_assert_uint_eq(b.t->events[th->iv[4].unblock].tid, 1);
	iv_is(&th->iv[5], 1600, 1700, CT_TS_RUNNING);
	iv_is(&th->iv[6], 1700, 1800, CT_TS_WAITING);
	ck_assert_uint_eq(th->iv[6].reason, CT_WAIT_KERNEL);
	ck_assert_uint_eq(th->iv[6].unblock, CT_NO_EVENT);
	iv_is(&th->iv[7], 1800, 1900, CT_TS_RUNNING);
	/* Thread 1: first seen switching in, so runnable before; alive at the end. */
	const ct_thread *main = thread(b.m, 1);
	ck_assert(main->alive && !main->created);
	ck_assert_uint_eq(main->niv, 1);
	iv_is(&main->iv[0], 900, 2000, CT_TS_RUNNING);
	tfix_release(&b);
}
END_TEST

/* One wait of every reason, each covering a voluntary switch; an edge with an unknown
 * woken tid is matched by object. */
START_TEST(every_reason)
{
	tfix f;
	tfix_open(&f, true);
	uint64_t t = 1000;
	ct_tw_switch_in(f.w, 5, t, 0);
	for (int r = 0; r < CT_WAIT_NREASONS; r++, t += 1000) {
		if (r == CT_WAIT_KERNEL)
			continue; /* kernel: the absence of a hook wait */
		ct_tw_wait(f.w, 5, t + 100, t + 600, (ct_wait_reason)r, 0x1000 + (uint64_t)r, 0);
		ct_tw_switch_out(f.w, 5, t + 200, 0, false);
		ct_tw_unblock(f.w, 6, t + 400, 0, 0x1000 + (uint64_t)r, 0);
		ct_tw_switch_in(f.w, 5, t + 500, 0);
	}
	tfix_built b = tfix_build(&f, t);
	const ct_thread *th = thread(b.m, 5);
	int seen = 0;
	for (size_t i = 0; i < th->niv; i++) {
		const ct_interval *iv = &th->iv[i];
		if (iv->state != CT_TS_WAITING)
			continue;
		ck_assert_uint_eq(iv->end - iv->start, 300);
		ck_assert_uint_eq(iv->object, 0x1000 + iv->reason);
		ck_assert_uint_ne(iv->unblock, CT_NO_EVENT);
		ck_assert_uint_eq(b.t->events[iv->unblock].time, iv->start + 200);
		seen |= 1 << iv->reason;
	}
	ck_assert_int_eq(seen, ((1 << CT_WAIT_NREASONS) - 1) & ~(1 << CT_WAIT_KERNEL));
	tfix_release(&b);
}
END_TEST

/* Timer engine: no switch records, so on-CPU-or-runnable between the hook waits. */
START_TEST(timer_engine_merges)
{
	tfix f;
	tfix_open(&f, false);
	ct_tw_create(f.w, 1, 1000, 3, 0);
	ct_tw_sample(f.w, 3, 1100, 0, 1000);
	ct_tw_wait(f.w, 3, 1200, 1500, CT_WAIT_SLEEP, 0, 0);
	ct_tw_wait(f.w, 3, 1300, 1400, CT_WAIT_COND, 0, 0); /* inside the first: ignored */
	ct_tw_sample(f.w, 3, 1600, 0, 1000);
	ct_tw_wait(f.w, 3, 1700, CT_TW_OPEN, CT_WAIT_JOIN, 4, 0);
	tfix_built b = tfix_build(&f, 3000);
	ck_assert(b.m->merged);
	const ct_thread *th = thread(b.m, 3);
	ck_assert(th->alive);
	ck_assert_uint_eq(th->nsamples, 2);
	ck_assert_uint_eq(th->niv, 4);
	iv_is(&th->iv[0], 1000, 1200, CT_TS_ONCPU);
	iv_is(&th->iv[1], 1200, 1500, CT_TS_WAITING);
	ck_assert_uint_eq(th->iv[1].reason, CT_WAIT_SLEEP);
	iv_is(&th->iv[2], 1500, 1700, CT_TS_ONCPU);
	iv_is(&th->iv[3], 1700, 3000, CT_TS_WAITING);
	ck_assert_uint_eq(th->iv[3].reason, CT_WAIT_JOIN);
	ck_assert_uint_eq(th->iv[3].object, 4);
	tfix_release(&b);
}
END_TEST

/* A tid that exits and comes back is two threads. */
START_TEST(tid_reuse)
{
	tfix f;
	tfix_open(&f, true);
	ct_tw_create(f.w, 1, 100, 9, 0);
	ct_tw_name(f.w, 9, 150, "first");
	ct_tw_switch_in(f.w, 9, 200, 0);
	ct_tw_exit(f.w, 9, 300);
	ct_tw_create(f.w, 1, 400, 9, 0);
	ct_tw_switch_in(f.w, 9, 500, 0);
	tfix_built b = tfix_build(&f, 600);
	ck_assert_uint_eq(b.m->nthreads, 3); /* the creator, and thread 9 twice */
	const ct_thread *a = &b.m->threads[1], *c = &b.m->threads[2];
	ck_assert(a->tid == 9 && c->tid == 9);
	ck_assert(!a->alive && c->alive);
	ck_assert_str_eq(a->name, "first");
	ck_assert_str_eq(c->name, "");
	ck_assert_uint_eq(a->end, 300);
	ck_assert_uint_eq(c->begin, 400);
	iv_is(&c->iv[1], 500, 600, CT_TS_RUNNING);
	tfix_release(&b);
}
END_TEST

/* The kernel reports a thread's exit before its last switches: a preemption, a switch back
 * in and the final switch-out after the exit belong to the dead thread, not a new one. */
START_TEST(switches_after_exit)
{
	tfix f;
	tfix_open(&f, true);
	ct_tw_create(f.w, 1, 100, 9, 0);
	ct_tw_switch_in(f.w, 9, 200, 0);
	ct_tw_exit(f.w, 9, 300);
	ct_tw_switch_out(f.w, 9, 310, 0, true);
	ct_tw_switch_in(f.w, 9, 320, 1);
	ct_tw_switch_out(f.w, 9, 330, 1, false);
	tfix_built b = tfix_build(&f, 600);
	ck_assert_uint_eq(b.m->nthreads, 2); /* the creator and thread 9, once */
	const ct_thread *a = &b.m->threads[1];
	ck_assert(a->tid == 9 && !a->alive);
	ck_assert_uint_eq(a->end, 300);
	tfix_release(&b);
}
END_TEST

/* A creation recorded after the new thread already ran names its creator, and does not
 * split the thread. */
START_TEST(late_create_record)
{
	tfix f;
	tfix_open(&f, true);
	ct_tw_switch_in(f.w, 12, 100, 0);
	ct_tw_name(f.w, 12, 110, "early");
	ct_tw_create(f.w, 1, 150, 12, 0);
	ct_tw_switch_out(f.w, 12, 200, 0, true);
	tfix_built b = tfix_build(&f, 300);
	ck_assert_uint_eq(b.m->nthreads, 2);
	const ct_thread *th = thread(b.m, 12);
	ck_assert(th->created && th->creator == 1 && th->alive);
	ck_assert_str_eq(th->name, "early");
	ck_assert_uint_eq(th->begin, 100);
	ck_assert_uint_eq(th->niv, 2);
	iv_is(&th->iv[0], 100, 200, CT_TS_RUNNING);
	iv_is(&th->iv[1], 200, 300, CT_TS_RUNNABLE);
	tfix_release(&b);
}
END_TEST

/* Random streams (switches in any order, waits, exits, creations) in both modes: every
 * thread's intervals are non-empty, contiguous, in order, and cover [begin, end). */
START_TEST(never_overlap)
{
	srand(42 + (unsigned)_i);
	tfix f;
	tfix_open(&f, _i & 1);
	uint64_t t = 1000;
	for (int k = 0; k < 3000; k++) {
		uint32_t tid = 1 + (uint32_t)(rand() % 6);
		t += (uint64_t)(rand() % 50);
		switch (rand() % 8) {
		case 0:
			ct_tw_switch_out(f.w, tid, t, 0, rand() & 1);
			break;
		case 1:
		case 2:
			ct_tw_switch_in(f.w, tid, t, (uint32_t)(rand() % 4));
			break;
		case 3:
			ct_tw_wait(f.w, tid, t - (uint64_t)(rand() % 40),
				   t + (uint64_t)(rand() % 90),
				   (ct_wait_reason)(rand() % CT_WAIT_NREASONS), 7, 0);
			break;
		case 4:
			ct_tw_unblock(f.w, tid, t, (uint32_t)(rand() % 7), 7, 0);
			break;
		case 5:
			if (rand() % 10 == 0)
				ct_tw_exit(f.w, tid, t);
			break;
		case 6:
			if (rand() % 10 == 0)
				ct_tw_create(f.w, tid, t, 1 + (uint32_t)(rand() % 6), 0);
			break;
		default:
			ct_tw_sample(f.w, tid, t, 0, 10);
		}
		if (k % 500 == 0)
			ct_tw_flush(f.w, t);
	}
	tfix_built b = tfix_build(&f, t + 10);
	ck_assert_uint_ge(b.m->nthreads, 6);
	for (uint32_t i = 0; i < b.m->nthreads; i++) {
		const ct_thread *th = &b.m->threads[i];
		uint64_t at = th->begin;
		for (size_t k = 0; k < th->niv; k++) {
			ck_assert_uint_eq(th->iv[k].start, at);
			ck_assert_uint_gt(th->iv[k].end, th->iv[k].start);
			ck_assert(b.m->merged ? th->iv[k].state == CT_TS_ONCPU ||
							th->iv[k].state == CT_TS_WAITING
					      : th->iv[k].state != CT_TS_ONCPU);
			at = th->iv[k].end;
		}
		ck_assert_uint_eq(at, th->niv ? th->end : th->begin);
	}
	tfix_release(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tracemodel");
	TCase *tc = CT_CHECK_TCASE(s, "core", 0, lifecycle, every_reason, timer_engine_merges,
				   tid_reuse, switches_after_exit, late_create_record);
	tcase_add_loop_test(tc, never_overlap, 0, 8);
	return s;
}

CT_CHECK_MAIN(suite)
