/* dlopen_cxx — a C program that dlopens a C++ library which throws and catches. */
#include <stdio.h>

#include "dlopen_arg.h"

int main(int argc, char **argv)
{
	void *h = dlopen_arg(argc, argv);
	int (*run)(int) = (int (*)(int))dlsym(h, "thrower_run");
	int caught = run ? run(100) : -1;
	printf("caught %d\n", caught);
	dlclose(h);
	return caught == 100 ? 0 : 1;
}
