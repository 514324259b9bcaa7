/* dlopen_cxx — a C program that dlopens a C++ library which throws and catches. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	int (*run)(int) = (int (*)(int))dlsym(h, "thrower_run");
	int caught = run ? run(100) : -1;
	printf("caught %d\n", caught);
	dlclose(h);
	return caught == 100 ? 0 : 1;
}
