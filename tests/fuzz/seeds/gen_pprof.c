/*
 * gen_pprof — writes the pprof fuzz seeds into DIR: a CPU profile raw and gzipped (with
 * mappings, inlined lines, string and numeric labels, comments) and a heap profile with
 * four sample types. Built and run by tests/fuzz/run, so no binary seed is committed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "libtrace/pprof.h"

static int put(const ct_profile *p, const char *dir, const char *name, bool gzip)
{
	uint8_t *buf;
	size_t len;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (ct_pprof_encode(p, gzip, &buf, &len) != 0)
		return -1;
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(buf, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = 0;
	free(buf);
	return ok ? 0 : -1;
}

/* Three frames, the leaf with an inlined callee, in one mapped module. */
static void add_stacks(ct_profile *p, const int64_t *v0, const int64_t *v1)
{
	ct_mapping m = {.memory_start = 0x400000,
			.memory_limit = 0x401000,
			.file_offset = 0x1000,
			.filename = "/usr/bin/seed",
			.build_id = "0123456789abcdef",
			.has_functions = true,
			.has_filenames = true,
			.has_line_numbers = true,
			.has_inline_frames = true};
	uint32_t map = ct_profile_add_mapping(p, &m);
	uint32_t fmain = ct_profile_add_function(p, "main", "main", "seed.c", 10);
	uint32_t fwork = ct_profile_add_function(p, "work", "_Z4workv", "seed.c", 20);
	uint32_t finl = ct_profile_add_function(p, "inner", "", "seed.h", 3);
	ct_line lmain = {fmain, 12}, lwork = {fwork, 22}, linl[2] = {{finl, 4}, {fwork, 25}};
	uint32_t locs[3] = {ct_profile_add_location(p, map, 0x400100, linl, 2),
			    ct_profile_add_location(p, map, 0x400200, &lwork, 1),
			    ct_profile_add_location(p, map, 0x400300, &lmain, 1)};
	ct_label labels[2] = {{.key = "thread", .str = "worker"}, {.key = "tid", .num = 42}};
	ct_profile_add_sample(p, locs, 3, v0, labels, 2);
	ct_profile_add_sample(p, locs + 1, 2, v1, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_pprof DIR\n");
		return 2;
	}
	ct_profile *cpu = ct_profile_new();
	ct_profile *heap = ct_profile_new();
	if (!cpu || !heap)
		return 1;
	ct_profile_add_sample_type(cpu, "samples", "count");
	ct_profile_add_sample_type(cpu, "cpu", "nanoseconds");
	cpu->period_type =
		(ct_value_type){ct_profile_str(cpu, "cpu"), ct_profile_str(cpu, "nanoseconds")};
	cpu->period = 10101010;
	cpu->time_nanos = 1700000000000000000;
	cpu->duration_nanos = 1000000000;
	ct_profile_add_comment(cpu, "seed profile");
	int64_t c0[2] = {3, 30303030}, c1[2] = {1, 10101010};
	add_stacks(cpu, c0, c1);

	const char *types[4][2] = {{"alloc_objects", "count"},
				   {"alloc_space", "bytes"},
				   {"inuse_objects", "count"},
				   {"inuse_space", "bytes"}};
	for (int i = 0; i < 4; i++)
		ct_profile_add_sample_type(heap, types[i][0], types[i][1]);
	heap->period_type =
		(ct_value_type){ct_profile_str(heap, "space"), ct_profile_str(heap, "bytes")};
	heap->period = 524288;
	heap->default_sample_type = ct_profile_str(heap, "inuse_space");
	int64_t h0[4] = {10, 10240, 2, 2048}, h1[4] = {1, 1 << 20, 0, 0};
	add_stacks(heap, h0, h1);

	int r = put(cpu, argv[1], "cpu.pb", false) | put(cpu, argv[1], "cpu.pb.gz", true) |
		put(heap, argv[1], "heap.pb", false);
	ct_profile_free(cpu);
	ct_profile_free(heap);
	if (r) {
		fprintf(stderr, "gen_pprof: cannot write the seeds to %s\n", argv[1]);
		return 1;
	}
	return 0;
}
