#!/bin/sh
# bench_cpu BUILD — overhead of recording samples/cpu_hot at 99 Hz and 999 Hz versus a
# bare run, next to gperftools' libprofiler (CPUPROFILE) and `perf record` at the same
# frequencies, all measured in this run (median of RUNS alternating runs each), as wall
# time and as CPU time (user+system of the whole process tree, which a busy machine
# disturbs far less). Prints "bench cpu_<name> <value> <unit>". Targets: ≤ 1% at 99 Hz,
# ≤ 3% at 999 Hz, never above gperftools at the same frequency.
set -eu
build=$(cd "${1:-build}" && pwd)
RUNS=${RUNS:-5}
# cpu_hot scaled to ~3 s of CPU, so that steady-state sampling cost dominates; the fixed
# start/exit cost is measured separately on `true`.
SCALE=${SCALE:-3}
prog="$build/samples/cpu_hot"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
profiler=$(ls /usr/lib/x86_64-linux-gnu/libprofiler.so.0 2>/dev/null || true)

wall() { # command... → "wall_ns cpu_ns"
	"$build/tests/progs/cputime" "$@" 2>&1 > /dev/null | tail -1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

variants="bare ctrace99 ctrace999 ctrace_timer99 ctrace_timer999"
[ -n "$profiler" ] && variants="$variants gperf99 gperf999"
command -v perf > /dev/null && perf record -q -o "$tmp/probe.data" true > /dev/null 2>&1 &&
	variants="$variants perf99 perf999"

run_variant() {
	case $1 in
	bare) wall "$prog" "$SCALE" ;;
	ctrace99) wall "$build/bin/ctrace" record -q --no-symbolize -o "$tmp/c" -e cpu -F 99 -- "$prog" "$SCALE" ;;
	ctrace999) wall "$build/bin/ctrace" record -q --no-symbolize -o "$tmp/c" -e cpu -F 999 -- "$prog" "$SCALE" ;;
	ctrace_timer99) wall "$build/bin/ctrace" record -q --no-symbolize -o "$tmp/c" -e cpu -F 99 --sampler timer -- "$prog" "$SCALE" ;;
	ctrace_timer999) wall "$build/bin/ctrace" record -q --no-symbolize -o "$tmp/c" -e cpu -F 999 --sampler timer -- "$prog" "$SCALE" ;;
	gperf99) wall env CPUPROFILE="$tmp/g.prof" CPUPROFILE_FREQUENCY=99 LD_PRELOAD="$profiler" "$prog" "$SCALE" ;;
	gperf999) wall env CPUPROFILE="$tmp/g.prof" CPUPROFILE_FREQUENCY=999 LD_PRELOAD="$profiler" "$prog" "$SCALE" ;;
	perf99) wall perf record -q -F 99 -g -o "$tmp/p.data" "$prog" "$SCALE" ;;
	perf999) wall perf record -q -F 999 -g -o "$tmp/p.data" "$prog" "$SCALE" ;;
	esac
}

for i in $(seq "$RUNS"); do
	for v in $variants; do
		run_variant "$v" >> "$tmp/$v.times"
	done
done
for col in 1 2; do
	kind=$([ $col = 1 ] && echo wall || echo cputime)
	bare=$(cut -d' ' -f$col "$tmp/bare.times" | median)
	echo "bench cpu_bare_$kind $(awk -v b="$bare" 'BEGIN {printf "%.3f", b / 1e9}') s"
	for v in $variants; do
		[ "$v" = bare ] && continue
		m=$(cut -d' ' -f$col "$tmp/$v.times" | median)
		awk -v m="$m" -v b="$bare" -v n="$v" -v k="$kind" \
			'BEGIN {printf "bench cpu_%s_overhead_%s %.2f %%\n", k, n, (m - b) * 100 / b}'
	done
done
echo "bench cpu_overhead_ctrace99_target 1 %"
echo "bench cpu_overhead_ctrace999_target 3 %"
# Fixed cost of a recording (agent start and exit, the CLI), on a program that does nothing.
for i in 1 2 3 4 5; do
	"$build/tests/progs/cputime" true 2>&1 >/dev/null | tail -1 >> "$tmp/true.bare"
	"$build/tests/progs/cputime" "$build/bin/ctrace" record -q --no-symbolize -o "$tmp/t" -- true \
		2>&1 >/dev/null | tail -1 >> "$tmp/true.ctrace"
done
b=$(cut -d' ' -f2 "$tmp/true.bare" | median)
c=$(cut -d' ' -f2 "$tmp/true.ctrace" | median)
echo "bench cpu_fixed_cost_cputime $(awk -v b="$b" -v c="$c" 'BEGIN {printf "%.1f", (c - b) / 1e6}') ms"
# Symbolization is a post-processing step (gperftools and perf defer it to pprof/report
# too): timed separately on the last 999 Hz recording.
t0=$(date +%s%N)
"$build/bin/ctrace" symbolize "$tmp/c" > /dev/null 2>&1
t1=$(date +%s%N)
echo "bench cpu_symbolize_seconds $(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1e9}') s"
