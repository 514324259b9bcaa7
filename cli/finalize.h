/*
 * finalize.h — what `ctrace record` does to an output directory once the program has
 * exited, before symbolizing: in DIR and every DIR/<pid>/, remove the temporary files a
 * killed writer left (NAME.tmp.*), and where the agent's final write never came (no
 * summary.txt) rebuild the profiles and summary.txt from its last checkpoint
 * (libtrace/ckpt.h), saying so in summary.txt's `checkpoint=` key.
 *
 * A child process still running (one that outlived the command) is left alone: its folder
 * is not rebuilt from its checkpoint, and it is named as still running, not as having
 * written nothing; `ctrace record` first waits a second for such stragglers.
 *
 * Then the processes that wrote nothing: every process the agent recorded in a folder of
 * its own is listed in DIR/.children (agent/out.c: "<pid> start <cmd>", later "<pid> end
 * <outcome>"); ct_finalize_report names each one that left no summary, with the reason
 * the agent or the directory can tell.
 */
#ifndef CT_CLI_FINALIZE_H
#define CT_CLI_FINALIZE_H

#include <stdio.h>

typedef struct {
	int temps_removed;   /* NAME.tmp.* files removed */
	int from_checkpoint; /* directories whose profiles were rebuilt from a checkpoint */
	int bad_checkpoint;  /* journals that could not be read (an error was printed) */
} ct_finalize_stats;

/* Waits up to ms for the child processes DIR/.children lists as started and not ended
 * that still run (they outlived the command: a straggler ends soon, a daemon may not).
 * Returns how many still run. */
int ct_finalize_wait(const char *dir, int ms);

/* Finalizes dir (the top output directory) and its child folders; errors are printed on
 * stderr as "ctrace: cannot read FILE: why". */
void ct_finalize_dir(const char *dir, ct_finalize_stats *st);

/* Prints on f one line per child process that left no profiles, with its reason, and a
 * line per child rebuilt from a checkpoint. Returns the number of children that wrote
 * nothing. */
int ct_finalize_report(FILE *f, const char *dir);

#endif
