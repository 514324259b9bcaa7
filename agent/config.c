/* config.c — the agent's configuration from CTRACE_* environment variables (docs/env.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal.h"

ct_config ct_cfg; /* owner: see agent.h */

/* CTRACE_MODES: an unknown name is logged and skipped; the names recognized still apply. */
static unsigned parse_modes(const char *s)
{
	unsigned m;
	ct_error err = {.offset = -1};
	if (ct_modes_parse(s, &m, &err) != 0)
		ct_log("CTRACE_MODES=%s: %s; ignored", s, err.msg);
	return m;
}

void ct_config_load(void)
{
	const char *v;
	ct_cfg.verbose = (v = getenv("CTRACE_VERBOSE")) && *v && strcmp(v, "0") != 0;
	snprintf(ct_cfg.out_dir, sizeof(ct_cfg.out_dir), "%s",
		 (v = getenv("CTRACE_OUT")) && *v ? v : "ctrace.out");
	ct_cfg.modes = (v = getenv("CTRACE_MODES")) && *v ? parse_modes(v) : ~0u;
	ct_cfg.hz = 99;
	if ((v = getenv("CTRACE_HZ")) && atoi(v) > 0)
		ct_cfg.hz = atoi(v) > 100000 ? 100000 : atoi(v);
	ct_cfg.heap_rate = 512 * 1024;
	if ((v = getenv("CTRACE_HEAP_RATE")) && strtoull(v, NULL, 10) > 0)
		ct_cfg.heap_rate = strtoull(v, NULL, 10);
	ct_cfg.sampler = CT_SAMPLER_AUTO;
	if ((v = getenv("CTRACE_SAMPLER"))) {
		if (strcmp(v, "perf") == 0)
			ct_cfg.sampler = CT_SAMPLER_PERF;
		else if (strcmp(v, "timer") == 0)
			ct_cfg.sampler = CT_SAMPLER_TIMER;
	}
	/* Bytes of user stack copied per CPU sample (perf's --call-graph dwarf default is
	 * 8192): deeper stacks are cut there. 16 KiB covers ~100 typical frames. */
	ct_cfg.stack_bytes = 16384;
	if ((v = getenv("CTRACE_STACK_BYTES")) && atoi(v) > 0) {
		long b = atol(v);
		b = b < 1024 ? 1024 : b > 65528 ? 65528 : b;
		ct_cfg.stack_bytes = (uint32_t)(b & ~7L);
	}
	/* Each CPU's ring of hook records: 4 MiB, or a power of two from 4 KiB to 256 MiB
	 * (rounded down); small rings are for testing what a full ring does. */
	ct_cfg.ring_bytes = 4u << 20;
	if ((v = getenv("CTRACE_RING_BYTES")) && atol(v) > 0) {
		long b = atol(v);
		b = b < 4096 ? 4096 : b > (256L << 20) ? (256L << 20) : b;
		uint32_t p2 = 4096;
		while ((long)p2 * 2 <= b)
			p2 *= 2;
		ct_cfg.ring_bytes = p2;
	}
}
