#!/bin/sh
# bench_ckpt.sh BUILD — what checkpoints (CTRACE_CHECKPOINT, default 1 s) cost for a
# 100k-stack profile: bench_ckpt builds a ~131k-stack heap profile (CTRACE_HEAP_RATE=1),
# then works for a fixed amount of its own CPU time (cpu samples, thousands of allocations
# a second). Each run is measured in CPU time — the agent's own accounting in summary.txt
# (collector_cpu_ms, checkpoints, checkpoint_cpu_ms) and the process's task-clock — so the
# machine's load matters little. Three settings in the same run of this script, best of 3
# each: checkpoints off, every 1 s (the default), every 100 ms; the two periods differ only
# in how many checkpoints they take, so their difference is the cost of one checkpoint
# once every stack is in the journal. Prints:
#   bench ckpt_100k_stacks           N      stacks in the heap profile
#   bench ckpt_per_checkpoint        N ms   collector CPU of one steady checkpoint
#   bench ckpt_overhead_default      N %    that, once a second, over one busy CPU-second of
#                                           the program (target <= 0.5)
#   bench ckpt_first_checkpoint      N ms   the first checkpoint (every stack written once)
#   bench ckpt_bookkeeping           N %    the per-event bookkeeping on the collector
#                                           (collector CPU outside checkpoints, 1 s against
#                                           off) over the run's CPU
#   bench ckpt_journal_bytes         N      journal a SIGKILL leaves after the run
set -eu
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/tests/bench/bench_ckpt
agent=$build/lib/libctrace.so
[ -x "$bin" ] || make -s -C "$root" BUILD="$build" "$bin" >/dev/null
[ -e "$agent" ] || { echo "bench_ckpt: $agent missing (run make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
key() { v=$(sed -n "s/^$1=//p" "$tmp/out/summary.txt"); echo "${v:-0}"; }
secs=3

# run PERIOD — "PERIOD task-clock_ms collector_ms checkpoints checkpoint_ms" of one run.
run() {
	rm -rf "$tmp/out"
	perf stat -x, -e task-clock -o "$tmp/stat" env CTRACE_OUT="$tmp/out" CTRACE_MODES=cpu,heap \
		CTRACE_HEAP_RATE=1 CTRACE_CHECKPOINT="$1" LD_PRELOAD="$agent" "$bin" $secs > "$tmp/prog.out"
	echo "$1 $(awk -F, '$3 == "task-clock" { print $1 }' "$tmp/stat") $(key collector_cpu_ms)" \
		"$(key checkpoints) $(key checkpoint_cpu_ms)"
}

: > "$tmp/runs"
for _ in 1 2 3; do
	for p in 0 1s 100ms; do run $p >> "$tmp/runs"; done
done
echo "bench ckpt_100k_stacks $(awk '{ print $2 }' "$tmp/prog.out")"
awk '
	{ if (!($1 in tc) || $2 < tc[$1]) { tc[$1] = $2; col[$1] = $3; n[$1] = $4; ck[$1] = $5 } }
	END {
		per = (ck["100ms"] - ck["1s"]) / (n["100ms"] - n["1s"])
		printf "bench ckpt_per_checkpoint %.3f ms\n", per
		printf "bench ckpt_overhead_default %.3f %%\n", per / 1000 * 100
		printf "bench ckpt_first_checkpoint %.1f ms\n", ck["1s"] - per * (n["1s"] - 1)
		printf "bench ckpt_bookkeeping %.2f %%\n", ((col["1s"] - ck["1s"]) - col["0"]) / tc["1s"] * 100
	}' "$tmp/runs"
# The journal a SIGKILL leaves.
rm -rf "$tmp/out"
env CTRACE_OUT="$tmp/out" CTRACE_MODES=cpu,heap CTRACE_HEAP_RATE=1 LD_PRELOAD="$agent" \
	"$bin" 30 > /dev/null &
pid=$!
sleep 3
kill -9 $pid
wait $pid || true
echo "bench ckpt_journal_bytes $(stat -c %s "$tmp/out/checkpoint.ctk" 2>/dev/null || echo 0)"
