/*
 * sentinel.h — tells a signal sent to `ctrace record` alone from one sent to its whole
 * process group (a shell's `kill -TERM -PGID`, the program killing its own group,
 * `timeout`) or to every process of its cgroup (systemd stopping a service).
 *
 * record forwards the signals a supervisor or a user sends (CT_FORWARDED: SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH) sent to it to the program; but a
 * signal sent to the group or the cgroup has reached the program already, and a second copy makes
 * many servers quit hard ("second SIGINT: forced"). The kernel keeps no trace of whether a kill was
 * meant for one process or for many, so record asks a witness: a small process of its own, in the
 * same process group and cgroup, that blocks every signal and reports each of those it receives
 * (with the time) through a pipe. A signal that reaches record and, within 50 ms, the sentinel as
 * well was sent to more than record: it is not forwarded. The price: a signal meant for record
 * alone is forwarded 50 ms late.
 *
 * The sentinel is ctrace itself (`ctrace __sentinel PPID`, comm "ctrace-sentinel"),
 * started with posix_spawn and an environment without LD_PRELOAD: when record is itself
 * recorded (a nested `ctrace record`), no agent runs in the sentinel, whose SIGKILL at the
 * end would otherwise be reported as a child that died without writing.
 */
#ifndef CT_CLI_SENTINEL_H
#define CT_CLI_SENTINEL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* The signals record forwards and the sentinel watches, 0-terminated. */
#define CT_FORWARDED                                                                               \
	{                                                                                          \
		SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, 0           \
	}

/* Starts the sentinel (it dies with record). 0, or -errno: then every signal is forwarded. */
int ct_sentinel_start(void);

/* Whether the sentinel received sig since since_ns (CLOCK_MONOTONIC; reports up to 100 ms
 * older count too: it may have got the same kill first), waiting up to wait_ms for it.
 * Consumes the report. Async-signal-safe (record's signal handler); false without one. */
bool ct_sentinel_saw(int sig, uint64_t since_ns, int wait_ms);

/* Ends the sentinel and reaps it. */
void ct_sentinel_stop(void);

/* The sentinel's process: argv = {CT_SENTINEL_CMD, PPID}, reports on fd 3. */
#define CT_SENTINEL_CMD "__sentinel"
int ct_sentinel_main(int argc, char **argv);

#endif
