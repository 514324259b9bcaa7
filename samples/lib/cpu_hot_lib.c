/* cpu_hot_lib — the shared-library part of samples/cpu_hot: lib_work runs in a .so. */
#include <stdint.h>

__attribute__((noinline)) uint64_t lib_work(uint64_t units)
{
	uint64_t x = 4;
	for (uint64_t u = 0; u < units; u++)
		for (int i = 0; i < 200000; i++)
			x = x * 3935559000370003845ull + 2691343689449507681ull;
	return x;
}
