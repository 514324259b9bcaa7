#!/bin/sh
# bench_trace_scale.sh BUILD — the trace's memory bound on a long run: bench_trace_scale's
# 64 threads (mutex contention, cond hand-offs, 10 ms sleeps) run for CT_BENCH_SECONDS
# (default 60; 600 for the 10-minute run) bare, then under `ctrace record` with every mode
# on.
# The process's resident memory is read from /proc every second; the trace file's size is
# noted at each quarter of the run, to show it grows with events, not with time. Prints:
#   bench trace_scale_seconds          N s     the run length
#   bench trace_scale_bare_rss_max     N KiB   peak resident memory, no agent
#   bench trace_scale_traced_rss_max   N KiB   peak resident memory, all modes recorded
#   bench trace_scale_agent_rss        N KiB   the difference: the agent's memory
#                                              (target <= 65536, i.e. 64 MiB)
#   bench trace_scale_rss_q1..q4       N KiB   traced resident memory at each quarter
#   bench trace_scale_file_q1..q4      N bytes trace.ctr at each quarter
#   bench trace_scale_switches         N       context switches in the finished trace
#   bench trace_scale_bytes_per_switch N B     trace.ctr / switches (every event included)
set -eu
. "$(dirname "$0")/bench_lib.sh"
bench_setup bench_trace_scale 1 "${1:-build}"
secs=${CT_BENCH_SECONDS:-60}
ctrace=$build/bin/ctrace

# watch PID OUT [FILE] — until PID ends, appends "elapsed rss_kib file_bytes" every second.
watch() {
	t=0
	while kill -0 "$1" 2> /dev/null; do
		rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2> /dev/null || echo 0)
		size=0
		[ -n "${3:-}" ] && [ -e "$3" ] && size=$(stat -c %s "$3")
		echo "$t ${rss:-0} $size" >> "$2"
		sleep 1
		t=$((t + 1))
	done
}
maxrss() { awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$1"; }
# at FILE QUARTER COLUMN — the value of COLUMN at the end of that quarter of the run.
at() { awk -v q="$2" -v c="$3" -v s="$secs" '$1 <= q * s / 4 {v = $c} END {print v + 0}' "$1"; }

"$bin" "$secs" 64 &
watch $! "$tmp/bare.log"
wait
"$ctrace" record -q -o "$tmp/out" -- "$bin" "$secs" 64 > /dev/null 2> "$tmp/rec.err" &
rec=$!
sleep 1
pid=$(pgrep -P "$rec" -x bench_trace_sca || true)
[ -n "$pid" ] || { echo "bench_trace_scale: the traced program did not start" >&2; exit 1; }
watch "$pid" "$tmp/traced.log" "$tmp/out/trace.ctr"
wait "$rec" || { cat "$tmp/rec.err" >&2; exit 1; }
bare=$(maxrss "$tmp/bare.log")
traced=$(maxrss "$tmp/traced.log")
echo "bench trace_scale_seconds $secs s"
echo "bench trace_scale_bare_rss_max $bare KiB"
echo "bench trace_scale_traced_rss_max $traced KiB"
echo "bench trace_scale_agent_rss $((traced - bare)) KiB"
for q in 1 2 3 4; do
	echo "bench trace_scale_rss_q$q $(at "$tmp/traced.log" "$q" 2) KiB"
	echo "bench trace_scale_file_q$q $(at "$tmp/traced.log" "$q" 3) bytes"
done
switches=$("$ctrace" report --sched "$tmp/out" 2> /dev/null |
	awk '/^threads/ {t = 1; next} t && $1 ~ /^[0-9]+$/ {n += $10} /^total:/ {t = 0} END {print n + 0}')
bytes=$(stat -c %s "$tmp/out/trace.ctr")
echo "bench trace_scale_switches $switches"
[ "$switches" -gt 0 ] &&
	echo "bench trace_scale_bytes_per_switch $(awk "BEGIN {printf \"%.1f\", $bytes / $switches}") B"
exit 0
