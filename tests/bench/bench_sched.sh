#!/bin/sh
# bench_sched.sh BUILD — what recording the scheduler trace costs, against Debian's
# `perf sched record` on the same program in the same run: bench_sched's two-thread
# condition-variable ping-pong (ROUNDS round trips, default 100000: ~200k+ context
# switches), run bare, with the agent (CTRACE_MODES=sched), under perf sched record and
# with only the kernel's switch records (the agent's perf events opened by the program
# itself), alternately, CT_BENCH_REPS times (default 3), pinned to one CPU (every turn is
# then a switch, and other load on the machine disturbs less); times are medians. Prints:
#   bench trace_pingpong_switches        N switches   context switches in the trace
#   bench trace_pingpong_bare_wall       N ms         the program alone
#   bench trace_added_wall               N ms         added by the agent's trace
#   bench trace_added_cpu                N ms         CPU time added (collector included)
#   bench trace_file                     N bytes      trace.ctr
#   bench trace_bytes_per_switch         N bytes      trace.ctr size / switches (every
#                                                     event included; target <= 16)
#   bench trace_collector_per_event      N ns         collector CPU time / events written
#   bench perf_sched_added_wall          N ms         added by perf sched record
#   bench perf_sched_added_cpu           N ms         CPU time added (perf included)
#   bench perf_sched_file                N bytes      perf.data
#   bench perf_sched_vs_trace_added_wall N x          perf's added time / the agent's
#   bench perf_sched_vs_trace_added_cpu  N x          (target >= 5; printed when the
#                                                     agent's is above the noise)
#   bench perf_sched_vs_trace_file       N x          perf.data / trace.ctr (target >= 10)
#   bench switch_records_added_wall      N ms         added by the kernel's switch records
#   bench switch_records_added_cpu       N ms         alone (`bench_sched N switches`: the
#                                                     agent's perf events, no hook, no
#                                                     collector): the floor under the trace
#   bench perf_sched_vs_switch_records_added_wall N x  perf's added time / that floor: the
#   bench perf_sched_vs_switch_records_added_cpu  N x  best ratio any trace built on
#                                                     PERF_RECORD_SWITCH could show here
set -eu
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/tests/bench/bench_sched
agent=$build/lib/libctrace.so
reps=${CT_BENCH_REPS:-3}
rounds=${CT_BENCH_ROUNDS:-100000}
[ -x "$bin" ] || make -s -C "$root" BUILD="$build" "$bin" > /dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

median() { sort -g "$1" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# timed NAME CMD... — runs CMD pinned to one CPU; appends its wall and CPU (user + system,
# children included) milliseconds to $tmp/NAME.wall and $tmp/NAME.cpu.
cpu=$(taskset -cp $$ 2> /dev/null | sed 's/.*: *//; s/.*[,-]//')
timed() {
	name=$1; shift
	/usr/bin/time -f "%e %U %S" -o "$tmp/time" taskset -c "${cpu:-0}" "$@" > /dev/null 2>> "$tmp/$name.log"
	awk '{printf "%.0f\n", $1 * 1000}' "$tmp/time" >> "$tmp/$name.wall"
	awk '{printf "%.0f\n", ($2 + $3) * 1000}' "$tmp/time" >> "$tmp/$name.cpu"
}
perf_ok=1
perf sched record -q -o "$tmp/probe.data" -- true > /dev/null 2>&1 || perf_ok=0
[ "$perf_ok" = 1 ] || echo "bench_sched: perf sched record unavailable here" >&2
floor_ok=1
"$bin" 1 switches > /dev/null 2>&1 || floor_ok=0

for i in $(seq "$reps"); do
	timed bare "$bin" "$rounds"
	rm -rf "$tmp/out"
	: > "$tmp/ct.log"
	timed ct env CTRACE_OUT="$tmp/out" CTRACE_MODES=sched CTRACE_VERBOSE=1 LD_PRELOAD="$agent" \
		"$bin" "$rounds"
	[ "$perf_ok" = 0 ] || timed perf perf sched record -q -o "$tmp/perf.data" -- "$bin" "$rounds"
	[ "$floor_ok" = 0 ] || timed floor "$bin" "$rounds" switches
	echo "rep $i (wall ms): bare $(tail -1 "$tmp/bare.wall"), trace $(tail -1 "$tmp/ct.wall")," \
		"perf sched $(tail -1 "$tmp/perf.wall" 2> /dev/null)," \
		"switch records $(tail -1 "$tmp/floor.wall" 2> /dev/null)" >&2
done
cat "$tmp/ct.log" >&2

size=$(stat -c %s "$tmp/out/trace.ctr")
switches=$(sed -n 's/.*sched: \([0-9]*\) switch events.*/\1/p' "$tmp/ct.log")
events=$(sed -n 's/.*trace: \([0-9]*\) events in.*/\1/p' "$tmp/ct.log")
collector=$(sed -n 's/^collector_cpu_ms=//p' "$tmp/out/summary.txt")
added() { echo $(($(median "$tmp/$1.$2") - $(median "$tmp/bare.$2"))); }
echo "bench trace_pingpong_switches $switches switches"
echo "bench trace_pingpong_bare_wall $(median "$tmp/bare.wall") ms"
echo "bench trace_added_wall $(added ct wall) ms"
echo "bench trace_added_cpu $(added ct cpu) ms"
echo "bench trace_file $size bytes"
echo "bench trace_bytes_per_switch $(awk "BEGIN{printf \"%.1f\", $size / $switches}") bytes"
echo "bench trace_collector_per_event $(awk "BEGIN{printf \"%.0f\", $collector * 1e6 / $events}") ns"
if [ "$perf_ok" = 1 ]; then
	psize=$(stat -c %s "$tmp/perf.data")
	echo "bench perf_sched_added_wall $(added perf wall) ms"
	echo "bench perf_sched_added_cpu $(added perf cpu) ms"
	echo "bench perf_sched_file $psize bytes"
	# Ratios of added times only when the agent's is above the noise (> 0).
	for k in wall cpu; do
		a=$(added ct $k) p=$(added perf $k)
		[ "$a" -gt 0 ] && echo "bench perf_sched_vs_trace_added_$k" \
			"$(awk "BEGIN{printf \"%.1f\", $p / $a}") x" ||
			echo "bench_sched: the trace's added $k time ($a ms) is within the noise" >&2
	done
	echo "bench perf_sched_vs_trace_file $(awk "BEGIN{printf \"%.1f\", $psize / $size}") x"
fi
for k in wall cpu; do
	[ "$floor_ok" = 1 ] || break
	f=$(added floor $k)
	echo "bench switch_records_added_$k $f ms"
	[ "$perf_ok" = 1 ] && [ "$f" -gt 0 ] && echo "bench perf_sched_vs_switch_records_added_$k" \
		"$(awk "BEGIN{printf \"%.1f\", $(added perf $k) / $f}") x"
done
exit 0
