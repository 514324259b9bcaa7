/*
 * bench_ring.c — what a record costs a producer: the per-CPU rings against a mutex queue,
 * and a stack-table hit.
 *
 * Workload: a producer reserves a record with a 32-byte payload, fills it (header fields
 * and payload) and commits it. Producers write batches of BATCH records each, timed per
 * batch; between batches a consumer thread drains everything, so producers never see a
 * full ring and the lines they write next were last touched by the consumer's CPU, as in
 * the agent. Producers are pinned to distinct CPUs. The same workload goes through a
 * mutex-protected queue (pthread mutex around a fixed array FIFO of records) measured in
 * the same run. Each figure is the median over batches of a producer's time per record.
 *
 *   ring_1p / mutexq_1p     one producer
 *   ring_2p / mutexq_2p     two producers on two CPUs: through ct_ringset as the agent
 *                           uses it (each producer on its own CPU's ring), against one
 *                           shared mutex queue
 *   ring_shared_2p          the two producers forced onto one shared ring (the
 *                           worst case: every reserve contends on one head)
 *   ring_consume            the consumer's cost per record, draining ring_1p's
 *                           batches (callback included: it sums one payload word)
 *   stacks_intern_ns        ct_stacks_intern of a known 32-frame stack (a hit)
 *
 * Output: "bench <name> <value> <unit>" lines, targets as "<name>_target".
 */
#include "libtrace/clock.h"
#include "libtrace/ring.h"
#include "libtrace/stacks.h"
#include "tests/bench/bench_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define PAYLOAD 32
#define BATCH 4096
#define BATCHES 200

typedef struct {
	uint64_t a, b, c, d;
} payload;

/* ---- mutex queue: the baseline ---- */

typedef struct {
	uint16_t type, flags;
	uint32_t tid, cpu;
	uint64_t time;
	payload p;
} mq_rec;

typedef struct {
	pthread_mutex_t lock;
	size_t head, tail, cap; /* head - tail records queued; cap a power of two */
	mq_rec *slots;
	uint64_t dropped;
} mutexq;

static void mq_init(mutexq *q, size_t cap)
{
	pthread_mutex_init(&q->lock, NULL);
	q->head = q->tail = 0;
	q->cap = cap;
	q->slots = calloc(cap, sizeof(mq_rec));
	q->dropped = 0;
}

