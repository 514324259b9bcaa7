/* main.c — `ctrace`: dispatches a subcommand (see commands.h). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/sentinel.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ctrace <command> [options]\n"
		   "\n"
		   "commands:\n"
		   "  record [-o DIR] [-F HZ] [-e LIST] [--sampler perf|timer] -- CMD [ARGS...]\n"
		   "                      run CMD under the agent, write profiles to DIR\n"
		   "  report [options] DIR|FILE\n"
		   "                      text summary, flame graphs, folded stacks, diffs\n"
		   "  symbolize DIR|FILE...\n"
		   "                      add function names and lines to agent-written profiles\n"
		   "\n"
		   "Run 'ctrace <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	/* getopt names argv[0] in its errors: "ctrace report: unrecognized option" */
	static char prog[64];
	snprintf(prog, sizeof(prog), "ctrace %.50s", cmd);
	if (strcmp(cmd, CT_SENTINEL_CMD) != 0)
		argv[1] = prog;
	if (strcmp(cmd, "record") == 0)
		return ct_cmd_record(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return ct_cmd_report(argc - 1, argv + 1);
	if (strcmp(cmd, CT_SENTINEL_CMD) == 0) /* record's own helper (cli/sentinel.h) */
		return ct_sentinel_main(argc - 1, argv + 1);
	if (strcmp(cmd, "symbolize") == 0)
		return ct_cmd_symbolize(argc - 1, argv + 1);
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "ctrace: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
