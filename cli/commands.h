/*
 * commands.h — the ctrace subcommands. cli/main.c dispatches argv[1] to one of these;
 * each parses its own options, prints errors as one line "ctrace: ..." on stderr and
 * returns the process exit status.
 */
#ifndef CT_CLI_COMMANDS_H
#define CT_CLI_COMMANDS_H

#include <stdio.h>

int ct_cmd_record(int argc, char **argv);    /* cli/record.c */
int ct_cmd_report(int argc, char **argv);    /* cli/report.c */
int ct_cmd_symbolize(int argc, char **argv); /* cli/symbolize.c */

/* Symbolizes every *.pb.gz in dir in place (used by `record` after the program exits).
 * Warnings (build id mismatch, unreadable module) go to stderr unless quiet.
 * 0 or -errno; on error a line has been printed. */
int ct_symbolize_dir(const char *dir, int quiet); /* cli/symbolize.c */

/* The common ends of a subcommand's option loop (cli/cliopt.c), so every subcommand answers
 * alike. ct_cli_opt_other() takes the getopt value of an option the loop did not handle:
 * 'h' prints the usage on stdout and returns 0, anything else prints it on stderr and
 * returns 2 — the exit status either way. ct_cli_operand_missing() returns 2 after one
 * "ctrace: <what>" line and the usage when no operand follows the options, else -1. */
int ct_cli_opt_other(int c, void (*usage)(FILE *));
int ct_cli_operand_missing(int argc, const char *what, void (*usage)(FILE *));

/* Names from a recording (threads, modules, functions, the command) may carry control
 * characters: between begin and end, stderr is a text stream that writes them as \xNN
 * (libtrace/escape.h), unbuffered like stderr. begin returns the real stderr to give to
 * end (stderr is left as it was if the stream cannot be made). */
FILE *ct_cli_escape_stderr_begin(void);
void ct_cli_escape_stderr_end(FILE *real);

#endif
