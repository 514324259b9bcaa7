/* libclosed — the library dlclose_work unloads after using it. */
#include "../burn.h"

__attribute__((noinline)) void closed_work(double seconds)
{
	burn(seconds);
}
