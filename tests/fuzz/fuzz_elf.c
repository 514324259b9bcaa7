/*
 * fuzz_elf.c — libFuzzer target: the symbolizer on arbitrary bytes posing as a module.
 *
 * The input is written to a memfd and named by a profile mapping (/proc/self/fd/N), so the
 * symbolizer's whole path runs on it: open with libdwfl, PT_LOAD segments, build id check,
 * DWARF compile unit and subprogram indexes, inline chains, line tables, symbol tables,
 * fallback names. Two mappings are used, one with no recorded build id (symbolized) and
 * one with a recorded id (checked, normally refused). Addresses: every 61st byte of the first
 * 4 KiB (where small modules keep their code), a few fixed ones, some from the input's
 * last bytes. It must never crash, hang or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libtrace/symbolize.h"

enum { BASE = 0x400000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int input_fd(void)
{
	static int fd = -1;
	if (fd < 0)
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = input_fd();
	if (fd < 0 || ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ct_profile *p = ct_profile_new();
	if (!p)
		return 0;
	ct_mapping open_map = {.memory_start = BASE,
			       .memory_limit = BASE + size + 0x10000,
			       .filename = path,
			       .build_id = ""};
	ct_mapping checked = open_map;
	checked.build_id = "0123456789abcdef";
	uint32_t maps[2] = {ct_profile_add_mapping(p, &open_map),
			    ct_profile_add_mapping(p, &checked)};
	uint64_t offs[96] = {size / 2, size ? size - 1 : 0, 0x1000, 0x1040};
	size_t noffs = 4;
	for (uint64_t off = 0; off < size && off < 0x1000 && noffs < 80; off += 61)
		offs[noffs++] = off;
	for (size_t i = 0; i + 4 <= size && i < 64 && noffs < 96; i += 4) {
		uint32_t v;
		memcpy(&v, data + size - 4 - i, sizeof(v));
		offs[noffs++] = v;
	}
	for (size_t m = 0; m < 2; m++) {
		for (size_t i = 0; i < noffs && maps[m]; i++)
			ct_profile_add_location(p, maps[m], BASE + offs[i], NULL, 0);
	}
	ct_error err;
	ct_symbolize_profile(p, NULL, &err);
	ct_profile_free(p);
	return 0;
}
