/*
 * leak — a request loop whose cache leaks: leaky_cache_insert allocates an entry per
 * request and loses the previous one when a key repeats, so 1000 entries of 1 KiB
 * (1024000 bytes) are still allocated and unreachable at exit. Every other allocation
 * (parse_request's scratch buffer) is freed. A heap profile's in-use view at exit should
 * point at leaky_cache_insert and nothing else of size.
 *
 * Usage: leak [REQUESTS]   (default 2000; half the inserts leak)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_BYTES 1024

typedef struct entry {
	int key;
	char payload[ENTRY_BYTES - sizeof(int)];
} entry;

static entry *slots[64];

__attribute__((noinline)) static char *parse_request(int i)
{
	char *buf = malloc(200);
	snprintf(buf, 200, "GET /item/%d HTTP/1.1", i);
	return buf;
}

/* The bug: an occupied slot is overwritten without freeing its entry. */
__attribute__((noinline)) static void leaky_cache_insert(int key, const char *req)
{
	entry *e = malloc(sizeof *e);
	e->key = key;
	snprintf(e->payload, sizeof e->payload, "%s", req);
	slots[key % 64] = e;
}

__attribute__((noinline)) static long serve(int i)
{
	char *req = parse_request(i);
	long sum = (long)strlen(req);
	if (i % 2 == 0)
		leaky_cache_insert(i, req);
	free(req);
	return sum;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	long total = 0;
	for (int i = 0; i < n; i++)
		total += serve(i);
	/* Forget the cache too: every entry is now unreachable. */
	memset(slots, 0, sizeof slots);
	printf("leak: served %d requests (%ld bytes parsed), leaked %d entries of %d bytes\n", n,
	       total, (n + 1) / 2, (int)sizeof(entry));
	return 0;
}
