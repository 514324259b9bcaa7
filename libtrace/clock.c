/* clock.c — monotonic↔realtime snapshots for file headers, and the tick calibration that
 * turns ct_tsc ticks into CLOCK_MONOTONIC ns (see clock.h). */
#include "libtrace/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void ct_clock_snapshot_take(ct_clock_snapshot *s)
{
	/* Bracket each realtime read between two monotonic reads and keep the tightest
	 * bracket: its midpoint is the best estimate of "the same instant". */
	uint64_t best_gap = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		struct timespec w;
		uint64_t a = ct_now();
		clock_gettime(CLOCK_REALTIME, &w);
		uint64_t b = ct_now();
		if (b - a < best_gap) {
			best_gap = b - a;
			s->mono_ns = a + (b - a) / 2;
			s->wall_ns = (uint64_t)w.tv_sec * 1000000000u + (uint64_t)w.tv_nsec;
		}
	}
}

/* Whether the space-separated flags line holds word. */
static int has_flag(const char *line, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(line, word); p; p = strstr(p + 1, word))
		if ((p == line || p[-1] == ' ' || p[-1] == '\t') &&
		    (p[n] == ' ' || p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

int ct_tsc_usable(char *reason, size_t len)
{
#if defined(__x86_64__)
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f) {
		snprintf(reason, len, "cannot read /proc/cpuinfo: %s", strerror(errno));
		return 0;
	}
	char line[8192];
	int found = 0, ok = 0;
	while (!found && fgets(line, sizeof(line), f))
		if (strncmp(line, "flags", 5) == 0) {
			found = 1;
			ok = has_flag(line, "constant_tsc") && has_flag(line, "nonstop_tsc");
		}
	fclose(f);
	snprintf(reason, len, "%s",
		 !found ? "no flags line in /proc/cpuinfo"
		 : ok	? "constant_tsc nonstop_tsc"
			: "the CPU lacks constant_tsc or nonstop_tsc");
	return ok;
#elif defined(__aarch64__)
	snprintf(reason, len, "the architected timer (cntvct_el0)");
	return 1;
#else
	snprintf(reason, len, "no tick counter on this architecture");
	return 0;
#endif
}

uint64_t ct_tick_pair_take(ct_tick_pair *p)
{
	/* A preemption between the reads widens the bracket: of 8 tries, one is nearly
	 * always clean. */
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 8; i++) {
		uint64_t a = ct_now();
		uint64_t t = ct_tsc();
		uint64_t b = ct_now();
		if (b - a < best) {
			best = b - a;
			*p = (ct_tick_pair){.ticks = t, .ns = a + (b - a) / 2};
		}
	}
	return best;
}

static const ct_tick_pair *pair_at(const ct_tick_calib *c, uint32_t i)
{
	return &c->p[(c->first + i) % CT_TICK_PAIRS];
}

int ct_tick_calib_add(ct_tick_calib *c, ct_tick_pair p, uint64_t min_gap_ns)
{
	c->seg_ok = 0;
	if (c->n) {
		const ct_tick_pair *last = pair_at(c, c->n - 1);
		if (p.ticks <= last->ticks || p.ns <= last->ns)
			return -EINVAL;
		if (c->n >= 2 && last->ns - pair_at(c, c->n - 2)->ns < min_gap_ns) {
			c->p[(c->first + c->n - 1) % CT_TICK_PAIRS] = p;
			return 0;
		}
	}
	if (c->n == CT_TICK_PAIRS) {
		c->first = (c->first + 1) % CT_TICK_PAIRS;
		c->n--;
	}
	c->p[(c->first + c->n) % CT_TICK_PAIRS] = p;
	c->n++;
	return 0;
}

uint64_t ct_tick_calib_last(const ct_tick_calib *c)
{
	return c->n ? pair_at(c, c->n - 1)->ticks : 0;
}

/* ticks on the line through the cached segment's pairs, in ns, exactly (rounded down):
 * in 64 bits when the product fits (segments under 2^32 ticks and ns, i.e. ~1.4 s at
 * 3 GHz: every segment the collector makes), else in 128. */
static uint64_t on_line(const ct_tick_calib *c, uint64_t ticks)
{
	uint64_t dticks = c->hi.ticks - c->lo.ticks, dns = c->hi.ns - c->lo.ns;
	if (ticks >= c->lo.ticks && ticks <= c->hi.ticks && dticks <= UINT32_MAX &&
	    dns <= UINT32_MAX)
		return c->lo.ns + (ticks - c->lo.ticks) * dns / dticks;
	__int128 dt = (__int128)ticks - (__int128)c->lo.ticks;
	__int128 ns = (__int128)c->lo.ns + dt * (__int128)dns / (__int128)dticks;
	return ns < 0 ? 0 : (uint64_t)ns;
}

static void use_segment(ct_tick_calib *c, const ct_tick_pair *a, const ct_tick_pair *b)
{
	c->lo = *a;
	c->hi = *b;
	c->seg_ok = 1;
}

uint64_t ct_tick_calib_ns(ct_tick_calib *c, uint64_t ticks)
{
	if (c->seg_ok && ticks >= c->lo.ticks && ticks <= c->hi.ticks)
		return on_line(c, ticks);
	if (!c->n)
		return ticks;
	if (c->n == 1) {
		const ct_tick_pair *a = pair_at(c, 0);
		return a->ns + (ticks - a->ticks);
	}
	/* The segment [lo, lo + 1] that holds ticks, or the first/last one outside. */
	uint32_t lo = 0, hi = c->n - 1;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (pair_at(c, mid)->ticks <= ticks)
			lo = mid;
		else
			hi = mid;
	}
	use_segment(c, pair_at(c, lo), pair_at(c, hi));
	return on_line(c, ticks);
}
