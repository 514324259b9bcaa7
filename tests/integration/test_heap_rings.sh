#!/bin/sh
# test_heap_rings.sh — rate 1 through the per-thread event rings (agent/heapring.c): waves
# of threads each allocate more blocks than a ring holds (so rings wrap, wait for the
# collector and are handed to the next wave's threads; 24 full rings hold more events than
# the aggregator's reorder window, so only the collector's merge keeps them in order), free
# a neighbour's blocks (an allocation and its free in different rings) and
# leak a few; one thread allocates, then blocks until the process exits (its ring is never
# given back). Every count must be exact and nothing lost or applied out of order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

cat > "$TMP/rings.c" <<'C'
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define T 24
#define N 40000
#define WAVES 2
static void *blocks[T][N];
static pthread_barrier_t bar;
static sem_t idle_ready;
static void *volatile sink;

/* Each a frame of its own: noinline, and no tail call into malloc. */
#define SITE(name)                                                                         \
	__attribute__((noinline)) void *name(size_t n)                                     \
	{                                                                                  \
		void *p = malloc(n);                                                       \
		sink = p;                                                                  \
		return p;                                                                  \
	}
void *rings_alloc(size_t n);
void *rings_leak(size_t n);
void *rings_idle_alloc(size_t n);
SITE(rings_alloc)
SITE(rings_leak)
SITE(rings_idle_alloc)

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < N; i++) {
		blocks[id][i] = rings_alloc(32 + (size_t)(i & 7) * 8);
		if (!blocks[id][i])
			exit(1);
	}
	pthread_barrier_wait(&bar);
	for (int i = 0; i < N; i++)
		free(blocks[(id + 1) % T][i]);
	for (int i = 0; i < 10; i++)
		sink = rings_leak(100);
	return NULL;
}

static void *idler(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++)
		sink = rings_idle_alloc(1000);
	sem_post(&idle_ready);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t th[T], idle;
	sem_init(&idle_ready, 0, 0);
	if (pthread_create(&idle, NULL, idler, NULL))
		return 1;
	sem_wait(&idle_ready);
	pthread_barrier_init(&bar, NULL, T);
	for (int w = 0; w < WAVES; w++) {
		for (int i = 0; i < T; i++)
			if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i))
				return 1;
		for (int i = 0; i < T; i++)
			pthread_join(th[i], NULL);
	}
	printf("rings: done\n");
	return 0;
}
C
${CC:-cc} -O2 -g -pthread -o "$TMP/rings_prog" "$TMP/rings.c" || fail "cannot build rings"

CTRACE_HEAP_RATE=1 run_bare_and_traced rings "$TMP/rings_prog"
f=$TMP/rings/heap.pb.gz
expect_eq "rings_alloc objects" "$(hval "$f" alloc_objects rings_alloc)" 1920000
expect_eq "rings_alloc bytes" "$(hval "$f" alloc_space rings_alloc)" 115200000
expect_eq "rings_alloc in use" "$(hval "$f" inuse_space rings_alloc)" 0
expect_eq "rings_leak in use" "$(hval "$f" inuse_space rings_leak)" 48000
expect_eq "rings_leak objects in use" "$(hval "$f" inuse_objects rings_leak)" 480
expect_eq "rings_idle_alloc in use" "$(hval "$f" inuse_space rings_idle_alloc)" 5000
c=$(gzip -dc "$f" | strings | grep 'ctrace heap: rate 1 ') || fail "no heap comment in $f"
case $c in
*" 0 lost (ring full), 0 applied out of order,"*) ;;
*) fail "events lost or out of order: $c" ;;
esac
ok "rate 1, threads' own rings: exact counts across 2 waves x 24 threads, cross-thread frees, an idle thread's events"
