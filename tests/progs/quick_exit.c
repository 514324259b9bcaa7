/* quick_exit — works ~0.3 s of CPU in busy_then_exit() and leaves with _exit(3), skipping
 * atexit. */
#include <unistd.h>

#include "burn.h"

__attribute__((noinline)) static void busy_then_exit(void)
{
	burn(0.3);
	_exit(3);
}

int main(void)
{
	busy_then_exit();
	return 0;
}
