/*
 * perf.c — the perf_event engine: CPU samples and the scheduler's records.
 *
 * One software event per CPU for this process (pid 0, cpu N, inherit, and inherit_thread +
 * remove_on_exec so forked children and exec'd programs are left alone), opened in the
 * constructor so that every thread the program creates inherits it. Each event has its own
 * mmap ring (the kernel's lock-free per-CPU buffer). It runs when the cpu or the sched mode
 * is on:
 * - cpu: the event is cpu-clock; samples carry the user registers and a copy of the user
 *   stack (CTRACE_STACK_BYTES), which the CPU source unwinds off the program's threads
 *   (unwind.c). The period is in nanoseconds of CPU time, so every sample weighs exactly
 *   1e9/hz ns.
 * - sched: context_switch (PERF_RECORD_SWITCH on every switch in or out, with the preempt
 *   flag) and task (PERF_RECORD_FORK/EXIT), with sample_id_all so that each carries tid,
 *   time and CPU. Without cpu the event is the dummy software event, which never samples.
 * The collector drains the rings (ct_perf_drain); every record is decoded into its
 * events.h struct and handed to ct_dispatch — this file knows no source. Locked memory for
 * the rings is limited (perf_event_mlock_kb per CPU plus RLIMIT_MEMLOCK): ring size backs
 * off until it fits.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/ann.h"
#include "agent/fdguard.h"
#include "agent/internal.h"

#define MAX_CPUS 1024

/* PERF_REG_X86_* bits: AX BX CX DX SI DI BP SP IP (0-8) and R8-R15 (16-23). */
#define REGS_MASK 0x00ff01ffull

/* The rings; set up by ct_perf_start (constructor or forked child) before the engine is
 * published with ct_engine_set, then drained by the collector thread only. */
static struct perf_ring {
	int fd;	  /* while opening; then held by the fd guard: */
	int slot; /* its fdguard slot + 1, 0 if none */
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	size_t size;		   /* data area bytes, power of two */
	uint64_t records, samples; /* delivered so far (collector): the mix of what was lost */
} cpus[MAX_CPUS];
static int ncpus;
static uint64_t period_ns;
/* Rings smaller than the wakeup watermark assumes: the collector drains every 5 ms. Written
 * while the collector already runs, read by it as a hint: relaxed. */
_Atomic int ct_perf_small_rings;
/* The largest share of a ring, in 1/1024ths, that the drains since the last ct_perf_fill()
 * found written: the collector's measure of how fast the rings fill. Collector only. */
static uint32_t fill_max;
/* ct_perf_max_sleep_ms: set by ct_perf_start, read by the collector. Relaxed. */
static _Atomic uint32_t max_sleep_ms;
#define PERF_SLEEP_MAX_MS 100
/* The events ask for a SIGTRAP after each sample (labelsig.c): set by ct_perf_start. */
static int label_signal;
static uint8_t *scratch; /* one record copied out of the ring (records may wrap); collector */
static size_t scratch_cap;

