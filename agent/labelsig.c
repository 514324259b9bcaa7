/*
 * labelsig.c — profile labels read at each perf sample, the way Go's SIGPROF handler
 * reads a goroutine's labels: the perf engine's event asks the kernel for a SIGTRAP to the
 * sampled thread after each sample (perf_event_attr.sigtrap, Linux 5.13), and this
 * module's handler notes the thread's current label set (ct_ann_observe). No user code
 * runs between the sample and the signal, so the set the handler reads is the set the
 * sample was taken under, and a label push or pop records nothing: it costs what it costs
 * without the CPU mode.
 *
 * When. Only for programs that use annotations: a translation unit that includes
 * include/ctrace/annotate.h carries an ELF note (CTRACE_ANNOTATE_NOTE_NAME/_TYPE), looked for in
 * every object loaded at start-up. CTRACE_LABELS=auto (that), signal (always) or records
 * (never: every label change is stamped with ct_fast_now and matched by time, as a
 * library dlopen'ed later, or a kernel without sigtrap, gets anyway).
 *
 * Staying out of the program's way. SIGTRAP is claimed through sighooks.c: the program
 * sees its own action in queries; when it installs a handler, ours stays in front and
 * forwards every SIGTRAP that is not a perf sample's with our cookie (a breakpoint, a
 * raise) to it, or dies of it by default. Samples are taken only in user mode, so the
 * signal never interrupts a system call. A thread that blocks SIGTRAP would get its
 * signals late or never: once it does (its first label change finds the signal blocked,
 * sigprocmask/pthread_sigmask block it, or a signal comes flagged asynchronous), that
 * thread's label changes are stamped instead (annotate.c), and counted for the summary.
 */
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/ann.h"
#include "agent/sighooks.h"
#define CTRACE_ANNOTATE_ABI_ONLY
#include "include/ctrace/annotate.h"

/* siginfo's perf fields (the kernel's _sigfault._perf; glibc 2.36 names none of them):
 * si_perf_data right after si_addr, then si_perf_type and si_perf_flags. */
#define TRAP_PERF_CODE 6
#define PERF_FLAG_ASYNC 1u
#define OFF_PERF_DATA (offsetof(siginfo_t, si_addr) + sizeof(void *))
#define OFF_PERF_FLAGS (OFF_PERF_DATA + sizeof(unsigned long) + sizeof(uint32_t))

static int ready;   /* the handler is installed: the perf engine may ask for sigtrap */
static int decided; /* ct_labelsig_prepare ran (a forked child keeps the choice) */

static void on_sigtrap(int sig, siginfo_t *si, void *uc)
{
	unsigned long data;
	uint32_t flags;
	memcpy(&data, (const char *)si + OFF_PERF_DATA, sizeof(data));
	memcpy(&flags, (const char *)si + OFF_PERF_FLAGS, sizeof(flags));
	if (si->si_code != TRAP_PERF_CODE || data != (unsigned long)CT_LABELSIG_COOKIE) {
		ct_sig_forward(sig, si, uc); /* a breakpoint, a raise: the program's */
		return;
	}
	int saved = errno;
	ct_ann_observe((flags & PERF_FLAG_ASYNC) != 0);
	errno = saved;
}

/* The program keeps our handler in front of its own (the DISPATCH state of sighooks.c). */
static void on_taken(int sig)
{
	(void)sig;
}

/* Whether any object loaded now carries annotate.h's note. */
static int note_in(const struct dl_phdr_info *info)
{
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			ElfW(Nhdr) n;
			memcpy(&n, p, sizeof(n));
			size_t name = (n.n_namesz + 3u) & ~3u, desc = (n.n_descsz + 3u) & ~3u;
			if (name > (size_t)(end - p) - sizeof(n) ||
			    desc > (size_t)(end - p) - sizeof(n) - name)
				break;
			if (n.n_type == CTRACE_ANNOTATE_NOTE_TYPE &&
			    n.n_namesz == sizeof(CTRACE_ANNOTATE_NOTE_NAME) &&
			    memcmp(p + sizeof(n), CTRACE_ANNOTATE_NOTE_NAME,
				   sizeof(CTRACE_ANNOTATE_NOTE_NAME)) == 0)
				return 1;
			p += sizeof(n) + name + desc;
		}
	}
	return 0;
}

static int find_note(struct dl_phdr_info *info, size_t size, void *found)
{
	(void)size;
	if (note_in(info))
		*(int *)found = 1;
	return *(int *)found;
}

int ct_labelsig_prepare(void)
{
	if (decided)
		return ready; /* a forked child: the parent's choice, and its handler */
	decided = 1;
	const char *v = getenv("CTRACE_LABELS");
	int always = v && strcmp(v, "signal") == 0, never = v && strcmp(v, "records") == 0;
	if (v && *v && !always && !never && strcmp(v, "auto") != 0)
		ct_config_warn("CTRACE_LABELS=%s: not auto, signal or records; auto", v);
	int want = always;
	if (!always && !never)
		dl_iterate_phdr(find_note, &want);
	if (want && ct_sig_claim_handler(SIGTRAP, on_sigtrap, on_taken) == 0) {
		ct_sig_on_mask(SIGTRAP, ct_ann_label_blocked);
		ready = 1;
	}
	return ready;
}
