#!/bin/sh
# bench_io.sh BUILD — what the file hooks (agent/fdhooks.c) add to a read(2) that does
# not block: 8 bytes from /dev/zero, bare and with the agent preloaded (block and sched
# modes: waits are recorded), alternately, pinned to one CPU. Inside each process rounds
# through the program's read alternate with rounds calling libc's read directly (see
# bench_io.c); the traced run's difference less the bare run's is the hook's cost. The
# figures are medians over the repetitions. Prints:
#   bench io_read_bare     N ns   one read(2) of /dev/zero, no agent
#   bench io_read_added    N ns   added by the hook (two clock reads and the wait
#                                 registry's stores; no stack, no record)
# CT_BENCH_REPS=N sets the number of repetitions (default 7).
set -eu
. "$(dirname "$0")/bench_lib.sh"
bench_setup bench_io 7 "${1:-build}"
: > "$tmp/bare"; : > "$tmp/added"
i=0
while [ "$i" -lt "$reps" ]; do
	b=$($pin "$bin" read 200000)
	rm -rf "$tmp/out"
	t=$(CTRACE_OUT=$tmp/out CTRACE_MODES=block,sched LD_PRELOAD=$agent $pin "$bin" read 200000)
	echo "rep $i: bare [$b], traced [$t]" >&2
	echo "$b" | awk '{print $4}' >> "$tmp/bare"
	# The traced difference less the bare one (a PLT call against a pointer call).
	awk -v t="$t" -v b="$b" 'BEGIN{split(t, x, " "); split(b, y, " "); print x[2] - y[2]}' \
		>> "$tmp/added"
	i=$((i + 1))
done
median() { sort -g "$1" | awk '{v[NR] = $1} END {printf "%.2f\n", v[int((NR + 1) / 2)]}'; }
echo "bench io_read_bare $(median "$tmp/bare") ns"
echo "bench io_read_added $(median "$tmp/added") ns"
