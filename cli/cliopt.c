/* cliopt.c — the common ends of the subcommands' option loops (see commands.h). */
#include <getopt.h>

#include "commands.h"
#include "libtrace/escape.h"

int ct_cli_opt_other(int c, void (*usage)(FILE *))
{
	usage(c == 'h' ? stdout : stderr);
	return c == 'h' ? 0 : 2;
}

int ct_cli_operand_missing(int argc, const char *what, void (*usage)(FILE *))
{
	if (optind < argc)
		return -1;
	fprintf(stderr, "ctrace: %s\n", what);
	usage(stderr);
	return 2;
}

FILE *ct_cli_escape_stderr_begin(void)
{
	FILE *real = stderr, *safe = ct_escape_text_stream(real);
	if (safe) {
		setvbuf(safe, NULL, _IONBF, 0);
		stderr = safe;
	}
	return real;
}

void ct_cli_escape_stderr_end(FILE *real)
{
	if (stderr != real) {
		fclose(stderr);
		stderr = real;
	}
}
