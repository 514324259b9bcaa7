/* dlopen_arg.h — opens the library named by argv[1] for the test programs that dlopen one:
 * exits 2 without an argument and 1 (printing dlerror) when it cannot be opened. */
#ifndef CT_TEST_DLOPEN_ARG_H
#define CT_TEST_DLOPEN_ARG_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *dlopen_arg(int argc, char **argv)
{
	if (argc < 2)
		exit(2);
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		exit(1);
	}
	return h;
}

#endif