static int mq_push(mutexq *q, const mq_rec *r)
{
	pthread_mutex_lock(&q->lock);
	if (q->head - q->tail == q->cap) {
		q->dropped++;
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	q->slots[q->head & (q->cap - 1)] = *r;
	q->head++;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static size_t mq_drain(mutexq *q, uint64_t *sum)
{
	pthread_mutex_lock(&q->lock);
	size_t n = 0;
	for (; q->tail != q->head; q->tail++, n++)
		*sum += q->slots[q->tail & (q->cap - 1)].p.a;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* ---- the measured producers ---- */

enum mode { RING, RINGSET, MUTEXQ };

typedef struct {
	enum mode mode;
	int nprod;
	ct_ring *ring;
	ct_ringset *set;
	mutexq q;
	pthread_barrier_t start, end;
	double ns[2][BATCHES];	  /* per producer, per batch: ns per record */
	double drain_ns[BATCHES]; /* per batch: consumer ns per record */
	uint64_t failed;	  /* reserves refused: must stay 0 */
} bench;

typedef struct {
	bench *b;
	int id;
	int cpu;
} prod_arg;

static void pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static inline void fill(ct_rec *rec, uint64_t i, uint32_t tid)
{
	payload *p = ct_rec_payload(rec);
	p->a = i;
	p->b = i ^ 0x5555;
	p->c = tid;
	p->d = 42;
	rec->tid = tid;
	rec->time = i;
}

static void *producer(void *arg)
{
	prod_arg *pa = arg;
	bench *b = pa->b;
	pin(pa->cpu);
	uint32_t tid = (uint32_t)pa->id + 1;
	uint64_t failed = 0;
	for (int batch = 0; batch < BATCHES; batch++) {
		pthread_barrier_wait(&b->start);
		uint64_t t0 = ct_now();
		for (uint64_t i = 0; i < BATCH; i++) {
			if (b->mode == MUTEXQ) {
				mq_rec r = {.type = 1, .tid = tid, .time = i};
				r.p = (payload){i, i ^ 0x5555, tid, 42};
				failed += mq_push(&b->q, &r) != 0;
			} else if (b->mode == RING) {
				ct_rec *rec = ct_ring_reserve(b->ring, 1, PAYLOAD);
				if (!rec) {
					failed++;
					continue;
				}
				fill(rec, i, tid);
				ct_ring_commit(b->ring, rec);
			} else {
				ct_rec *rec = ct_ringset_reserve(b->set, 1, PAYLOAD);
				if (!rec) {
					failed++;
					continue;
				}
				fill(rec, i, tid);
				ct_ringset_commit(b->set, rec);
			}
		}
		b->ns[pa->id][batch] = (double)(ct_now() - t0) / BATCH;
		pthread_barrier_wait(&b->end);
	}
	__atomic_fetch_add(&b->failed, failed, __ATOMIC_RELAXED);
	return NULL;
}

static void sum_rec(const ct_rec *rec, void *arg)
{
	*(uint64_t *)arg += ((const payload *)ct_rec_cpayload(rec))->a;
}

/* CPUs to pin producers on: the first two the process may run on (-1 if fewer). */
static void pick_cpus(int cpus[2])
{
	cpu_set_t s;
	cpus[0] = cpus[1] = -1;
	if (sched_getaffinity(0, sizeof(s), &s) != 0)
		return;
	for (int c = 0, k = 0; c < CPU_SETSIZE && k < 2; c++)
		if (CPU_ISSET(c, &s))
			cpus[k++] = c;
}

/* Runs one configuration; returns the median ns per record per producer, or -1, and the
 * consumer's median ns per record in *drain. */
static double run(enum mode mode, int nprod, const char *name, double *drain)
{
	bench *b = calloc(1, sizeof(*b));
	b->mode = mode;
	b->nprod = nprod;
	size_t bytes = (size_t)nprod * BATCH * (sizeof(ct_rec) + PAYLOAD);
	size_t cap = 4096;
	while (cap < bytes)
		cap <<= 1;
	if (mode == RING)
		b->ring = ct_ring_create(cap);
	else if (mode == RINGSET)
		b->set = ct_ringset_create(cap);
	else
		mq_init(&b->q, (size_t)nprod * BATCH);
	if ((mode == RING && !b->ring) || (mode == RINGSET && !b->set)) {
		fprintf(stderr, "bench_ring: %s: cannot create the ring\n", name);
		free(b);
		return -1;
	}
	pthread_barrier_init(&b->start, NULL, (unsigned)nprod + 1);
	pthread_barrier_init(&b->end, NULL, (unsigned)nprod + 1);
	int cpus[2];
	pick_cpus(cpus);
	pthread_t th[2];
	prod_arg pa[2];
	for (int i = 0; i < nprod; i++) {
		pa[i] = (prod_arg){b, i, cpus[i]};
		pthread_create(&th[i], NULL, producer, &pa[i]);
	}
	uint64_t sum = 0, consumed = 0;
	for (int batch = 0; batch < BATCHES; batch++) {
		pthread_barrier_wait(&b->start);
		pthread_barrier_wait(&b->end);
		uint64_t t0 = ct_now(), before = consumed;
		if (mode == RING)
			consumed += ct_ring_consume(b->ring, sum_rec, &sum, SIZE_MAX);
		else if (mode == RINGSET)
			consumed += ct_ringset_consume(b->set, sum_rec, &sum, SIZE_MAX);
		else
			consumed += mq_drain(&b->q, &sum);
		b->drain_ns[batch] = (double)(ct_now() - t0) / (double)(consumed - before);
	}
	for (int i = 0; i < nprod; i++)
		pthread_join(th[i], NULL);

	double result = -1;
	uint64_t expect = (uint64_t)nprod * BATCH * BATCHES;
	if (b->failed || consumed != expect) {
		fprintf(stderr, "bench_ring: %s: %llu refused, %llu of %llu consumed\n", name,
			(unsigned long long)b->failed, (unsigned long long)consumed,
			(unsigned long long)expect);
	} else {
		/* Per batch, the producers' mean; then the median over batches. */
		double per[BATCHES];
		for (int k = 0; k < BATCHES; k++) {
			per[k] = 0;
			for (int i = 0; i < nprod; i++)
				per[k] += b->ns[i][k] / nprod;
		}
		qsort(per, BATCHES, sizeof(double), cmp_double);
		result = per[BATCHES / 2];
		qsort(b->drain_ns, BATCHES, sizeof(double), cmp_double);
		*drain = b->drain_ns[BATCHES / 2];
	}
	pthread_barrier_destroy(&b->start);
	pthread_barrier_destroy(&b->end);
	if (mode == RING)
		ct_ring_destroy(b->ring);
	else if (mode == RINGSET)
		ct_ringset_destroy(b->set);
	else {
		pthread_mutex_destroy(&b->q.lock);
		free(b->q.slots);
	}
	free(b);
	return result;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

/* Median over rounds of ns per ct_stacks_intern of already-known 32-frame stacks. */
static double stacks_hit(void)
{
	enum { NSTACKS = 1024, DEPTH = 32, ROUNDS = 21 };
	ct_stacks *t = ct_stacks_create(1 << 16, 1 << 20);
	if (!t)
		return -1;
	uintptr_t(*pcs)[DEPTH] = malloc(sizeof(uintptr_t[NSTACKS][DEPTH]));
	uint32_t *ids = malloc(NSTACKS * sizeof(uint32_t));
	for (int s = 0; s < NSTACKS; s++) {
		for (int i = 0; i < DEPTH; i++)
			pcs[s][i] = 0x400000 + (mix((uint64_t)s * 64 + (uint64_t)i) & 0xfffff);
		ids[s] = ct_stacks_intern(t, pcs[s], DEPTH);
	}
	double per[ROUNDS];
	uint64_t bad = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = ct_now();
		for (int k = 0; k < 16; k++)
			for (int s = 0; s < NSTACKS; s++)
				bad += ct_stacks_intern(t, pcs[s], DEPTH) != ids[s];
		per[r] = (double)(ct_now() - t0) / (16.0 * NSTACKS);
	}
	qsort(per, ROUNDS, sizeof(double), cmp_double);
	free(pcs);
	free(ids);
	ct_stacks_destroy(t);
	if (bad) {
		fprintf(stderr, "bench_ring: stacks: %llu interns returned another id\n",
			(unsigned long long)bad);
		return -1;
	}
	return per[ROUNDS / 2];
}

int main(void)
{
	int status = 0;
	struct {
		const char *name;
		enum mode mode;
		int nprod;
		double ns, drain;
	} runs[] = {
		{"ring_1p_ns_per_record", RING, 1, 0, 0},
		{"mutexq_1p_ns_per_record", MUTEXQ, 1, 0, 0},
		{"ring_2p_ns_per_record", RINGSET, 2, 0, 0},
		{"ring_shared_2p_ns_per_record", RING, 2, 0, 0},
		{"mutexq_2p_ns_per_record", MUTEXQ, 2, 0, 0},
	};
	int n = (int)(sizeof(runs) / sizeof(runs[0]));
	for (int i = 0; i < n; i++) {
		runs[i].ns = run(runs[i].mode, runs[i].nprod, runs[i].name, &runs[i].drain);
		if (runs[i].ns < 0) {
			printf("bench %s FAILED\n", runs[i].name);
			status = 1;
		} else {
			printf("bench %s %.1f ns\n", runs[i].name, runs[i].ns);
		}
		fflush(stdout);
	}
	printf("bench ring_1p_ns_per_record_target 25 ns\n");
	if (runs[0].ns >= 0)
		printf("bench ring_consume_ns_per_record %.1f ns\n", runs[0].drain);
	double ring2 = runs[2].ns, shared2 = runs[3].ns, mq2 = runs[4].ns;
	if (ring2 > 0 && mq2 > 0)
		printf("bench ring_vs_mutexq_2p_ratio %.2f x\n", mq2 / ring2);
	if (shared2 > 0 && mq2 > 0)
		printf("bench ring_shared_vs_mutexq_2p_ratio %.2f x\n", mq2 / shared2);
	printf("bench ring_vs_mutexq_2p_ratio_target 3 x\n");
	double hit = stacks_hit();
	if (hit < 0) {
		printf("bench stacks_intern_ns FAILED\n");
		status = 1;
	} else {
		printf("bench stacks_intern_ns %.1f ns\n", hit);
	}
	return status;
}
