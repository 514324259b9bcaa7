/* dlclose_work — runs ~0.4 s of work in a dlopened library (libclosed.so's closed_work),
 * dlcloses it, then works ~0.1 s in main_after_close(): the closed library's samples must
 * still be symbolized. */
#include "burn.h"
#include "dlopen_arg.h"

__attribute__((noinline)) static void main_after_close(void)
{
	burn(0.1);
}

int main(int argc, char **argv)
{
	void *h = dlopen_arg(argc, argv);
	void (*work)(double) = (void (*)(double))dlsym(h, "closed_work");
	if (!work)
		return 1;
	work(0.4);
	dlclose(h);
	main_after_close();
	return 0;
}
