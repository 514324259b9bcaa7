#!/bin/sh
# bench_io.sh BUILD — what the file and readiness hooks (agent/fdhooks.c, agent/iohooks.c)
# add to calls that do not block, bare and with the agent preloaded (block and sched
# modes: waits are recorded), alternately, pinned to one CPU. Inside each process rounds
# through the program's call alternate with rounds calling libc directly (see bench_io.c);
# the traced run's difference less the bare run's is the hook's cost. The figures are
# medians over the repetitions. Prints:
#   bench io_read_bare      N ns  one read(2) of /dev/zero, no agent
#   bench io_read_added     N ns  added by the hook (two clock reads and the wait
#                                 registry's stores; no stack, no record)
#   bench io_nbsock_added   N ns  added to a read(2) of an O_NONBLOCK socket (agent/fdnb.h:
#                                 it cannot wait, so the hook calls straight through)
#   bench io_epoll_ready_added N ns added to an epoll_wait that returns at once (the
#                                 stack at entry for the trace, two clock reads, the
#                                 registry, the block profile's coin; no record)
#   bench io_loop_added     N ns  added to one request of an event loop (epoll_wait, read,
#                                 two malloc and free, malloc_usable_size, write, with
#                                 system calls between them: the hooks' pages and clock
#                                 reads as redis-server pays them), every mode on
# CT_BENCH_REPS=N sets the number of repetitions (default 7).
set -eu
. "$(dirname "$0")/bench_lib.sh"
bench_setup bench_io 7 "${1:-build}"
echo "bench_io: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: > "$tmp/bare"
for mode in read nbsock epoll loop; do
	: > "$tmp/added.$mode"
	i=0
	while [ "$i" -lt "$reps" ]; do
		b=$($pin "$bin" $mode 200000)
		rm -rf "$tmp/out"
		modes=block,sched
		[ "$mode" = loop ] && modes=cpu,heap,lock,block,sched
		t=$(CTRACE_OUT=$tmp/out CTRACE_MODES=$modes LD_PRELOAD=$agent $pin "$bin" $mode 200000)
		echo "$mode rep $i: bare [$b], traced [$t]" >&2
		[ "$mode" = read ] && echo "$b" | awk '{print $4}' >> "$tmp/bare"
		# The traced difference less the bare one (a PLT call against a pointer call).
		awk -v t="$t" -v b="$b" 'BEGIN{split(t, x, " "); split(b, y, " "); print x[2] - y[2]}' \
			>> "$tmp/added.$mode"
		i=$((i + 1))
	done
done
median() { sort -g "$1" | awk '{v[NR] = $1} END {printf "%.2f\n", v[int((NR + 1) / 2)]}'; }
echo "bench io_read_bare $(median "$tmp/bare") ns"
echo "bench io_read_added $(median "$tmp/added.read") ns"
echo "bench io_nbsock_added $(median "$tmp/added.nbsock") ns"
echo "bench io_epoll_ready_added $(median "$tmp/added.epoll") ns"
echo "bench io_loop_added $(median "$tmp/added.loop") ns"
