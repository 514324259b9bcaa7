/*
 * lockprof.c — the lock and block profiles: recording on the program's threads,
 * aggregation on the collector thread, mutex.pb.gz and block.pb.gz at exit.
 *
 * The hooks (lockhooks.c, iohooks.c) call ct_lk_wait_record() when a blocking call has
 * returned and ct_lk_hold_record() when a contended lock was released. Stacks are
 * captured in place with the agent's own frames trimmed (so the leaf is the program's
 * call site) and interned; each call appends one fixed-size record. The collector hands the records
 * back to this source, which sums them per (stack, object, reason) in a hash table it owns; at exit
 * finish() writes the profiles with Go's sample types (contentions/count, delay/nanoseconds) so
 * pprof treats them the same way as Go's own.
 *
 * Labels: block samples carry `reason` (mutex, rwlock, spin, sem, cond, join, net,
 * sleep); samples on a synchronization object carry `lock` (its address in hex), net
 * waits on an epoll instance carry `fd`; every sample carries `max_wait` (nanoseconds),
 * the longest single wait (block) or hold-caused delay (mutex) it sums.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/lockprof.h"

uint64_t ct_lk_block_min_ns;

static const char *const lk_reason_names[CT_LK_NREASONS] = {
	[CT_LK_MUTEX] = "mutex", [CT_LK_RWLOCK] = "rwlock", [CT_LK_SPIN] = "spin",
	[CT_LK_SEM] = "sem",	 [CT_LK_COND] = "cond",	    [CT_LK_JOIN] = "join",
	[CT_LK_NET] = "net",	 [CT_LK_SLEEP] = "sleep",
};

const char *ct_lk_reason_name(ct_lk_reason r)
{
	return (unsigned)r < CT_LK_NREASONS ? lk_reason_names[r] : "unknown";
}

void *ct_lk_resolve(const char *name, const char *ver)
{
	void *f = ver ? dlvsym(RTLD_NEXT, name, ver) : NULL;
	return f ? f : ct_real(name);
}

void ct_lk_missing(const char *name)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "ctrace: no real %s to call\n", name);
	ssize_t w = write(2, msg, (size_t)n);
	(void)w; /* aborting either way */
	abort();
}

/* ---- recording (program threads) ---- */

/* The agent's own code segment: leading frames inside it are trimmed from stacks. Set in
 * lk_start before recording can begin, read-only afterwards. */
static uintptr_t lk_self_lo, lk_self_hi;

