/*
 * small_stack.c — threads with small stacks, where the agent's own work on the program's
 * thread must fit (test_small_stack).
 *
 *   small_stack exit KIB FILE    a thread whose stack is the top KIB KiB of FILE (256 KiB,
 *                                mapped shared, no guard page below it: what a program
 *                                that manages its own stacks has) calls exit(7); the rest
 *                                of FILE is filled with 0xa5 first
 *   small_stack check KIB FILE   how far below that stack FILE is no longer 0xa5 (the exit
 *                                path wrote past the thread's stack); exit 0 when not at all
 *   small_stack hooks KIB DEPTH  4 threads with KIB KiB stacks, each 300 times: DEPTH
 *                                frames of 256 bytes, then malloc, a contended mutex and a
 *                                sleep (every hook that takes a stack); prints "ok"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FILE_SIZE (256 * 1024)

static void *volatile sink;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *exit_thread(void *arg)
{
	(void)arg;
	printf("thread calls exit(7)\n");
	exit(7);
}

static __attribute__((noinline)) void descend(int depth)
{
	char frame[256];
	memset(frame, depth, sizeof(frame));
	sink = frame;
	if (depth > 0) {
		descend(depth - 1);
		return;
	}
	sink = malloc(1000);
	free(sink);
	pthread_mutex_lock(&mu);
	usleep(50);
	pthread_mutex_unlock(&mu);
}

static void *hook_thread(void *arg)
{
	for (int i = 0; i < 300; i++)
		descend((int)(long)arg);
	return NULL;
}

static char *map_file(const char *path, int create)
{
	int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644);
	if (fd < 0 || (create && ftruncate(fd, FILE_SIZE) != 0)) {
		perror(path);
		exit(2);
	}
	char *m = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return m;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 4 && strcmp(argv[1], "exit") == 0) {
		size_t kib = strtoul(argv[2], NULL, 10) * 1024;
		char *m = map_file(argv[3], 1);
		memset(m, 0xa5, FILE_SIZE - kib);
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstack(&a, m + FILE_SIZE - kib, kib);
		pthread_t t;
		if (pthread_create(&t, &a, exit_thread, NULL) != 0)
			return 3;
		pause();
	}
	if (argc == 4 && strcmp(argv[1], "check") == 0) {
		/* The 0xa5 run from the file's start must reach the stack's lowest byte. */
		size_t kib = strtoul(argv[2], NULL, 10) * 1024, i = 0;
		const char *m = map_file(argv[3], 0);
		while (i < FILE_SIZE - kib && (unsigned char)m[i] == 0xa5)
			i++;
		printf("%zu bytes below the stack written\n", FILE_SIZE - kib - i);
		return i == FILE_SIZE - kib ? 0 : 1;
	}
	if (argc == 4 && strcmp(argv[1], "hooks") == 0) {
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, strtoul(argv[2], NULL, 10) * 1024);
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			if (pthread_create(&t[i], &a, hook_thread,
					   (void *)strtol(argv[3], NULL, 10)))
				return 3;
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		printf("ok\n");
		return 0;
	}
	fprintf(stderr, "usage: small_stack exit KIB FILE | check FILE | hooks KIB DEPTH\n");
	return 2;
}