static int perf_open(struct perf_event_attr *a, int cpu)
{
	return (int)syscall(SYS_perf_event_open, a, 0, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* The ring's event fd if it is still ours (the program may have closed it), else -1. */
static int ring_fd(const struct perf_ring *r)
{
	return r->slot ? ct_fdg_check(r->slot - 1) : -1;
}

/* The event for the enabled modes: see the file comment. */
static void perf_attr(struct perf_event_attr *a)
{
	int cpu = (ct_cfg.modes & CT_MODE_CPU) != 0, sched = (ct_cfg.modes & CT_MODE_SCHED) != 0;
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = PERF_TYPE_SOFTWARE;
	if (cpu) {
		a->config = PERF_COUNT_SW_CPU_CLOCK;
		a->sample_period = period_ns;
		a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
				 PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_REGS_USER |
				 PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = REGS_MASK;
		a->sample_stack_user = ct_cfg.stack_bytes;
	} else {
		/* Scheduler records only: the dummy event counts and samples nothing. */
		a->config = PERF_COUNT_SW_DUMMY;
		a->sample_period = 0;
		a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
	}
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
	a->exclude_idle = 1;
	a->inherit = 1;
	a->inherit_thread = 1;
	a->remove_on_exec = 1;
	a->comm = 1;
	if (sched) {
		a->context_switch = 1;
		a->task = 1;
		a->sample_id_all = 1;
	}
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->disabled = 1;
	a->watermark = 1;
}

/* Opens and maps every CPU's event. 1 MiB per CPU, halved while locked memory refuses. The
 * wakeup watermark (half the ring) is fixed at open, so when CPU 0's ring comes out smaller
 * than planned its event is reopened with a matching watermark; a later CPU that gets less
 * still works, with the collector draining every 5 ms (ct_perf_small_rings). Returns the
 * pages per ring, or -errno with why filled. */
static long open_rings(struct perf_event_attr *a, const char *what, char *why, size_t whylen)
{
	size_t pages = 256;
	for (int c = 0; c < ncpus; c++) {
		a->wakeup_watermark = (uint32_t)(pages * 4096 / 2);
		cpus[c].fd = perf_open(a, c);
		if (cpus[c].fd < 0) {
			int e = errno;
			if ((e == ENODEV || e == ENXIO || e == EINVAL) && c > 0)
				continue; /* offline CPU */
			snprintf(why, whylen, "perf_event_open(%s, cpu %d): %s", what, c,
				 strerror(e));
			return -e;
		}
		size_t want = pages;
		void *m = MAP_FAILED;
		while (pages >= 8) {
			m = mmap(NULL, (pages + 1) * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
				 cpus[c].fd, 0);
			if (m != MAP_FAILED)
				break;
			pages /= 2;
		}
		if (m == MAP_FAILED) {
			int e = errno;
			snprintf(why, whylen, "mmap of perf ring (cpu %d): %s", c, strerror(e));
			return -e;
		}
		if (pages != want && c == 0) {
			munmap(m, (pages + 1) * 4096);
			close(cpus[c].fd);
			c--; /* again, with the size that fits and its watermark */
			continue;
		}
		if (pages != want)
			atomic_store_explicit(&ct_perf_small_rings, 1, memory_order_relaxed);
		int s = ct_fdg_adopt(cpus[c].fd, CT_FDG_PERF); /* the mapping stays */
		cpus[c].fd = s < 0 ? -1 : ct_fdg_get(s);
		cpus[c].slot = s + 1;
		cpus[c].meta = m;
		cpus[c].data = (uint8_t *)m + 4096;
		cpus[c].size = pages * 4096;
	}
	return (long)pages;
}

int ct_perf_start(char *why, size_t whylen)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	ncpus = n < 1 ? 1 : n > MAX_CPUS ? MAX_CPUS : (int)n;
	period_ns = 1000000000ull / (uint64_t)ct_cfg.hz;
	struct perf_event_attr a;
	perf_attr(&a);
	const char *what = a.config == PERF_COUNT_SW_CPU_CLOCK ? "cpu-clock" : "dummy";
	scratch_cap = ct_cfg.stack_bytes + 4096;
	scratch =
		mmap(NULL, scratch_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED) {
		scratch = NULL;
		snprintf(why, whylen, "mmap: %s", strerror(errno));
		return -ENOMEM;
	}
	/* Labels read at each sample: the handler first, then events that signal. A kernel
	 * before 5.13 refuses sigtrap (EINVAL at CPU 0): the changes are stamped instead. */
	label_signal = a.config == PERF_COUNT_SW_CPU_CLOCK && ct_labelsig_prepare();
	a.sigtrap = (unsigned)label_signal;
	a.sig_data = label_signal ? CT_LABELSIG_COOKIE : 0;
	long pages = open_rings(&a, what, why, whylen);
	if (pages == -EINVAL && label_signal) {
		ct_log("perf: no sigtrap (%s); label changes are stamped", why);
		label_signal = 0;
		a.sigtrap = 0;
		a.sig_data = 0;
		pages = open_rings(&a, what, why, whylen);
	}
	if (pages < 0) {
		ct_perf_stop();
		return (int)pages;
	}
	uint32_t sleep_ms = 0;
	if (!a.context_switch && a.config == PERF_COUNT_SW_CPU_CLOCK) {
		/* A sample: its user stack copy, registers, fields and header (512 bytes). */
		uint64_t per_s = ((uint64_t)ct_cfg.stack_bytes + 512) * (uint64_t)ct_cfg.hz;
		uint64_t ms = (uint64_t)pages * 4096 / 4 * 1000 / per_s;
		sleep_ms = ms > PERF_SLEEP_MAX_MS ? PERF_SLEEP_MAX_MS : (uint32_t)ms;
	}
	atomic_store_explicit(&max_sleep_ms, sleep_ms, memory_order_relaxed);
	for (int c = 0; c < ncpus; c++)
		if (ring_fd(&cpus[c]) >= 0)
			ioctl(ring_fd(&cpus[c]), PERF_EVENT_IOC_ENABLE, 0);
	if (a.config == PERF_COUNT_SW_CPU_CLOCK)
		snprintf(why, whylen,
			 "perf_event cpu-clock, %d Hz, user mode only%s, %ld KiB ring per CPU%s",
			 ct_cfg.hz, a.context_switch ? ", context switches" : "", pages * 4,
			 label_signal ? ", labels read at each sample" : "");
	else
		snprintf(why, whylen, "perf_event dummy, context switches, %ld KiB ring per CPU",
			 pages * 4);
	return 0;
}

int ct_perf_label_signal(void)
{
	return label_signal;
}

void ct_perf_stop(void)
{
	for (int c = 0; c < ncpus; c++) {
		int fd = ring_fd(&cpus[c]);
		if (fd >= 0)
			ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	}
}

void ct_perf_forget(void)
{
	/* The child inherited the fds and the rings, which still belong to the parent's
	 * events: close our view of them; the child opens its own. */
	for (int c = 0; c < ncpus; c++) {
		if (cpus[c].meta)
			munmap(cpus[c].meta, cpus[c].size + 4096);
		if (cpus[c].slot)
			ct_fdg_release(cpus[c].slot - 1);
		memset(&cpus[c], 0, sizeof(cpus[c]));
	}
	if (scratch)
		munmap(scratch, scratch_cap);
	scratch = NULL;
}

/* Decodes one PERF_RECORD_SAMPLE laid out per our sample_type and dispatches it. */
static void on_sample(const uint8_t *p, const uint8_t *end)
{
	struct {
		uint64_t ip;
		uint32_t pid, tid;
		uint64_t time;
		uint32_t cpu, res;
		uint64_t period;
	} h;
	if ((size_t)(end - p) < sizeof(h) + 8)
		return;
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	uint64_t abi;
	memcpy(&abi, p, 8);
	p += 8;
	uint64_t pregs[17] = {0};
	if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
		if ((size_t)(end - p) < sizeof(pregs))
			return;
		memcpy(pregs, p, sizeof(pregs));
		p += sizeof(pregs);
	}
	uint64_t size = 0, dyn = 0;
	const uint8_t *stack = NULL;
	if ((size_t)(end - p) >= 8) {
		memcpy(&size, p, 8);
		p += 8;
		if (size && (size_t)(end - p) >= size + 8) {
			stack = p;
			memcpy(&dyn, p + size, 8);
			if (dyn > size)
				dyn = size;
		}
	}
	/* perf order (bit order of REGS_MASK): AX BX CX DX SI DI BP SP IP R8..R15
	 * → libunwind order: RAX RDX RCX RBX RSI RDI RBP RSP R8..R15 RIP */
	uint64_t regs[CT_NREGS];
	if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
		regs[0] = pregs[0];
		regs[1] = pregs[3];
		regs[2] = pregs[2];
		regs[3] = pregs[1];
		regs[4] = pregs[4];
		regs[5] = pregs[5];
		regs[6] = pregs[6];
		regs[7] = pregs[7];
		for (int i = 0; i < 8; i++)
			regs[8 + i] = pregs[9 + i];
		regs[16] = pregs[8];
	} else {
		memset(regs, 0, sizeof(regs));
		regs[CT_REG_RIP] = h.ip;
		dyn = 0;
	}
	ct_ev_sample s = {.weight_ns = h.period ? h.period : period_ns,
			  .regs = regs,
			  .stack = stack,
			  .stack_len = stack ? dyn : 0,
			  .cpu = h.cpu,
			  .pid = h.pid};
	ct_event ev = {
		.type = CT_EV_SAMPLE, .tid = h.tid, .time = h.time, .data = &s, .len = sizeof(s)};
	ct_dispatch(&ev);
}