static int lk_find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz) {
			lk_self_lo = lo;
			lk_self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/* Captures the caller's stack without the agent's frames and interns it. Guard held. */
static uint32_t lk_stack(void)
{
	uintptr_t pcs[CT_MAX_FRAMES];
	int n = ct_capture_stack(pcs, CT_MAX_FRAMES, 0);
	int i = 0;
	while (i < n && pcs[i] >= lk_self_lo && pcs[i] < lk_self_hi)
		i++;
	return n > i ? ct_stack_intern(pcs + i, n - i) : 0;
}

void ct_lk_wait_record(ct_lk_reason reason, uint64_t obj, uint64_t start, uint64_t end)
{
	if (!ct_lk_block_on() || end - start < ct_lk_block_min_ns || !ct_guard_enter())
		return;
	int saved = errno;
	ct_lk_wait w = {.stack = lk_stack(),
			.reason = reason,
			.obj = obj,
			.start = start,
			.delay = end - start};
	ct_emit(CT_REC_LOCK_WAIT, 0, &w, sizeof(w));
	errno = saved;
	ct_guard_exit();
}

uint32_t ct_lk_stack(void)
{
	if (!ct_lk_lock_on() || !ct_guard_enter())
		return 0;
	int saved = errno;
	uint32_t stack = lk_stack();
	errno = saved;
	ct_guard_exit();
	return stack;
}

void ct_lk_hold_record(const void *obj, uint32_t stack, uint32_t count, uint64_t delay)
{
	if (!ct_lk_lock_on() || !ct_guard_enter())
		return;
	int saved = errno;
	ct_lk_hold h = {.stack = stack, .count = count, .obj = (uintptr_t)obj, .delay = delay};
	ct_emit(CT_REC_LOCK_HOLD, 0, &h, sizeof(h));
	errno = saved;
	ct_guard_exit();
}

/* ---- aggregation (collector thread) ---- */

enum { LK_AGG_BLOCK, LK_AGG_MUTEX };

typedef struct {
	uint64_t obj;
	uint32_t stack;
	uint16_t kind;	 /* LK_AGG_*; 0xffff marks a free slot */
	uint16_t reason; /* ct_lk_reason (block only) */
	int64_t count, delay, max;
} lk_agg;

static lk_agg *lk_tab;
static size_t lk_cap, lk_len;
static uint64_t lk_dropped; /* records not aggregated: out of memory or malformed */

static size_t lk_hash(uint64_t obj, uint32_t stack, unsigned kind, unsigned reason)
{
	uint64_t h = obj * 0x9e3779b97f4a7c15u;
	h ^= ((uint64_t)stack << 20 | kind << 8 | reason) * 0xc2b2ae3d27d4eb4fu;
	return (size_t)(h ^ h >> 29);
}

static lk_agg *lk_slot(lk_agg *tab, size_t cap, uint64_t obj, uint32_t stack, unsigned kind,
		       unsigned reason)
{
	size_t i = lk_hash(obj, stack, kind, reason) & (cap - 1);
	for (;; i = (i + 1) & (cap - 1)) {
		lk_agg *a = &tab[i];
		if (a->kind == 0xffff ||
		    (a->obj == obj && a->stack == stack && a->kind == kind && a->reason == reason))
			return a;
	}
}

/* Doubles the table (or creates it). 0 or -ENOMEM. */
static int lk_grow(void)
{
	size_t cap = lk_cap ? lk_cap * 2 : 1024;
	lk_agg *tab = malloc(cap * sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < cap; i++)
		tab[i].kind = 0xffff;
	for (size_t i = 0; i < lk_cap; i++) {
		const lk_agg *a = &lk_tab[i];
		if (a->kind != 0xffff)
			*lk_slot(tab, cap, a->obj, a->stack, a->kind, a->reason) = *a;
	}
	free(lk_tab);
	lk_tab = tab;
	lk_cap = cap;
	return 0;
}

static void lk_add(unsigned kind, unsigned reason, uint64_t obj, uint32_t stack, int64_t count,
		   int64_t delay, int64_t max)
{
	if (lk_len * 2 >= lk_cap && lk_grow() < 0) {
		lk_dropped++;
		return;
	}
	lk_agg *a = lk_slot(lk_tab, lk_cap, obj, stack, kind, reason);
	if (a->kind == 0xffff) {
		*a = (lk_agg){.obj = obj,
			      .stack = stack,
			      .kind = (uint16_t)kind,
			      .reason = (uint16_t)reason};
		lk_len++;
	}
	a->count += count;
	a->delay += delay;
	if (max > a->max)
		a->max = max;
}

static void lk_on_record(const ct_rec *rec)
{
	uint32_t len = ct_rec_payload_len(rec);
	if (rec->type == CT_REC_LOCK_WAIT && len >= sizeof(ct_lk_wait)) {
		ct_lk_wait w;
		memcpy(&w, ct_rec_cpayload(rec), sizeof(w));
		if (w.reason < CT_LK_NREASONS) {
			lk_add(LK_AGG_BLOCK, w.reason, w.obj, w.stack, 1, (int64_t)w.delay,
			       (int64_t)w.delay);
			return;
		}
	} else if (rec->type == CT_REC_LOCK_HOLD && len >= sizeof(ct_lk_hold)) {
		ct_lk_hold h;
		memcpy(&h, ct_rec_cpayload(rec), sizeof(h));
		lk_add(LK_AGG_MUTEX, CT_LK_MUTEX, h.obj, h.stack, h.count, (int64_t)h.delay,
		       (int64_t)h.delay);
		return;
	}
	lk_dropped++;
}

/* Whether a block reason waits on a synchronization object (labelled `lock`). */
static int lk_is_sync(unsigned reason)
{
	return reason <= CT_LK_COND;
}

static void lk_write(unsigned kind, const char *file)
{
	ct_profile *p = ct_out_profile_new();
	if (!p) {
		ct_log("lock: cannot create %s: out of memory", file);
		return;
	}
	if (ct_profile_add_sample_type(p, "contentions", "count") < 0 ||
	    ct_profile_add_sample_type(p, "delay", "nanoseconds") < 0)
		goto nomem;
	p->period_type.type = ct_profile_str(p, "contentions");
	p->period_type.unit = ct_profile_str(p, "count");
	p->period = 1;
	if (!p->period_type.type || !p->period_type.unit)
		goto nomem;
	if (lk_dropped) {
		char note[64];
		snprintf(note, sizeof(note), "lock records dropped: %llu",
			 (unsigned long long)lk_dropped);
		if (ct_profile_add_comment(p, note) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < lk_cap; i++) {
		const lk_agg *a = &lk_tab[i];
		if (a->kind != kind)
			continue;
		char hex[24];
		ct_label labels[3];
		uint32_t n = 0;
		if (kind == LK_AGG_BLOCK)
			labels[n++] =
				(ct_label){.key = "reason", .str = ct_lk_reason_name(a->reason)};
		if (kind == LK_AGG_MUTEX || lk_is_sync(a->reason)) {
			snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)a->obj);
			labels[n++] = (ct_label){.key = "lock", .str = hex};
		} else if (a->reason == CT_LK_NET && a->obj) {
			labels[n++] = (ct_label){.key = "fd", .num = (int64_t)a->obj};
		}
		labels[n++] =
			(ct_label){.key = "max_wait", .num = a->max, .num_unit = "nanoseconds"};
		int64_t values[2] = {a->count, a->delay};
		int rc = ct_out_add_stack(p, a->stack, values, labels, n);
		if (rc < 0) {
			ct_log("lock: cannot add a sample to %s: %s", file, strerror(-rc));
			break;
		}
	}
	ct_out_write(p, file);
	return;
nomem:
	ct_log("lock: cannot create %s: out of memory", file);
	ct_profile_free(p);
}

