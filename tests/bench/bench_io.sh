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
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/tests/bench/bench_io
agent=${CT_BENCH_AGENT:-$build/lib/libctrace.so}
reps=${CT_BENCH_REPS:-7}
[ -x "$bin" ] || make -s -C "$root" BUILD="$build" "$bin" >/dev/null
[ -e "$agent" ] || { echo "bench_io: $agent missing (run make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pin=""
if command -v taskset >/dev/null 2>&1; then
	cpu=$(taskset -cp $$ | sed 's/.*: *//; s/.*[,-]//')
	pin="taskset -c $cpu"
fi
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
