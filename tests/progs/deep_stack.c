/* deep_stack — burns ~0.4 s of CPU at the bottom of a 300-deep recursion, deeper than
 * the agent captures (CT_MAX_FRAMES), and allocates there too. */
#include <stdlib.h>

#include "burn.h"

static volatile int sink;

__attribute__((noinline)) static void deep(int n)
{
	if (n == 0) {
		free(malloc(1 << 20));
		burn(0.4);
		return;
	}
	deep(n - 1);
	sink++; /* not a tail call */
}

int main(void)
{
	deep(300);
	return 0;
}