/* The sample_id trailer of a non-sample record (sample_id_all, sample_type TID | TIME |
 * CPU, in that order): the last 24 bytes. 0 when the record has none. */
typedef struct {
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu, res;
} sample_id;

static int trailer(const uint8_t *body, const uint8_t *end, size_t fixed, sample_id *id)
{
	if (!(ct_cfg.modes & CT_MODE_SCHED) || (size_t)(end - body) < fixed + sizeof(*id))
		return 0;
	memcpy(id, end - sizeof(*id), sizeof(*id));
	return 1;
}

static void on_switch(const uint8_t *body, const uint8_t *end, uint16_t misc, size_t fixed)
{
	sample_id id;
	if (!trailer(body, end, fixed, &id))
		return;
	ct_ev_switch sw = {.cpu = id.cpu, .pid = id.pid};
	if (misc & PERF_RECORD_MISC_SWITCH_OUT)
		sw.flags |= CT_SWITCH_OUT;
	if (misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT)
		sw.flags |= CT_SWITCH_PREEMPT;
	ct_event ev = {.type = CT_EV_SWITCH,
		       .tid = id.tid,
		       .time = id.time,
		       .data = &sw,
		       .len = sizeof(sw)};
	ct_dispatch(&ev);
}

static void on_comm(const uint8_t *body, const uint8_t *end, uint16_t misc)
{
	uint32_t ids[2];
	if ((size_t)(end - body) <= sizeof(ids))
		return;
	memcpy(ids, body, sizeof(ids));
	ct_ev_comm c = {.pid = ids[0], .exec = (misc & PERF_RECORD_MISC_COMM_EXEC) != 0};
	const uint8_t *name = body + sizeof(ids);
	size_t n = strnlen((const char *)name, (size_t)(end - name));
	if (n > sizeof(c.name) - 1)
		n = sizeof(c.name) - 1;
	memcpy(c.name, name, n);
	sample_id id = {0};
	trailer(body, end, sizeof(ids) + 8, &id);
	ct_event ev = {
		.type = CT_EV_COMM, .tid = ids[1], .time = id.time, .data = &c, .len = sizeof(c)};
	ct_dispatch(&ev);
}

