/* libctor_dl — a library whose constructor dlopens and dlcloses another library (the one
 * CT_CTOR_LIB names) three times, working ~2 ms after each open: all of it under the
 * loader's lock, which the constructor's thread holds while constructors run. */
#include <dlfcn.h>
#include <stdlib.h>

#include "../burn.h"

__attribute__((constructor)) static void ctor_dl(void)
{
	const char *lib = getenv("CT_CTOR_LIB");
	for (int i = 0; lib && i < 3; i++) {
		void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
		burn(0.002);
		if (h)
			dlclose(h);
	}
}
