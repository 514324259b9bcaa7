/* legacytext.c — Go's legacy text profiles for ?debug=1 (see legacytext.h). */
#include "libtrace/legacytext.h"

#include <string.h>

/* " 0xADDR" per frame of s, then the line break. These profiles' stacks are the hooks',
 * all return addresses, which a location holds as address - 1: written back as return
 * addresses, since the legacy readers take 1 off every one. */
static void addrs(const ct_profile *p, const ct_sample *s, ct_text_sink out, void *arg)
{
	out(arg, " @");
	for (uint32_t k = 0; k < s->nlocs; k++) {
		unsigned long long a = p->locations[s->locs[k]].address;
		out(arg, " %#llx", a + 1);
	}
	out(arg, "\n");
}

static void frames(const ct_profile *p, const ct_sample *s, ct_text_sink out, void *arg)
{
	for (uint32_t k = 0; k < s->nlocs; k++) {
		const ct_location *l = &p->locations[s->locs[k]];
		const ct_function *f = l->nlines ? &p->functions[l->lines[0].function] : NULL;
		out(arg, "#\t%#llx\t%s", (unsigned long long)l->address, f ? f->name : "?");
		if (f && f->filename && *f->filename)
			out(arg, "\t%s:%lld", f->filename, (long long)l->lines[0].line);
		out(arg, "\n");
	}
	out(arg, "\n");
}

static int64_t value(const ct_sample *s, int i)
{
	return i >= 0 ? s->values[i] : 0;
}

static void heap(const ct_profile *p, ct_text_sink out, void *arg)
{
	int io = ct_profile_sample_index(p, "inuse_objects"),
	    ib = ct_profile_sample_index(p, "inuse_space");
	int ao = ct_profile_sample_index(p, "alloc_objects"),
	    ab = ct_profile_sample_index(p, "alloc_space");
	int64_t t[4] = {0};
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		int64_t v[4] = {value(s, io), value(s, ib), value(s, ao), value(s, ab)};
		for (int k = 0; k < 4; k++)
			t[k] += v[k];
	}
	out(arg, "heap profile: %lld: %lld [%lld: %lld] @ heap/1\n", (long long)t[0],
	    (long long)t[1], (long long)t[2], (long long)t[3]);
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		int64_t v[4] = {value(s, io), value(s, ib), value(s, ao), value(s, ab)};
		for (int k = 0; k < 4; k += 2) /* the readers want no bytes without objects */
			if (v[k] <= 0 || v[k + 1] < 0)
				v[k] = v[k + 1] = 0;
		out(arg, "%lld: %lld [%lld: %lld]", (long long)v[0], (long long)v[1],
		    (long long)v[2], (long long)v[3]);
		addrs(p, s, out, arg);
		frames(p, s, out, arg);
	}
}

static void contention(const ct_profile *p, const char *name, ct_text_sink out, void *arg)
{
	int c = ct_profile_sample_index(p, "contentions"), d = ct_profile_sample_index(p, "delay");
	out(arg, "--- %s:\ncycles/second=1000000000\n",
	    strcmp(name, "mutex") == 0 ? "mutex" : "contention");
	if (strcmp(name, "mutex") == 0)
		out(arg, "sampling period=1\n");
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		int64_t dv = value(s, d), cv = value(s, c);
		out(arg, "%lld %lld", (long long)(dv < 0 ? 0 : dv), (long long)(cv < 0 ? 0 : cv));
		addrs(p, s, out, arg);
		frames(p, s, out, arg);
	}
}

void ct_legacy_text(const ct_profile *p, const char *name, ct_text_sink out, void *arg)
{
	if (strcmp(name, "heap") == 0 || strcmp(name, "allocs") == 0) {
		heap(p, out, arg);
		return;
	}
	if (strcmp(name, "block") == 0 || strcmp(name, "mutex") == 0) {
		contention(p, name, out, arg);
		return;
	}
	out(arg, "%s profile: total %zu\n", name, p->nsamples);
	for (size_t i = 0; i < p->nsamples; i++) {
		const ct_sample *s = &p->samples[i];
		out(arg, "%lld", (long long)(p->nsample_types ? s->values[0] : 1));
		addrs(p, s, out, arg);
		frames(p, s, out, arg);
	}
}