static void lk_finish(void)
{
	if (ct_cfg.modes & CT_MODE_LOCK)
		lk_write(LK_AGG_MUTEX, CT_FILE_MUTEX);
	if (ct_cfg.modes & CT_MODE_BLOCK)
		lk_write(LK_AGG_BLOCK, CT_FILE_BLOCK);
	free(lk_tab);
	lk_tab = NULL;
	lk_cap = lk_len = 0;
}

static int lk_start(void)
{
	const char *min = getenv("CTRACE_BLOCK_MIN_NS");
	if (min && *min)
		ct_lk_block_min_ns = strtoull(min, NULL, 10);
	dl_iterate_phdr(lk_find_self, (void *)(uintptr_t)lk_find_self);
	return lk_grow();
}

/* A forked child keeps nothing of the parent's aggregates (the pending-wait table is reset
 * by lockhooks.c's own atfork handler). */
static void lk_fork_child(void)
{
	free(lk_tab);
	lk_tab = NULL;
	lk_cap = lk_len = 0;
	lk_dropped = 0;
	if (lk_grow() < 0)
		lk_dropped++;
}

CT_SOURCE(lock_source) = {.name = "lock",
			  .mode = CT_MODE_LOCK | CT_MODE_BLOCK,
			  .type_min = CT_REC_LOCK_FIRST,
			  .type_max = CT_REC_LOCK_LAST,
			  .start = lk_start,
			  .on_record = lk_on_record,
			  .finish = lk_finish,
			  .fork_child = lk_fork_child};
