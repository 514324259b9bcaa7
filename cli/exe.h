/*
 * exe.h — what `ctrace record` checks about the program before running it: which file
 * execvp would run, and whether the agent (an LD_PRELOAD library, loaded by the dynamic
 * loader) can load into it at all.
 */
#ifndef CT_CLI_EXE_H
#define CT_CLI_EXE_H

#include <stddef.h>

/* The file execvp(cmd) would run: cmd itself when it holds a '/', else the first
 * executable regular file named cmd in $PATH (default "/bin:/usr/bin"). 0, or -ENOENT. */
int ct_exe_resolve(const char *cmd, char *out, size_t len);

/* Whether the agent can load into the program at path: 0 when it can (a dynamically
 * linked ELF of the agent's class, or a script, whose interpreter is checked when run);
 * -ENOEXEC with why filled in ("statically linked (no PT_INTERP): ...") when it cannot;
 * another -errno when path cannot be read (the exec will report that). */
int ct_exe_check_loadable(const char *path, char *why, size_t len);

/* Why exec said ENOENT of a file that exists: the interpreter it names — a script's #! line
 * or an ELF's PT_INTERP — is missing. 1 with what (e.g. "its interpreter '/usr/bin/nope'
 * (from its #! line) does not exist") filled in, else 0. */
int ct_exe_missing_interp(const char *path, char *what, size_t len);

#endif
