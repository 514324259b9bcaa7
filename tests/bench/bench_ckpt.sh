#!/bin/sh
# bench_ckpt.sh BUILD — what checkpoints (CTRACE_CHECKPOINT, default 1 s) cost for a
# 100k-stack profile: bench_ckpt builds a ~131k-stack heap profile (CTRACE_HEAP_RATE=1),
# then works for a fixed amount of its own CPU time (cpu samples, thousands of allocations
# a second). Each run is measured in CPU time — the agent's own accounting in summary.txt
# (collector_cpu_ms, checkpoints, checkpoint_cpu_ms) and the process's task-clock — so the
# machine's load matters little. Two settings in the same run of this script, 3 runs each:
# checkpoints off and every 1 s (the default); the steady cost of one checkpoint, once every
# stack is in the journal, is the checkpoints' CPU without the longest one (the first)
# over their number less one; medians are printed. Prints:
#   bench ckpt_100k_stacks           N      stacks in the heap profile
#   bench ckpt_per_checkpoint        N ms   collector CPU of one steady checkpoint
#   bench ckpt_overhead_default      N %    that, once a second, over one busy CPU-second of
#                                           the program (target <= 0.5)
#   bench ckpt_first_checkpoint      N ms   the longest checkpoint: the first, which writes
#                                           every stack once
#   bench ckpt_bookkeeping           N %    the per-event bookkeeping on the collector: its
#                                           CPU outside checkpoints over the run's CPU, 1 s
#                                           against off (noisy: a difference of two shares)
#   bench ckpt_journal_bytes         N      journal a SIGKILL leaves after the run
set -eu
. "$(dirname "$0")/bench_lib.sh"
bench_setup bench_ckpt 1 "${1:-build}"
key() { v=$(sed -n "s/^$1=//p" "$tmp/out/summary.txt"); echo "${v:-0}"; }
secs=4

# run PERIOD — "PERIOD task-clock_ms collector_ms checkpoints checkpoint_ms max_ms" of one run.
run() {
	rm -rf "$tmp/out"
	perf stat -x, -e task-clock -o "$tmp/stat" env CTRACE_OUT="$tmp/out" CTRACE_MODES=cpu,heap \
		CTRACE_HEAP_RATE=1 CTRACE_CHECKPOINT="$1" LD_PRELOAD="$agent" "$bin" $secs > "$tmp/prog.out"
	echo "$1 $(awk -F, '$3 == "task-clock" { print $1 }' "$tmp/stat") $(key collector_cpu_ms)" \
		"$(key checkpoints) $(key checkpoint_cpu_ms) $(key checkpoint_max_ms)"
}

: > "$tmp/runs"
for _ in 1 2 3; do
	for p in 0 1s; do run $p >> "$tmp/runs"; done
done
echo "bench ckpt_100k_stacks $(awk '{ print $2 }' "$tmp/prog.out")"
# median P COLUMN — the median of COLUMN over the runs of setting P.
median() { awk -v p="$1" -v c="$2" '$1 == p { print $c }' "$tmp/runs" | sort -g | sed -n 2p; }
per=$(awk '$1 == "1s" && $4 > 1 { print ($5 - $6) / ($4 - 1) }' "$tmp/runs" | sort -g | sed -n 2p)
busy=$(awk '$1 == "1s" { print ($3 - $5) / $2 * 100 }' "$tmp/runs" | sort -g | sed -n 2p)
off=$(awk '$1 == "0" { print $3 / $2 * 100 }' "$tmp/runs" | sort -g | sed -n 2p)
echo "bench ckpt_per_checkpoint $per ms"
awk -v p="$per" 'BEGIN { printf "bench ckpt_overhead_default %.3f %%\n", p / 1000 * 100 }'
echo "bench ckpt_first_checkpoint $(median 1s 6) ms"
awk -v a="$busy" -v b="$off" 'BEGIN { printf "bench ckpt_bookkeeping %.2f %%\n", a - b }'
# The journal a SIGKILL leaves.
rm -rf "$tmp/out"
env CTRACE_OUT="$tmp/out" CTRACE_MODES=cpu,heap CTRACE_HEAP_RATE=1 LD_PRELOAD="$agent" \
	"$bin" 30 > /dev/null &
pid=$!
sleep 8
kill -9 $pid
wait $pid || true
echo "bench ckpt_journal_bytes $(stat -c %s "$tmp/out/checkpoint.ctk" 2>/dev/null || echo 0)"
