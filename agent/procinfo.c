/*
 * procinfo.c — raw clone() threads and the JIT perf map (see procinfo.h).
 *
 * pthread_create goes through glibc's internal clone, so the exported clone() is what
 * programs (and runtimes with their own threads) call directly; a thread made that way
 * gets no timer and runs no trampoline, so the summary warns about it. A JIT (node
 * --perf-basic-prof, the JVM with perf-map-agent) writes /tmp/perf-<pid>.map, perf's
 * convention; the file is usually gone once the process is, so it is copied at exit.
 * And which terminating signals wait for a thread to take them (ct_sig_pending_fatal).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/ann.h"
#include "agent/fdguard.h"
#include "agent/internal.h"
#include "agent/procinfo.h"
#include "agent/sighooks.h"
#include "libtrace/procfs.h"

static _Atomic uint64_t raw_threads;

uint64_t ct_raw_clone_threads(void)
{
	return atomic_load_explicit(&raw_threads, memory_order_relaxed);
}

void ct_raw_clone_warning(char *buf, size_t len)
{
	uint64_t n = ct_raw_clone_threads();
	if (n)
		ct_warning_add(buf, len,
			       "%llu thread(s) made with raw clone(): not sampled by the timer "
			       "engine, not seen by the thread hooks",
			       (unsigned long long)n);
}

CT_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	static int (*real)(int (*)(void *), void *, int, void *, ...);
	if (!real)
		*(void **)&real = ct_real("clone");
	va_list ap;
	va_start(ap, arg);
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if ((flags & CLONE_THREAD) && !ct_tls_guard)
		atomic_fetch_add_explicit(&raw_threads, 1, memory_order_relaxed);
	return real(fn, stack, flags, arg, ptid, tls, ctid);
}

void ct_perfmap_copy(void)
{
	char src[64], name[64], tmp[4700];
	snprintf(src, sizeof(src), "/tmp/perf-%d.map", (int)getpid());
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (in < 0)
		return;
	struct stat st;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(in);
		return;
	}
	snprintf(name, sizeof(name), "perf-%d.map", (int)getpid());
	FILE *out = ct_out_create(name, tmp, sizeof(tmp));
	if (!out) {
		close(in);
		return;
	}
	char buf[65536];
	ssize_t n;
	int ok = 1;
	while (ok && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0 && fwrite(buf, 1, (size_t)n, out) == (size_t)n;
	}
	close(in);
	if (!ok) {
		fclose(out);
		unlink(tmp);
		return;
	}
	ct_out_commit(out, tmp, name);
}

/* The process's command line (arguments joined by spaces), for summary.txt: 0 if unknown. */
int ct_read_command(char *buf, size_t len)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0 || buf[i] == '\n')
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = 0;
	return n > 0;
}

/* Whether some thread of the process leaves the signal of mask bit unblocked (its status's
 * SigBlk): that thread takes it at its next turn. */
static int open_to(uint64_t bit)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	int open_to_it = 0;
	struct dirent *e;
	while (!open_to_it && (e = readdir(d))) {
		char path[64];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.16s/status", e->d_name);
		open_to_it = !(ct_procfs_status_mask(path, "\nSigBlk:") & bit);
	}
	closedir(d);
	return open_to_it;
}

int ct_sig_pending_fatal(const int *sigs, size_t n, void (*handler)(int))
{
	/* The signals sent to the process that no thread has taken: mostly none. */
	uint64_t shared = ct_procfs_status_mask("/proc/self/status", "\nShdPnd:");
	for (size_t i = 0; i < n && shared; i++) {
		struct sigaction a;
		uint64_t bit = 1ull << (sigs[i] - 1);
		if ((shared & bit) && ct_sig_real_action(sigs[i], NULL, &a) == 0 &&
		    a.sa_handler == handler && !ct_sig_program_owns(sigs[i]) && open_to(bit))
			return sigs[i];
	}
	return 0;
}

void ct_start_failed(const char *what, int err)
{
	struct rlimit rl;
	char as[64] = "";
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		snprintf(as, sizeof(as), "; RLIMIT_AS is %llu MiB",
			 (unsigned long long)(rl.rlim_cur >> 20));
	snprintf(ct_engine_reason, sizeof(ct_engine_reason), "the agent could not start %s: %s%s",
		 what, strerror(err < 0 ? -err : err), as);
	ct_log("%s; not recording", ct_engine_reason);
}

void ct_warnings_all(char *buf, size_t len)
{
	ct_raw_clone_warning(buf, len);
	ct_timer_warning(buf, len);
	ct_ann_label_warning(buf, len);
	ct_exec_warning(buf, len);
	ct_sandbox_warning(buf, len);
	ct_trace_warning(buf, len);
	ct_stack_room_warning(buf, len);
	ct_fdg_warning(buf, len);
	ct_modules_warning(buf, len);
}
