/* term_in_dlclose — burns CPU in hot_before_term(), then dlopens argv[1] and dlcloses it:
 * that library's destructor sends SIGTERM to the process. The handler then runs inside
 * dlclose, on a thread holding the agent's module lock that the collector's flush needs
 * (as a thread interrupted inside malloc holds malloc's): waiting there for the flush
 * could only run out. Exits 0 if it is still alive after the dlclose and 5 s more. */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#include "burn.h"

__attribute__((noinline)) static void hot_before_term(void)
{
	burn(0.4);
}

int main(int argc, char **argv)
{
	hot_before_term();
	void *h = argc > 1 ? dlopen(argv[1], RTLD_NOW) : NULL;
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	dlclose(h);
	sleep(5);
	return 0;
}
