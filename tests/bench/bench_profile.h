/*
 * bench_profile.h — the synthetic CPU profile the flame and pprof benchmarks share:
 * 1M samples over 100k distinct stacks (a binary tree of 17 levels under main, each
 * stack with a tail of 0-15 frames from a pool of 3000 functions, picked with a skew
 * towards the first ones). Deterministic (bench_util.h's generator). Header-only.
 */
#ifndef CT_BENCH_PROFILE_H
#define CT_BENCH_PROFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "libtrace/profile.h"
#include "tests/bench/bench_util.h"

enum { NSTACKS = 100000, NSAMPLES = 1000000, LEVELS = 17, POOL = 3000, MAXTAIL = 15 };

/* The synthetic profile described above; NULL on failure. */
static ct_profile *bench_profile(void)
{
	ct_profile *p = ct_profile_new();
	if (!p || ct_profile_add_sample_type(p, "samples", "count") ||
	    ct_profile_add_sample_type(p, "cpu", "nanoseconds"))
		return NULL;
	static uint32_t tree_loc[LEVELS][2], pool_loc[POOL];
	char name[64];
	uint32_t main_loc;
	{
		ct_line l = {.function = ct_profile_add_function(p, "main", "", "main.c", 1)};
		main_loc = ct_profile_add_location(p, 0, 0, &l, 1);
	}
	for (int lv = 0; lv < LEVELS; lv++)
		for (int b = 0; b < 2; b++) {
			snprintf(name, sizeof(name), "app::level%02d_%s", lv, b ? "right" : "left");
			ct_line l = {.function = ct_profile_add_function(p, name, "", "app.c", lv),
				     .line = 100 + lv};
			tree_loc[lv][b] = ct_profile_add_location(p, 0, 0, &l, 1);
		}
	for (int i = 0; i < POOL; i++) {
		snprintf(name, sizeof(name), "lib::module%d::function_%d", i % 37, i);
		ct_line l = {.function = ct_profile_add_function(p, name, "", "lib.c", i),
			     .line = i};
		pool_loc[i] = ct_profile_add_location(p, 0, 0, &l, 1);
	}
	/* Stack s, leaf first: tail, then the tree path of s's bits, then main. */
	uint32_t *stacks = malloc((size_t)NSTACKS * (LEVELS + MAXTAIL + 1) * sizeof(*stacks));
	uint8_t *depth = malloc(NSTACKS);
	if (!stacks || !depth) {
		free(stacks);
		free(depth);
		ct_profile_free(p);
		return NULL;
	}
	for (uint32_t s = 0; s < NSTACKS; s++) {
		uint32_t *st = &stacks[(size_t)s * (LEVELS + MAXTAIL + 1)], d = 0;
		uint32_t tail = (uint32_t)(next_rand() % (MAXTAIL + 1));
		for (uint32_t k = 0; k < tail; k++)
			st[d++] = pool_loc[(s * 31u + k * 977u) % POOL];
		for (int lv = LEVELS - 1; lv >= 0; lv--)
			st[d++] = tree_loc[lv][(s >> (LEVELS - 1 - lv)) & 1];
		st[d++] = main_loc;
		depth[s] = (uint8_t)d;
	}
	int rc = 0;
	for (uint32_t i = 0; i < NSAMPLES && !rc; i++) {
		double u = (double)(next_rand() >> 11) / 9007199254740992.0;
		uint32_t s = (uint32_t)(u * u * NSTACKS);
		int64_t v[2] = {1, 10000000};
		rc = ct_profile_add_sample(p, &stacks[(size_t)s * (LEVELS + MAXTAIL + 1)], depth[s],
					   v, NULL, 0);
	}
	free(stacks);
	free(depth);
	if (rc) {
		ct_profile_free(p);
		return NULL;
	}
	return p;
}

#endif
