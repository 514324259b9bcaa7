/* raw_clone — a thread made by clone(2) directly, without pthread_create (so none of the
 * agent's thread hooks see it): it burns ~50M additions and returns (glibc's clone ends the
 * thread with the exit system call); the main thread spins until the kernel clears the
 * thread's tid, then prints "raw thread TID". */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static volatile long sink;

static int raw_thread(void *arg)
{
	(void)arg;
	for (long i = 0; i < 50000000; i++)
		sink += i;
	return 0; /* no libc call here: the thread shares the main thread's TLS */
}

int main(void)
{
	size_t size = 1 << 20;
	char *stack = malloc(size);
	static volatile pid_t tid;
	if (!stack)
		return 1;
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	int t = clone(raw_thread, stack + size, flags, NULL, &tid, NULL, &tid);
	if (t < 0) {
		perror("clone");
		return 1;
	}
	while (tid != 0)
		sched_yield();
	printf("raw thread %d\n", t);
	return 0;
}
