/*
 * bench_heap.c — the workload behind bench_heap.sh.
 *
 *   bench_heap tight N [SIZE]     one thread, N x (malloc(SIZE); free), SIZE 32 by
 *                                 default: the hooks' fast path alone. Prints
 *                                 "tight NS_PER_PAIR" (the thread's CPU time).
 *   bench_heap mixed THREADS N    THREADS threads, each N malloc+free pairs over a
 *                                 window of 256 live blocks, sizes 16 B .. 4 KiB with one
 *                                 in 64 up to 256 KiB. Prints "mixed NS_PER_PAIR WALL_NS",
 *                                 NS_PER_PAIR from the threads' CPU time (so that a
 *                                 profiler's own threads and scheduling noise do not
 *                                 count), WALL_NS for the whole run.
 *   bench_heap parse N            one thread, N rounds of a small JSON-like parser: parse
 *                                 ~200 KiB of text into a tree (a node and a string
 *                                 copy per value), hash the tree, free it. Real work
 *                                 between allocations, as in a program that is not an
 *                                 allocator benchmark. Prints "parse NS" with NS the
 *                                 fastest round's CPU time (the least disturbed by
 *                                 other load on the machine).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long iters;
static uint64_t cpu_ns[64];

static void *mixed(void *arg)
{
	int id = (int)(intptr_t)arg;
	void *live[256] = {0};
	uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(id + 1);
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (long i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t size = 16 + (x >> 40) % 4081;
		if ((x & 63) == 0)
			size = 4096 + (x >> 20) % (252 << 10);
		unsigned k = (unsigned)(x >> 8) & 255;
		free(live[k]);
		live[k] = malloc(size);
		*(char *)live[k] = 1;
	}
	for (int k = 0; k < 256; k++)
		free(live[k]);
	cpu_ns[id] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	return NULL;
}

/* ---- the parser workload ---- */

typedef struct node {
	int kind; /* '{', '[', '"', '0' */
	char *str;
	double num;
	struct node *child, *next;
} node;

static const char *cur;

static void skip_ws(void)
{
	while (*cur == ' ' || *cur == '\n' || *cur == ',' || *cur == ':')
		cur++;
}

static node *new_node(int kind)
{
	node *n = calloc(1, sizeof *n);
	if (!n)
		exit(1);
	n->kind = kind;
	return n;
}

static node *parse_value(void)
{
	skip_ws();
	char c = *cur;
	if (c == '{' || c == '[') {
		node *n = new_node(c), **tail = &n->child;
		char close = c == '{' ? '}' : ']';
		cur++;
		for (skip_ws(); *cur && *cur != close; skip_ws()) {
			*tail = parse_value();
			tail = &(*tail)->next;
		}
		if (*cur)
			cur++;
		return n;
	}
	if (c == '"') {
		const char *start = ++cur;
		while (*cur && *cur != '"')
			cur++;
		node *n = new_node('"');
		size_t len = (size_t)(cur - start);
		n->str = malloc(len + 1);
		if (!n->str)
			exit(1);
		memcpy(n->str, start, len);
		n->str[len] = 0;
		if (*cur)
			cur++;
		return n;
	}
	node *n = new_node('0');
	char *end;
	n->num = strtod(cur, &end);
	cur = end > cur ? end : cur + 1;
	return n;
}

static uint64_t hash_tree(const node *n, uint64_t h)
{
	for (; n; n = n->next) {
		h = (h ^ (uint64_t)n->kind) * 0x100000001B3ULL;
		if (n->str)
			for (const char *p = n->str; *p; p++)
				h = (h ^ (uint8_t)*p) * 0x100000001B3ULL;
		h ^= (uint64_t)(int64_t)n->num;
		h = hash_tree(n->child, h);
	}
	return h;
}

static void free_tree(node *n)
{
	while (n) {
		node *next = n->next;
		free_tree(n->child);
		free(n->str);
		free(n);
		n = next;
	}
}

/* ~200 KiB of records like {"id": 17, "name": "kqzt", "tags": ["ab", "c"],
 * "vals": [3.5, 12, 7]}, always the same text. */
static char *make_text(void)
{
	size_t cap = 256 << 10, len = 0;
	char *t = malloc(cap);
	if (!t)
		exit(1);
	uint64_t x = 42;
	len += (size_t)sprintf(t + len, "[");
	for (int r = 0; len + 512 < cap - 1024 && r < 2000; r++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		char name[16];
		int nl = 3 + (int)(x >> 60);
		for (int i = 0; i < nl; i++)
			name[i] = (char)('a' + (x >> (i * 4 + 8)) % 26);
		name[nl] = 0;
		len += (size_t)sprintf(t + len, "{\"id\": %d, \"name\": \"%s\", \"tags\": [", r,
				       name);
		for (int k = 0; k < 1 + (int)((x >> 20) % 4); k++)
			len += (size_t)sprintf(t + len, "\"%.*s\", ", 1 + k, name);
		len += (size_t)sprintf(t + len, "], \"vals\": [");
		for (int k = 0; k < 2 + (int)((x >> 30) % 6); k++)
			len += (size_t)sprintf(t + len, "%d.%d, ", (int)((x >> (k * 5)) % 1000), k);
		len += (size_t)sprintf(t + len, "]},\n");
	}
	sprintf(t + len, "]");
	return t;
}

static int parse_bench(long rounds)
{
	char *text = make_text();
	uint64_t h = 0, best = UINT64_MAX;
	for (long i = 0; i < rounds; i++) {
		uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		cur = text;
		node *root = parse_value();
		h ^= hash_tree(root, (uint64_t)i);
		free_tree(root);
		uint64_t t = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (t < best)
			best = t;
	}
	sink = (void *)(uintptr_t)h;
	free(text);
	printf("parse %llu\n", (unsigned long long)best);
	return 0;
}

/* The honest baseline for a profiled run: the agent's collector thread makes any program
 * multi-threaded, and glibc's allocator then takes its locking paths (SINGLE_THREAD_P is
 * false). BENCH_IDLE_THREAD=1 starts one thread that only sleeps, so that a bare run pays
 * that too. */
static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *idle = getenv("BENCH_IDLE_THREAD");
	if (idle && strcmp(idle, "1") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
			return 1;
	}
	if (argc == 3 && strcmp(argv[1], "parse") == 0)
		return parse_bench(atol(argv[2]));
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "tight") == 0) {
		long n = atol(argv[2]);
		size_t size = argc == 4 ? (size_t)atol(argv[3]) : 32;
		uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		for (long i = 0; i < n; i++) {
			void *p = malloc(size);
			sink = p;
			free(p);
		}
		printf("tight %.3f\n", (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / n);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "mixed") == 0) {
		int nt = atoi(argv[2]);
		iters = atol(argv[3]);
		if (nt < 1 || nt > 64)
			return 2;
		pthread_t th[64];
		uint64_t w0 = clock_ns(CLOCK_MONOTONIC);
		for (int i = 0; i < nt; i++)
			pthread_create(&th[i], NULL, mixed, (void *)(intptr_t)i);
		uint64_t total = 0;
		for (int i = 0; i < nt; i++) {
			pthread_join(th[i], NULL);
			total += cpu_ns[i];
		}
		uint64_t wall = clock_ns(CLOCK_MONOTONIC) - w0;
		printf("mixed %.3f %llu\n", (double)total / ((double)nt * iters),
		       (unsigned long long)wall);
		return 0;
	}
	fprintf(stderr, "usage: bench_heap tight N [SIZE] | mixed THREADS N | parse N\n");
	return 2;
}
