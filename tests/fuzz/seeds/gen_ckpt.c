/*
 * gen_ckpt — writes the checkpoint.ctk fuzz seeds into DIR with the agent's own writer: a
 * journal with a module, stacks, a thread and an entry of every kind over two checkpoints,
 * the same cut inside its last checkpoint, and a rate-1 heap journal. Built and run by
 * tests/fuzz/run via fuzz.mk, so no binary seed is committed.
 */
#include <stdio.h>

#include "libtrace/ckpt.h"

static void body(ct_ckpt_buf *b, uint64_t heap_rate, uint32_t flags)
{
	ct_ckpt_start s = {.pid = 4242,
			   .hz = 99,
			   .modes = 31,
			   .flags = flags,
			   .heap_rate = heap_rate,
			   .wall_ns = 1700000000000000000ull,
			   .mono_ns = 1000000,
			   .engine = "perf",
			   .reason = "perf_event cpu-clock",
			   .cmd = "./server --port 1"};
	ct_ckpt_put_magic(b);
	ct_ckpt_put_start(b, &s);
	ct_ckpt_put_module(b, 0x400000, 0x401000, 0, "/usr/bin/server", "abcdef01");
	uintptr_t pcs[3] = {0x400100, 0x400200, 0x400300};
	ct_ckpt_put_stack(b, 1, pcs, 3, 0);
	ct_ckpt_put_stack(b, 2, pcs + 1, 2, 1);
	ct_ckpt_put_thread(b, 11, "worker");
	int64_t cpu[2] = {3, 30303030}, heap[4] = {2, 1024, 1, 512}, lk[3] = {4, 5000, 2000};
	ct_ckpt_put_entry(b, CT_CKPT_CPU, 1, 11, 0, cpu, 2);
	ct_ckpt_put_entry(b, CT_CKPT_HEAP, 2, 512, 0, heap, 4);
	ct_ckpt_commit k = {.mono_ns = 2000000, .samples = 3, .lost = 1, .threads = 1};
	ct_ckpt_put_commit(b, &k);
	ct_ckpt_put_entry(b, CT_CKPT_MUTEX, 1, 0x1000, 0, lk, 3);
	ct_ckpt_put_entry(b, CT_CKPT_BLOCK, 2, 0x2000, 6, lk, 3);
	k.mono_ns = 3000000;
	k.samples = 5;
	ct_ckpt_put_commit(b, &k);
}

static int write_seed(const char *dir, const char *name, const ct_ckpt_buf *b, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || b->oom || fwrite(b->data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen_ckpt: cannot write %s\n", path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_ckpt DIR\n");
		return 2;
	}
	ct_ckpt_buf b = {0}, d = {0};
	body(&b, 524288, 0);
	body(&d, 1, CT_CKPT_HEAP_DIRECT);
	int rc = write_seed(argv[1], "full", &b, b.len);
	rc |= write_seed(argv[1], "cut", &b, b.len - 9);
	rc |= write_seed(argv[1], "direct", &d, d.len);
	ct_ckpt_buf_free(&b);
	ct_ckpt_buf_free(&d);
	return rc;
}
