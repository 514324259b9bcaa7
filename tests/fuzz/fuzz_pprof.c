/*
 * fuzz_pprof.c — libFuzzer target: the pprof reader on arbitrary bytes.
 *
 * Decoding must never crash, hang, leak or trip a sanitizer, must fail with a message and
 * no profile, or succeed with a profile that the writer accepts as it is and that decodes
 * again to the same shape (a valid profile is a fixed point of decode ∘ encode). Inputs
 * starting with the gzip magic go through the inflater with a 64 MiB bound, so that the
 * fuzzer's memory limit is never the one that stops a bomb.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtrace/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A crash that names the broken invariant in the fuzzer's report. */
static void require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_pprof: broken invariant: %s\n", what);
		abort();
	}
}

static void same_shape(const ct_profile *a, const ct_profile *b)
{
	require(a->nsample_types == b->nsample_types, "sample types");
	require(a->nsamples == b->nsamples, "samples");
	require(a->nmappings == b->nmappings, "mappings");
	require(a->nlocations == b->nlocations, "locations");
	require(a->nfunctions == b->nfunctions, "functions");
	require(a->ncomments == b->ncomments, "comments");
	require(a->period == b->period && a->time_nanos == b->time_nanos, "scalars");
	for (size_t i = 0; i < a->nsamples; i++) {
		const ct_sample *x = &a->samples[i], *y = &b->samples[i];
		require(x->nlocs == y->nlocs && x->nlabels == y->nlabels, "sample shape");
		if (x->nlocs)
			require(!memcmp(x->locs, y->locs, x->nlocs * sizeof(*x->locs)), "stack");
		if (a->nsample_types)
			require(!memcmp(x->values, y->values,
					a->nsample_types * sizeof(*x->values)),
				"values");
	}
	for (uint32_t i = 0; i < a->nlocations; i++)
		require(a->locations[i].id == b->locations[i].id &&
				a->locations[i].nlines == b->locations[i].nlines,
			"location");
	for (uint32_t i = 0; i < a->nfunctions; i++)
		require(!strcmp(a->functions[i].name, b->functions[i].name), "function name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ct_profile *p = NULL;
	ct_error err;
	int rc = ct_pprof_decode_limit(data, size, 64u << 20, &p, &err);
	if (rc) {
		require(p == NULL && err.msg[0] != '\0', "failure contract");
		return 0;
	}
	require(p != NULL, "success contract");
	for (int gz = 0; gz < 2; gz++) {
		uint8_t *buf;
		size_t len;
		require(ct_pprof_encode(p, gz, &buf, &len) == 0, "re-encode");
		ct_profile *q = NULL;
		require(ct_pprof_decode(buf, len, &q, &err) == 0, "re-decode");
		same_shape(p, q);
		ct_profile_free(q);
		free(buf);
	}
	ct_profile_free(p);
	return 0;
}
