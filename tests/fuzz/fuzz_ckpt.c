/*
 * fuzz_ckpt.c — libFuzzer target: the checkpoint journal reader (checkpoint.ctk, which
 * `ctrace record` rebuilds profiles from when a process ended without its final write) and
 * the profiles it rebuilds, on arbitrary bytes.
 *
 * The reader takes a path (and follows no symbolic link, so not /proc/self/fd/N), so the
 * bytes go to a file in TMPDIR, removed after each input. Reading
 * must never crash, hang, leak or trip a sanitizer (an overflowing count times a period, an
 * infinite unsampled heap value); it fails with a message and no journal, or succeeds with
 * one whose every profile encodes and decodes again.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "libtrace/ckpt.h"
#include "libtrace/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[4096];
	if (!path[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(path, sizeof(path), "%s/fuzz_ckpt.%d", tmp && *tmp ? tmp : "/tmp",
			 (int)getpid());
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	ct_ckpt *c = NULL;
	ct_error err = {.offset = -1};
	if (ct_ckpt_read_file(path, &c, &err) < 0) {
		if (c || !err.msg[0]) {
			fprintf(stderr, "fuzz_ckpt: failed without a message, or left a journal\n");
			abort();
		}
		unlink(path);
		return 0;
	}
	for (int k = 0; k < CT_CKPT_NKINDS; k++) {
		ct_profile *p = ct_ckpt_profile(c, (ct_ckpt_kind)k);
		if (!p)
			continue;
		uint8_t *buf;
		size_t len;
		if (ct_pprof_encode(p, 0, &buf, &len) == 0) {
			ct_profile *q = NULL;
			if (ct_pprof_decode(buf, len, &q, &err) < 0) {
				fprintf(stderr,
					"fuzz_ckpt: a rebuilt profile does not decode: %s\n",
					err.msg);
				abort();
			}
			ct_profile_free(q);
			free(buf);
		}
		ct_profile_free(p);
	}
	ct_ckpt_free(c);
	unlink(path);
	return 0;
}
