/* touch_static — a statically linked program (no PT_INTERP): creates the file named by
 * argv[1], so a test can tell whether it ran. `ctrace record` must refuse it. */
#include <stdio.h>

int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "w") : NULL;
	return f && fclose(f) == 0 ? 0 : 1;
}
