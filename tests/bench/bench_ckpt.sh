#!/bin/sh
# bench_ckpt.sh BUILD — what checkpoints (CTRACE_CHECKPOINT, default 1 s) cost for a
# 100k-stack profile: bench_ckpt builds a ~131k-stack heap profile (CTRACE_HEAP_RATE=1),
# then works for a fixed amount of CPU (cpu samples and a few thousand allocations a
# second). Two run lengths: the difference between them is the steady part, free of the
# one-time costs (start-up, the first checkpoint that writes every stack once, the final
# write). Everything is CPU time (the agent's own accounting in summary.txt and the
# process's task-clock), so the machine's load matters little. Best of 3 of each. Prints:
#   bench ckpt_100k_stacks          N      stacks in the heap profile
#   bench ckpt_steady_per_checkpoint N ms  collector CPU per checkpoint once every stack is
#                                          in the journal
#   bench ckpt_steady_overhead      N %    checkpoint CPU over the run's CPU, steady part
#                                          (target <= 0.5)
#   bench ckpt_first_checkpoint     N ms   CPU of the first checkpoint (every stack once)
#   bench ckpt_collector_added      N %    all the collector CPU checkpoints add (their
#                                          per-event bookkeeping too) over the run's CPU,
#                                          steady part, against CTRACE_CHECKPOINT=0
#   bench ckpt_journal_bytes        N      journal a SIGKILL leaves after the long run
set -eu
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/tests/bench/bench_ckpt
agent=$build/lib/libctrace.so
[ -x "$bin" ] || make -s -C "$root" BUILD="$build" "$bin" >/dev/null
[ -e "$agent" ] || { echo "bench_ckpt: $agent missing (run make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
key() { sed -n "s/^$1=//p" "$tmp/out/summary.txt"; }

# run PERIOD SECONDS — "task-clock_ms collector_ms checkpoints checkpoint_ms" of one run.
run() {
	rm -rf "$tmp/out"
	perf stat -x, -e task-clock -o "$tmp/stat" env CTRACE_OUT="$tmp/out" CTRACE_MODES=cpu,heap \
		CTRACE_HEAP_RATE=1 CTRACE_CHECKPOINT="$1" LD_PRELOAD="$agent" "$bin" "$2" > "$tmp/prog.out"
	echo "$(awk -F, '$3 == "task-clock" { print $1 }' "$tmp/stat") $(key collector_cpu_ms)" \
		"$(key checkpoints) $(key checkpoint_cpu_ms)"
}

short=1.5 long=4.5
: > "$tmp/runs"
for _ in 1 2 3; do
	for p in 0 1s; do
		for l in $short $long; do echo "$p $l $(run $p $l)" >> "$tmp/runs"; done
	done
done
echo "bench ckpt_100k_stacks $(awk '{ print $2 }' "$tmp/prog.out")"
# Per setting and length, the run with the least task-clock (the least disturbed).
awk '
	{ k = $1 " " $2; if (!(k in tc) || $3 < tc[k]) { tc[k] = $3; col[k] = $4; n[k] = $5; ck[k] = $6 } }
	END {
		s = "1s '"$short"'"; l = "1s '"$long"'"; s0 = "0 '"$short"'"; l0 = "0 '"$long"'"
		per = (ck[l] - ck[s]) / (n[l] - n[s])
		run = tc[l] - tc[s]
		printf "bench ckpt_steady_per_checkpoint %.3f ms\n", per
		printf "bench ckpt_steady_overhead %.3f %%\n", (ck[l] - ck[s]) / run * 100
		printf "bench ckpt_first_checkpoint %.1f ms\n", ck[s] - per * (n[s] - 1)
		printf "bench ckpt_collector_added %.2f %%\n", ((col[l] - col[s]) - (col[l0] - col[s0])) / run * 100
	}' "$tmp/runs"
# The journal a SIGKILL leaves after the long run.
rm -rf "$tmp/out"
env CTRACE_OUT="$tmp/out" CTRACE_MODES=cpu,heap CTRACE_HEAP_RATE=1 LD_PRELOAD="$agent" \
	"$bin" $long > /dev/null &
pid=$!
sleep 4
kill -9 $pid
wait $pid || true
echo "bench ckpt_journal_bytes $(stat -c %s "$tmp/out/checkpoint.ctk" 2>/dev/null || echo 0)"