static void on_task(const uint8_t *body, const uint8_t *end, uint16_t type)
{
	struct {
		uint32_t pid, ppid, tid, ptid;
		uint64_t time;
	} t;
	if ((size_t)(end - body) < sizeof(t))
		return;
	memcpy(&t, body, sizeof(t));
	ct_ev_task task = {.pid = t.pid, .ppid = t.ppid, .ptid = t.ptid};
	ct_event ev = {
		.type = type, .tid = t.tid, .time = t.time, .data = &task, .len = sizeof(task)};
	ct_dispatch(&ev);
}

static void on_lost(const uint8_t *body, const uint8_t *end, uint32_t cpu)
{
	uint64_t v[2]; /* id, lost */
	if ((size_t)(end - body) < sizeof(v))
		return;
	memcpy(v, body, sizeof(v));
	/* The kernel counts lost records, not samples: with context switches on, most records
	 * are switches, so the lost samples are estimated from this ring's own mix. */
	const struct perf_ring *r = &cpus[cpu];
	uint64_t samples = r->records			  ? v[1] * r->samples / r->records
			   : (ct_cfg.modes & CT_MODE_CPU) ? v[1]
							  : 0;
	ct_ev_lost l = {.count = v[1], .samples = samples, .cpu = cpu};
	sample_id id = {0};
	trailer(body, end, sizeof(v), &id);
	ct_event ev = {.type = CT_EV_LOST, .time = id.time, .data = &l, .len = sizeof(l)};
	ct_dispatch(&ev);
}

