/*
 * test_stacks.c — unit tests for the stack table (libtrace/stacks.h).
 *
 * The table is checked against a plain reference map (a chained hash of copied stacks):
 * random stacks of depth 0..64 drawn from a small PC alphabet, so that prefixes, shared
 * frames and repeats are common, must get the same id when equal and different ids when
 * not, and ct_stacks_get must return exactly the interned PCs. Four threads interning
 * overlapping stacks concurrently (also in lockstep, to force insert races on one slot)
 * must agree on every id. Bounded behaviour: a full table and a full arena refuse new
 * stacks with 0 and count it while known stacks keep resolving; depths clamp to
 * CT_STACK_MAX_DEPTH.
 */
#include "libtrace/stacks.h"
#include "tests/unit/ct_check.h"

#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A PC from a small alphabet of plausible code addresses. */
static uintptr_t rnd_pc(uint64_t *s, unsigned alphabet)
{
	return (uintptr_t)0x400000 + (uintptr_t)(rnd(s) % alphabet) * 0x40 + 3;
}

typedef struct {
	int depth;
	uintptr_t pcs[CT_STACK_MAX_DEPTH + 1];
} stack;

static void rnd_stack(uint64_t *s, stack *st, int max_depth, unsigned alphabet)
{
	st->depth = (int)(rnd(s) % (uint64_t)(max_depth + 1));
	for (int i = 0; i < st->depth; i++)
		st->pcs[i] = rnd_pc(s, alphabet);
}

/* Checks that id resolves to exactly pcs[0..depth). */
static int resolves_to(const ct_stacks *t, uint32_t id, const uintptr_t *pcs, int depth)
{
	const uintptr_t *got = NULL;
	int d = ct_stacks_get(t, id, &got);
	if (d != depth) {
		ct_check_fail_once("id %u: depth %d, expected %d", id, d, depth);
		return 0;
	}
	if (depth > 0 && memcmp(got, pcs, (size_t)depth * sizeof(uintptr_t)) != 0) {
		ct_check_fail_once("id %u: PCs differ from the interned stack", id);
		return 0;
	}
	return 1;
}

/* ---- reference map: stack contents -> id, chained hash over copies ---- */

typedef struct ref_entry {
	struct ref_entry *next;
	uint32_t id;
	int depth;
	uintptr_t pcs[];
} ref_entry;

typedef struct {
	ref_entry **buckets;
	size_t nbuckets;
	size_t count;
	ref_entry **by_id; /* id -> entry, for ids up to max_id */
	size_t max_id;
} ref_map;

static void ref_init(ref_map *m, size_t nbuckets, size_t max_id)
{
	m->nbuckets = nbuckets;
	m->buckets = calloc(nbuckets, sizeof(*m->buckets));
	m->count = 0;
	m->max_id = max_id;
	m->by_id = calloc(max_id + 1, sizeof(*m->by_id));
}

static size_t ref_hash(const uintptr_t *pcs, int depth)
{
	uint64_t h = 1469598103934665603ull + (uint64_t)depth;
	for (int i = 0; i < depth; i++)
		h = (h ^ pcs[i]) * 1099511628211ull;
	return (size_t)h;
}

static ref_entry *ref_find(ref_map *m, const uintptr_t *pcs, int depth)
{
	for (ref_entry *e = m->buckets[ref_hash(pcs, depth) % m->nbuckets]; e; e = e->next)
		if (e->depth == depth &&
		    (depth == 0 || memcmp(e->pcs, pcs, (size_t)depth * sizeof(uintptr_t)) == 0))
			return e;
	return NULL;
}

static ref_entry *ref_add(ref_map *m, const uintptr_t *pcs, int depth, uint32_t id)
{
	ref_entry *e = malloc(sizeof(*e) + (size_t)depth * sizeof(uintptr_t));
	e->id = id;
	e->depth = depth;
	if (depth > 0)
		memcpy(e->pcs, pcs, (size_t)depth * sizeof(uintptr_t));
	size_t b = ref_hash(pcs, depth) % m->nbuckets;
	e->next = m->buckets[b];
	m->buckets[b] = e;
	m->count++;
	if (id <= m->max_id)
		m->by_id[id] = e;
	return e;
}

