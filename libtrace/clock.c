/* clock.c — monotonic↔realtime snapshots for file headers (see clock.h). */
#include "libtrace/clock.h"

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
