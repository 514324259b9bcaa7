#!/bin/sh
# bench_lock.sh BUILD — what the lock hooks cost: bench_lock run bare and with the agent
# preloaded (lock and block profiles on), alternately, keeping each side's best run so
# that noise from other processes does not count as overhead. Prints:
#   bench lock_uncontended_bare      N ns   one uncontended lock+unlock pair, no agent
#   bench lock_uncontended_added     N ns   added by the hooks to that pair (target <= 5)
#   bench lock_contention_record     N ns   added per recorded contention: a timed-out
#                                           timedlock, waiter side (target <= 2000)
#   bench lock_contended4_cpu_added  N %    4 threads on one mutex: extra CPU time of the
#                                           whole process, agent included
#   bench lock_contended4_recorded   N contentions   recorded in the last traced run
set -eu
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/tests/bench/bench_lock
agent=$build/lib/libctrace.so
[ -x "$bin" ] || make -s -C "$root" BUILD="$build" "$bin" >/dev/null
[ -e "$agent" ] || { echo "bench_lock: $agent missing (run make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

bare() { "$bin" "$@" | awk '{print $2}'; }
traced() {
	rm -rf "$tmp/out"
	CTRACE_OUT=$tmp/out CTRACE_MODES=lock,block LD_PRELOAD=$agent "$bin" "$@" | awk '{print $2}'
}
min() { printf '%s\n' "$@" | sort -g | head -n 1; }

# Best of 5 alternating runs of each side: sets b and t.
compare() {
	bs="" ts=""
	for _ in 1 2 3 4 5; do
		bs="$bs $(bare "$@")"
		ts="$ts $(traced "$@")"
	done
	b=$(min $bs)
	t=$(min $ts)
}

compare uncontended 2000000
echo "bench lock_uncontended_bare $b ns"
echo "bench lock_uncontended_added $(awk "BEGIN{printf \"%.2f\", $t - $b}") ns"

compare timedout 20000
echo "bench lock_contention_record $(awk "BEGIN{printf \"%.0f\", $t - $b}") ns"

# Contended: 4 threads on one mutex. The per-contention cost is the figure above (a
# difference of CPU times here drowns in scheduling noise on a shared machine); this
# reports the whole process's extra CPU time, agent included, and how many contentions
# the profile recorded (its block profile, reason mutex).
compare contended 4 20000
echo "bench lock_contended4_cpu_added $(awk "BEGIN{printf \"%.1f\", ($t - $b) * 100 / $b}") %"
if command -v go >/dev/null 2>&1; then
	n=$(go tool pprof -raw -tagfocus reason=mutex "$tmp/out/block.pb.gz" 2>/dev/null |
		awk '/^Samples:/{s=1; next} /^Locations/{s=0} s && $2 ~ /:$/ {n += $1} END{print n+0}')
	echo "bench lock_contended4_recorded $n contentions"
fi
exit 0
