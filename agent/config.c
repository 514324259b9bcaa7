/* config.c — the agent's configuration from CTRACE_* environment variables (docs/env.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/internal.h"

ct_config ct_cfg; /* owner: see agent.h */

static unsigned parse_modes(const char *s)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"cpu", CT_MODE_CPU},     {"heap", CT_MODE_HEAP},	 {"lock", CT_MODE_LOCK},
		     {"block", CT_MODE_BLOCK}, {"sched", CT_MODE_SCHED}, {"mutex", CT_MODE_LOCK}};
	unsigned m = 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		if (n == 3 && strncmp(s, "all", 3) == 0)
			m |= ~0u;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n && strncmp(s, names[i].name, n) == 0)
				m |= names[i].bit;
		s += n;
		if (*s == ',')
			s++;
	}
	return m;
}

void ct_config_load(void)
{
	const char *v;
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
	ct_cfg.verbose = (v = getenv("CTRACE_VERBOSE")) && *v && strcmp(v, "0") != 0;
}