/* Decodes one record of CPU cpu's ring into its event (events.h) and dispatches it. */
static void decode(const struct perf_event_header *hdr, const uint8_t *rec, uint32_t cpu)
{
	const uint8_t *body = rec + sizeof(*hdr), *end = rec + hdr->size;
	if (hdr->type != PERF_RECORD_LOST)
		cpus[cpu].records++;
	switch (hdr->type) {
	case PERF_RECORD_SAMPLE:
		cpus[cpu].samples++;
		on_sample(body, end);
		break;
	case PERF_RECORD_SWITCH:
		on_switch(body, end, hdr->misc, 0);
		break;
	case PERF_RECORD_SWITCH_CPU_WIDE: /* next_prev_pid, next_prev_tid before the trailer */
		on_switch(body, end, hdr->misc, 8);
		break;
	case PERF_RECORD_COMM:
		on_comm(body, end, hdr->misc);
		break;
	case PERF_RECORD_FORK:
		on_task(body, end, CT_EV_FORK);
		break;
	case PERF_RECORD_EXIT:
		on_task(body, end, CT_EV_EXIT);
		break;
	case PERF_RECORD_LOST:
		on_lost(body, end, cpu);
		break;
	default:
		break;
	}
}

static size_t drain_one(struct perf_ring *r, uint32_t cpu)
{
	size_t n = 0;
	/* Acquire: the kernel's writes of the records come before its store of data_head. */
	uint64_t head =
		atomic_load_explicit((_Atomic uint64_t *)&r->meta->data_head, memory_order_acquire);
	uint64_t tail = r->meta->data_tail;
	if (head > tail) {
		uint64_t fill = (head - tail) * 1024 / r->size;
		fill_max = fill > fill_max ? (uint32_t)(fill < 1024 ? fill : 1024) : fill_max;
	}
	while (tail < head) {
		struct perf_event_header hdr;
		size_t off = tail & (r->size - 1);
		size_t first = r->size - off;
		if (first >= sizeof(hdr)) {
			memcpy(&hdr, r->data + off, sizeof(hdr));
		} else {
			memcpy(&hdr, r->data + off, first);
			memcpy((uint8_t *)&hdr + first, r->data, sizeof(hdr) - first);
		}
		if (hdr.size < sizeof(hdr) || tail + hdr.size > head)
			break;
		const uint8_t *rec;
		if (hdr.size <= first) {
			rec = r->data + off;
		} else if (hdr.size <= scratch_cap) {
			memcpy(scratch, r->data + off, first);
			memcpy(scratch + first, r->data, hdr.size - first);
			rec = scratch;
		} else {
			tail += hdr.size;
			continue;
		}
		decode(&hdr, rec, cpu);
		tail += hdr.size;
		n++;
	}
	/* Release: our reads of the records happen before the kernel may overwrite them. */
	atomic_store_explicit((_Atomic uint64_t *)&r->meta->data_tail, tail, memory_order_release);
	return n;
}

size_t ct_perf_drain(void)
{
	size_t n = 0;
	for (int c = 0; c < ncpus; c++)
		if (cpus[c].meta)
			n += drain_one(&cpus[c], (uint32_t)c);
	return n;
}

uint32_t ct_perf_max_sleep_ms(void)
{
	return atomic_load_explicit(&max_sleep_ms, memory_order_relaxed);
}

uint32_t ct_perf_fill(void)
{
	uint32_t f = fill_max;
	fill_max = 0;
	return f;
}