static void ref_free(ref_map *m)
{
	for (size_t b = 0; b < m->nbuckets; b++) {
		for (ref_entry *e = m->buckets[b], *n; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m->by_id);
}

/* ---- single-threaded tests ---- */

START_TEST(basic_ids)
{
	ct_stacks *t = ct_stacks_create(1024, 1 << 16);
	ck_assert_ptr_nonnull(t);
	uintptr_t a[] = {0x1000, 0x2000, 0x3000};
	uintptr_t b[] = {0x1000, 0x2000, 0x3001};
	uintptr_t c[] = {0x3000, 0x2000, 0x1000};
	uint32_t ida = ct_stacks_intern(t, a, 3);
	uint32_t idb = ct_stacks_intern(t, b, 3);
	uint32_t idc = ct_stacks_intern(t, c, 3);
	uint32_t ida2 = ct_stacks_intern(t, a, 2); /* prefix */
	uint32_t ida1 = ct_stacks_intern(t, a, 1);
	uint32_t empty = ct_stacks_intern(t, a, 0);
	uint32_t ids[] = {ida, idb, idc, ida2, ida1, empty};
	for (int i = 0; i < 6; i++) {
		ck_assert_uint_ge(ids[i], 1);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(ids[i], ids[j]);
	}
	uintptr_t copy[] = {0x1000, 0x2000, 0x3000};
	ck_assert_uint_eq(ct_stacks_intern(t, copy, 3), ida);
	ck_assert_uint_eq(ct_stacks_intern(t, b, 3), idb);
	ck_assert_uint_eq(ct_stacks_intern(t, copy, 0), empty);
	ck_assert_uint_eq(ct_stacks_intern(t, NULL, 0), empty);
	ck_assert(resolves_to(t, ida, a, 3));
	ck_assert(resolves_to(t, idb, b, 3));
	ck_assert(resolves_to(t, idc, c, 3));
	ck_assert(resolves_to(t, ida2, a, 2));
	ck_assert(resolves_to(t, ida1, a, 1));
	ck_assert(resolves_to(t, empty, a, 0));

	const uintptr_t *p = NULL;
	ck_assert_int_eq(ct_stacks_get(t, 0, &p), -1);
	ct_stacks_stats st;
	ct_stacks_get_stats(t, &st);
	ck_assert_uint_eq(st.stacks, 6);
	ck_assert_uint_eq(st.full, 0);
	ck_assert_uint_ge(st.slots, 1024);
	ck_assert_uint_eq(st.slots & (st.slots - 1), 0);
	ck_assert_int_eq(ct_stacks_get(t, (uint32_t)st.slots + 1, &p), -1);
	ck_assert_int_eq(ct_stacks_get(t, UINT32_MAX, &p), -1);
	/* Some id in range is unused: 6 stacks in >= 1024 slots. */
	int unknown = 0;
	for (uint32_t id = 1; id <= st.slots; id++)
		if (ct_stacks_get(t, id, &p) == -1)
			unknown++;
	ck_assert_int_eq(unknown, (int)st.slots - 6);
	CT_CHECK_NO_FAILURES();
	ct_stacks_destroy(t);
}
END_TEST

START_TEST(depth_clamped)
{
	ct_stacks *t = ct_stacks_create(256, 1 << 16);
	uintptr_t pcs[CT_STACK_MAX_DEPTH + 45];
	for (size_t i = 0; i < sizeof(pcs) / sizeof(pcs[0]); i++)
		pcs[i] = 0x7f0000000000u + i * 16;
	uint32_t id = ct_stacks_intern(t, pcs, sizeof(pcs) / sizeof(pcs[0]));
	ck_assert_uint_ge(id, 1);
	ck_assert(resolves_to(t, id, pcs, CT_STACK_MAX_DEPTH));
	ck_assert_uint_eq(ct_stacks_intern(t, pcs, CT_STACK_MAX_DEPTH), id);
	ck_assert_uint_eq(ct_stacks_intern(t, pcs, CT_STACK_MAX_DEPTH + 1), id);
	ck_assert_uint_ne(ct_stacks_intern(t, pcs, CT_STACK_MAX_DEPTH - 1), id);
	ct_stacks_stats st;
	ct_stacks_get_stats(t, &st);
	ck_assert_uint_eq(st.stacks, 2);
	CT_CHECK_NO_FAILURES();
	ct_stacks_destroy(t);
}
END_TEST

typedef struct {
	ref_map *ref;
	size_t seen;
} foreach_check;

static void foreach_visit(uint32_t id, const uintptr_t *pcs, int depth, void *arg)
{
	foreach_check *fc = arg;
	fc->seen++;
	ref_entry *e = id <= fc->ref->max_id ? fc->ref->by_id[id] : NULL;
	if (!e) {
		ct_check_fail_once("foreach: id %u unknown to the reference", id);
		return;
	}
	if (e->depth != depth ||
	    (depth > 0 && memcmp(e->pcs, pcs, (size_t)depth * sizeof(uintptr_t)) != 0))
		ct_check_fail_once("foreach: id %u has other PCs than were interned", id);
}

/* The table and a reference map answer the same over many random interns. */
START_TEST(matches_reference_map)
{
	const size_t slots = 1 << 14;
	ct_stacks *t = ct_stacks_create(slots, 1 << 20);
	ct_stacks_stats st;
	ct_stacks_get_stats(t, &st);
	ref_map ref;
	ref_init(&ref, 4099, st.slots);
	uint64_t seed = 42;
	enum { POOL = 3000 };
	stack *pool = malloc(POOL * sizeof(*pool));
	for (int i = 0; i < POOL; i++) {
		/* Alternate tiny and larger alphabets; some stacks are mutations of earlier
		 * ones (one frame changed, or one frame added or dropped). */
		rnd_stack(&seed, &pool[i], 64, i % 3 == 0 ? 3 : 40);
		if (i > 10 && rnd(&seed) % 4 == 0) {
			pool[i] = pool[rnd(&seed) % (uint64_t)i];
			uint64_t how = rnd(&seed) % 3;
			if (how == 0 && pool[i].depth > 0)
				pool[i].pcs[rnd(&seed) % (uint64_t)pool[i].depth] ^= 0x40;
			else if (how == 1 && pool[i].depth < 64)
				pool[i].pcs[pool[i].depth++] = rnd_pc(&seed, 40);
			else if (pool[i].depth > 0)
				pool[i].depth--;
		}
	}
	stack fresh;
	for (int op = 0; op < 60000; op++) {
		const stack *s;
		if (rnd(&seed) % 10 == 0) {
			rnd_stack(&seed, &fresh, 64, 1000);
			s = &fresh;
		} else {
			/* Skewed: low pool indices repeat much more often. */
			uint64_t r = rnd(&seed) % POOL;
			s = &pool[r * r / POOL];
		}
		uint32_t id = ct_stacks_intern(t, s->pcs, (size_t)s->depth);
		ref_entry *e = ref_find(&ref, s->pcs, s->depth);
		if (id == 0 || id > st.slots) {
			ct_check_fail_once("op %d: intern returned id %u", op, id);
			break;
		}
		if (e) {
			if (e->id != id) {
				ct_check_fail_once("op %d: stack got id %u, earlier %u", op, id,
						   e->id);
				break;
			}
		} else {
			if (ref.by_id[id]) {
				ct_check_fail_once(
					"op %d: new stack (depth %d) got id %u of another stack",
					op, s->depth, id);
				break;
			}
			ref_add(&ref, s->pcs, s->depth, id);
		}
		if (!resolves_to(t, id, s->pcs, s->depth))
			break;
	}
	CT_CHECK_NO_FAILURES();
	ct_stacks_get_stats(t, &st);
	ck_assert_uint_eq(st.stacks, ref.count);
	ck_assert_uint_eq(st.full, 0);
	ck_assert_uint_eq(st.lost_races, 0);
	ck_assert_uint_gt(ref.count, 2000);
	foreach_check fc = {&ref, 0};
	ct_stacks_foreach(t, foreach_visit, &fc);
	CT_CHECK_NO_FAILURES();
	ck_assert_uint_eq(fc.seen, ref.count);
	/* Every reference stack still resolves to its id. */
	for (size_t id = 1; id <= ref.max_id; id++) {
		ref_entry *e = ref.by_id[id];
		if (e)
			ck_assert(resolves_to(t, (uint32_t)id, e->pcs, e->depth));
	}
	CT_CHECK_NO_FAILURES();
	free(pool);
	ref_free(&ref);
	ct_stacks_destroy(t);
}
END_TEST

/* A table with room for N stacks takes at least N distinct ones; after the first refusal
 * every new stack is refused with 0 and counted, and known stacks still resolve. */
START_TEST(full_table)
{
	ct_stacks *t = ct_stacks_create(64, 1 << 16);
	ct_stacks_stats st;
	ct_stacks_get_stats(t, &st);
	uintptr_t pcs[4];
	uint32_t ids[4096];
	size_t ok = 0;
	uint64_t refused = 0;
	for (uintptr_t i = 0; i < st.slots + 50; i++) {
		pcs[0] = 0x1000 + i;
		pcs[1] = 0x2000;
		uint32_t id = ct_stacks_intern(t, pcs, 2);
		if (id == 0) {
			refused++;
			continue;
		}
		ck_assert_uint_eq(refused, 0); /* no success after a refusal */
		ids[ok++] = id;
	}
	ck_assert_uint_ge(ok, 64);
	ck_assert_uint_le(ok, st.slots);
	ck_assert_uint_eq(refused, st.slots + 50 - ok);
	ct_stacks_get_stats(t, &st);
	ck_assert_uint_eq(st.full, refused);
	ck_assert_uint_eq(st.stacks, ok);
	/* Known stacks are found without needing room. */
	for (uintptr_t i = 0; i < ok; i++) {
		pcs[0] = 0x1000 + i;
		pcs[1] = 0x2000;
		ck_assert_uint_eq(ct_stacks_intern(t, pcs, 2), ids[i]);
		ck_assert(resolves_to(t, ids[i], pcs, 2));
	}
	ck_assert_uint_eq(ct_stacks_intern(t, pcs, 1), 0); /* new */
	ct_stacks_get_stats(t, &st);
	ck_assert_uint_eq(st.full, refused + 1);
	CT_CHECK_NO_FAILURES();
	ct_stacks_destroy(t);
}
END_TEST

START_TEST(full_arena)
{
	ct_stacks *t = ct_stacks_create(1024, 100);
	uintptr_t pcs[16];
	uint32_t ids[10];
	for (int s = 0; s < 10; s++) {
		for (int i = 0; i < 10; i++)
			pcs[i] = 0x5000 + (uintptr_t)(s * 10 + i);
		ids[s] = ct_stacks_intern(t, pcs, 10);
		ck_assert_uint_ge(ids[s], 1);
	}
	/* 100 PCs used: any further non-empty stack is refused and counted. */
	pcs[0] = 0x9999;
	ck_assert_uint_eq(ct_stacks_intern(t, pcs, 1), 0);
	ck_assert_uint_eq(ct_stacks_intern(t, pcs, 10), 0);
	ct_stacks_stats st;
	ct_stacks_get_stats(t, &st);
	ck_assert_uint_eq(st.full, 2);
	ck_assert_uint_eq(st.stacks, 10);
	for (int s = 0; s < 10; s++) {
		for (int i = 0; i < 10; i++)
			pcs[i] = 0x5000 + (uintptr_t)(s * 10 + i);
		ck_assert_uint_eq(ct_stacks_intern(t, pcs, 10), ids[s]);
		ck_assert(resolves_to(t, ids[s], pcs, 10));
	}
	CT_CHECK_NO_FAILURES();
	ct_stacks_destroy(t);
}
END_TEST

/* A stack refused for lack of arena room does not use up the room that is left. */
START_TEST(refused_stack_leaves_arena)
{
	ct_stacks *t = ct_stacks_create(1024, 100);
	uintptr_t pcs[64];
	for (int i = 0; i < 64; i++)
		pcs[i] = 0x6000 + (uintptr_t)i;
	ck_assert_uint_ge(ct_stacks_intern(t, pcs, 60), 1);
	ck_assert_uint_eq(ct_stacks_intern(t, pcs + 1, 50), 0); /* 40 left */
	uint32_t id = ct_stacks_intern(t, pcs + 2, 40);
	ck_assert_msg(id != 0, "a 40-PC stack was refused with 40 PCs of arena left");
	ck_assert(resolves_to(t, id, pcs + 2, 40));
	ck_assert_uint_ge(ct_stacks_intern(t, pcs, 0), 1); /* empty needs no room */
	ct_stacks_stats st;
	ct_stacks_get_stats(t, &st);
	ck_assert_uint_eq(st.full, 1);
	CT_CHECK_NO_FAILURES();
	ct_stacks_destroy(t);
}
END_TEST

/* ---- concurrent interning ---- */

#define NTHREADS 4

typedef struct {
	ct_stacks *t;
	const stack *pool;
	int npool;
	uint32_t *ids; /* per thread: ids[i] for pool[i] */
	uint64_t seed;
	int rounds;
	pthread_barrier_t *lockstep; /* when set, all threads intern pool[i] together */
} writer_arg;

static void intern_checked(writer_arg *w, int i)
{
	const stack *s = &w->pool[i];
	uint32_t id = ct_stacks_intern(w->t, s->pcs, (size_t)s->depth);
	if (id == 0) {
		ct_check_fail_once("stack %d refused", i);
		return;
	}
	if (w->ids[i] && w->ids[i] != id)
		ct_check_fail_once("stack %d: id %u, earlier %u in the same thread", i, id,
				   w->ids[i]);
	w->ids[i] = id;
	resolves_to(w->t, id, s->pcs, s->depth);
}

static void *writer(void *arg)
{
	writer_arg *w = arg;
	int *order = malloc((size_t)w->npool * sizeof(int));
	for (int i = 0; i < w->npool; i++)
		order[i] = i;
	for (int r = 0; r < w->rounds; r++) {
		for (int i = w->npool - 1; i > 0; i--) {
			int j = (int)(rnd(&w->seed) % (uint64_t)(i + 1));
			int x = order[i];
			order[i] = order[j];
			order[j] = x;
		}
		for (int k = 0; k < w->npool; k++) {
			if (w->lockstep)
				pthread_barrier_wait(w->lockstep);
			intern_checked(w, w->lockstep ? k : order[k]);
		}
	}
	free(order);
	return NULL;
}

/* Builds n distinct random stacks (deduplicated through a reference map). */
static stack *distinct_pool(int n, uint64_t seed, unsigned alphabet)
{
	stack *pool = malloc((size_t)n * sizeof(*pool));
	ref_map ref;
	ref_init(&ref, 4099, 0);
	for (int i = 0; i < n;) {
		rnd_stack(&seed, &pool[i], 64, alphabet);
		if (ref_find(&ref, pool[i].pcs, pool[i].depth))
			continue;
		ref_add(&ref, pool[i].pcs, pool[i].depth, 0);
		i++;
	}
	ref_free(&ref);
	return pool;
}

static void run_writers(size_t slots, int npool, int rounds, int lockstep)
{
	ct_stacks *t = ct_stacks_create(slots, (size_t)npool * 65 * NTHREADS);
	stack *pool = distinct_pool(npool, 7 + (uint64_t)lockstep, 6);
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	writer_arg w[NTHREADS];
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (writer_arg){t,
				    pool,
				    npool,
				    calloc((size_t)npool, sizeof(uint32_t)),
				    1000 + (uint64_t)i,
				    rounds,
				    lockstep ? &barrier : NULL};
		ck_assert_int_eq(pthread_create(&th[i], NULL, writer, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	CT_CHECK_NO_FAILURES();

	ct_stacks_stats st;
	ct_stacks_get_stats(t, &st);
	uint8_t *used = calloc(st.slots + 1, 1);
	for (int i = 0; i < npool; i++) {
		uint32_t id = w[0].ids[i];
		ck_assert_uint_ge(id, 1);
		ck_assert_uint_le(id, st.slots);
		for (int k = 1; k < NTHREADS; k++)
			ck_assert_msg(w[k].ids[i] == id, "stack %d: thread 0 got %u, thread %d %u",
				      i, id, k, w[k].ids[i]);
		ck_assert_msg(!used[id], "id %u given to two different stacks", id);
		used[id] = 1;
		ck_assert(resolves_to(t, id, pool[i].pcs, pool[i].depth));
	}
	ck_assert_uint_eq(st.stacks, (uint64_t)npool);
	ck_assert_uint_eq(st.full, 0);
	free(used);
	for (int i = 0; i < NTHREADS; i++)
		free(w[i].ids);
	pthread_barrier_destroy(&barrier);
	free(pool);
	ct_stacks_destroy(t);
}

START_TEST(concurrent_writers_agree)
{
	run_writers(1 << 14, 4000, 3, 0);
}
END_TEST

START_TEST(concurrent_writers_high_load)
{
	run_writers(4096, 3500, 2, 0); /* ~85% full: long probe runs */
}
END_TEST

START_TEST(concurrent_writers_lockstep)
{
	run_writers(1 << 12, 1500, 1, 1); /* every thread inserts the same new stack at once */
}
END_TEST

static Suite *stacks_suite(void)
{
	Suite *s = suite_create("stacks");
	CT_CHECK_TCASE(s, "table", 0, basic_ids, depth_clamped, matches_reference_map, full_table,
		       full_arena, refused_stack_leaves_arena);
	CT_CHECK_TCASE(s, "concurrent", 120, concurrent_writers_agree, concurrent_writers_high_load,
		       concurrent_writers_lockstep);
	return s;
}

CT_CHECK_MAIN(stacks_suite)
