/*
 * config.c — the agent's configuration from CTRACE_* environment variables (docs/env.md),
 * and the complaints about settings it could not use as given: each is logged
 * (CTRACE_VERBOSE) and kept for summary.txt's `config` line, which `ctrace record`
 * prints, so that a mistyped setting is never silently replaced by its default.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/internal.h"

ct_config ct_cfg CT_HOT_CONFIG; /* owner: see agent.h */

/* The complaints, "; "-joined. Written at start-up (constructors, the agent's init: one
 * thread), read at exit; the flag only keeps two racing writers from tearing it. */
static char warnings[512];
static atomic_flag warn_busy = ATOMIC_FLAG_INIT;

void ct_config_warn(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ct_log("%s", msg);
	if (atomic_flag_test_and_set_explicit(&warn_busy, memory_order_acquire))
		return; /* another thread is writing one: this one is only logged */
	size_t used = strlen(warnings);
	if (used + 2 < sizeof(warnings))
		snprintf(warnings + used, sizeof(warnings) - used, "%s%s", used ? "; " : "", msg);
	atomic_flag_clear_explicit(&warn_busy, memory_order_release);
}

const char *ct_config_warnings(void)
{
	return warnings;
}

bool ct_env_u64(const char *name, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (*v == '-' || *end || errno) {
		ct_config_warn("%s=%s: not a whole number; the default stays", name, v);
		return false;
	}
	if (x < lo || x > hi) {
		uint64_t c = x < lo ? lo : hi;
		ct_config_warn("%s=%s: outside %llu..%llu; using %llu", name, v,
			       (unsigned long long)lo, (unsigned long long)hi,
			       (unsigned long long)c);
		x = c;
	}
	*out = x;
	return true;
}

/* CTRACE_MODES: an unknown name is reported and skipped; the names recognized still apply. */
static unsigned parse_modes(const char *s)
{
	unsigned m;
	ct_error err = {.offset = -1};
	if (ct_modes_parse(s, &m, &err) != 0)
		ct_config_warn("CTRACE_MODES=%s: %s; ignored", s, err.msg);
	return m;
}

void ct_config_load(void)
{
	const char *v;
	uint64_t x;
	ct_cfg.verbose = (v = getenv("CTRACE_VERBOSE")) && *v && strcmp(v, "0") != 0;
	v = (v = getenv("CTRACE_OUT")) && *v ? v : "ctrace.out";
	/* Relative to the directory the process starts in, not to wherever it has moved by
	 * the time a file is written (a daemon's chdir("/")). */
	size_t n = 0;
	if (*v != '/' && getcwd(ct_cfg.out_dir, sizeof(ct_cfg.out_dir)) &&
	    strcmp(ct_cfg.out_dir, "/") != 0)
		n = strlen(ct_cfg.out_dir);
	if (*v != '/' && n + 2 + strlen(v) <= sizeof(ct_cfg.out_dir))
		ct_cfg.out_dir[n++] = '/';
	else
		n = 0; /* absolute, or no room: as given */
	snprintf(ct_cfg.out_dir + n, sizeof(ct_cfg.out_dir) - n, "%s", v);
	ct_cfg.modes = (v = getenv("CTRACE_MODES")) && *v ? parse_modes(v) : ~0u;
	ct_cfg.hz = 99;
	if (ct_env_u64("CTRACE_HZ", 1, 100000, &x))
		ct_cfg.hz = (int)x;
	ct_cfg.heap_rate = 512 * 1024;
	if (ct_env_u64("CTRACE_HEAP_RATE", 1, UINT64_MAX, &x))
		ct_cfg.heap_rate = x;
	ct_cfg.sampler = CT_SAMPLER_AUTO;
	if ((v = getenv("CTRACE_SAMPLER")) && *v) {
		if (strcmp(v, "perf") == 0)
			ct_cfg.sampler = CT_SAMPLER_PERF;
		else if (strcmp(v, "timer") == 0)
			ct_cfg.sampler = CT_SAMPLER_TIMER;
		else
			ct_config_warn("CTRACE_SAMPLER=%s: not perf or timer; chosen automatically",
				       v);
	}
	/* Bytes of user stack copied per CPU sample (perf's --call-graph dwarf default is
	 * 8192): deeper stacks are cut there. 16 KiB covers ~100 typical frames. */
	ct_cfg.stack_bytes = 16384;
	if (ct_env_u64("CTRACE_STACK_BYTES", 1024, 65528, &x))
		ct_cfg.stack_bytes = (uint32_t)(x & ~7ull);
	/* Each CPU's ring of hook records: 4 MiB, or a power of two from 4 KiB to 256 MiB
	 * (rounded down); small rings are for testing what a full ring does. */
	/* trace.ctr's size, beyond which it is closed (complete, but ending there) rather than
	 * left to fill the disk: 256 MiB is an hour of a busy server's switches and waits, and
	 * about what `ctrace report` reads in a few GiB of memory. 0: no cap. */
	ct_cfg.trace_max = 256ull << 20;
	if (ct_env_u64("CTRACE_TRACE_MAX_MB", 0, 1u << 30, &x))
		ct_cfg.trace_max = x << 20;
	ct_cfg.ring_bytes = 4u << 20;
	if (ct_env_u64("CTRACE_RING_BYTES", 4096, 256u << 20, &x)) {
		uint32_t p2 = 4096;
		while ((uint64_t)p2 * 2 <= x)
			p2 *= 2;
		ct_cfg.ring_bytes = p2;
	}
}
