/* jit_map — a tiny JIT: copies a countdown loop into anonymous executable memory, names
 * it jit_hot_loop in /tmp/perf-<pid>.map (the perf map convention Node and the JVM
 * follow), and runs it for ~0.6 s of CPU. Prints its pid. x86-64 only. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	/* loop: dec %rdi; jnz loop; ret */
	static const unsigned char code[] = {0x48, 0xff, 0xcf, 0x75, 0xfb, 0xc3};
	unsigned char *mem =
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memcpy(mem + 256, code, sizeof(code));
	if (mprotect(mem, 4096, PROT_READ | PROT_EXEC) != 0)
		return 1;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%lx %zx jit_hot_loop\n", (unsigned long)(mem + 256), sizeof(code));
	fclose(f);
	void (*fn)(unsigned long) = (void (*)(unsigned long))(void *)(mem + 256);
	double t0 = cpu_seconds();
	while (cpu_seconds() - t0 < 0.6)
		fn(10000000);
	printf("%d\n", (int)getpid());
	return 0;
}
