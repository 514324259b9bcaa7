/* seccomp_exit — a sandboxed program (test_cpu_edges): works ~0.2 s in before_filter with
 * a second thread running, then installs a seccomp filter on every thread (TSYNC) that
 * allows only the system calls it needs itself, works ~0.2 s more and exits with status
 * 7. A call the filter does not allow raises SIGSYS, whose handler counts it and makes the
 * call fail with ENOSYS; prints "sigsys N" (0 bare: the agent must make no system call
 * past the filter) and, with argument "prctl", installs the filter with
 * prctl(PR_SET_SECCOMP) on the main thread alone instead ("syscall-prctl": the same
 * through syscall(SYS_prctl, ...)). */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "burn.h"

static volatile sig_atomic_t sigsys;
static volatile int stop;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	sigsys++;
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = -38; /* -ENOSYS */
}

__attribute__((noinline)) static void before_filter(void)
{
	burn(0.2);
}

__attribute__((noinline)) static void after_filter(void)
{
	burn(0.21); /* not 0.2: identical functions would be folded into one */
}

static void *spinner(void *arg)
{
	(void)arg;
	while (!stop)
		burn_sink++;
	return NULL;
}

#define ALLOW(nr)                                                                                  \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int main(int argc, char **argv)
{
	int by_prctl = argc > 1 && strcmp(argv[1], "prctl") == 0;
	int by_raw_prctl = argc > 1 && strcmp(argv[1], "syscall-prctl") == 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	before_filter();
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW(__NR_write),
		ALLOW(__NR_exit),
		ALLOW(__NR_exit_group),
		ALLOW(__NR_rt_sigreturn),
		ALLOW(__NR_futex),
		ALLOW(__NR_munmap),
		ALLOW(__NR_madvise),
		ALLOW(__NR_clock_gettime),
		ALLOW(__NR_rseq),
		ALLOW(__NR_rt_sigprocmask),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (by_raw_prctl ? syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0
	    : by_prctl	 ? prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0
			 : syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
				   &prog) != 0) {
		perror("seccomp");
		return 3;
	}
	after_filter();
	stop = 1;
	pthread_join(t, NULL);
	char line[32];
	int n = snprintf(line, sizeof(line), "sigsys %d\n", (int)sigsys);
	if (write(1, line, (size_t)n) != n)
		return 4;
	return 7;
}
