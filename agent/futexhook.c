/*
 * futexhook.c — futex waits made through libc's syscall(): Rust's std Mutex, Condvar and
 * thread parking, and other lock libraries that bypass pthreads, wait with
 * syscall(SYS_futex, addr, FUTEX_WAIT..., ...), which no pthread hook sees. They are
 * recorded with reason "futex" and the futex word's address as the object.
 *
 * The hook replaces glibc's syscall() with the same few instructions (the number and six
 * arguments into the kernel's registers; a result in [-4095, -1] becomes -1 with errno
 * set), so it needs no lookup of the real one and every other system call passes straight
 * through, as unchanged as with glibc's (which is not a cancellation point either). Only
 * FUTEX_WAIT, FUTEX_WAIT_BITSET and FUTEX_LOCK_PI (any flags) are timed; a wait that
 * returns EAGAIN at once (the word had already changed) is not a wait.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/lockprof.h"

/* The system call itself, as glibc's syscall() makes it. */
static inline long fx_raw(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	unsigned long rc;
	__asm__ volatile("syscall"
			 : "=a"(rc)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if (rc > -4096UL) {
		errno = -(long)rc;
		return -1;
	}
	return (long)rc;
}

static inline int fx_is_wait(long n, long op)
{
	if (n != SYS_futex)
		return 0;
	op &= FUTEX_CMD_MASK;
	return op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET || op == FUTEX_LOCK_PI;
}

/* The arguments are read as six longs whatever the call passes: every system call takes
 * its arguments in registers, and glibc's syscall() forwards the same six. */
CT_EXPORT long syscall(long n, ...)
{
	va_list ap;
	va_start(ap, n);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	if (__builtin_expect(n == SYS_seccomp, 0))
		ct_before_seccomp("seccomp(2)", (unsigned long)a1, 0);
	else if (__builtin_expect(n == SYS_prctl && a1 == PR_SET_SECCOMP, 0))
		ct_before_seccomp("prctl(PR_SET_SECCOMP)", (unsigned long)a2, 1);
	if (__builtin_expect(!fx_is_wait(n, a2), 1) || !ct_lk_recording(CT_LK_WAIT_MODES))
		return fx_raw(n, a1, a2, a3, a4, a5, a6);
	ct_lk_wait w;
	ct_lk_wait_begin(&w, CT_WAIT_FUTEX, (uint64_t)a1, 0, CT_LK_SITE());
	long rc = fx_raw(n, a1, a2, a3, a4, a5, a6);
	ct_lk_wait_end(&w, ct_now(), !(rc < 0 && errno == EAGAIN));
	return rc;
}
