/*
 * fuzz_elfsym.c — libFuzzer target: the agent's ELF symbol reader (libtrace/elfsym.h) on
 * arbitrary bytes. Loading must never crash or read past the image; a loaded table must
 * answer lookups anywhere with NULL or a NUL-terminated name whose start is not after the
 * offset asked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/elfsym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	ct_elfsym *s;
	if (ct_elfsym_load(buf, size, &s) == 0) {
		for (uint64_t off = 0; off < size + 64; off += 1 + off / 8) {
			uint64_t start;
			const char *name = ct_elfsym_lookup(s, off, &start);
			if (name && (strlen(name) == 0 || start > off)) {
				fprintf(stderr, "fuzz_elfsym: bad lookup at %llu\n",
					(unsigned long long)off);
				abort();
			}
		}
		ct_elfsym_free(s);
	}
	free(buf);
	return 0;
}
