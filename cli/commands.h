/*
 * commands.h — the ctrace subcommands. cli/main.c dispatches argv[1] to one of these;
 * each parses its own options, prints errors as one line "ctrace: ..." on stderr and
 * returns the process exit status.
 */
#ifndef CT_CLI_COMMANDS_H
#define CT_CLI_COMMANDS_H

int ct_cmd_record(int argc, char **argv);    /* cli/record.c */
int ct_cmd_report(int argc, char **argv);    /* cli/report.c */
int ct_cmd_symbolize(int argc, char **argv); /* cli/symbolize.c */

/* Symbolizes every *.pb.gz in dir in place (used by `record` after the program exits).
 * Warnings (build id mismatch, unreadable module) go to stderr unless quiet.
 * 0 or -errno; on error a line has been printed. */
int ct_symbolize_dir(const char *dir, int quiet); /* cli/symbolize.c */

#endif
