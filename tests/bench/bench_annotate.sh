#!/bin/sh
# bench_annotate.sh BUILD — what include/ctrace/annotate.h costs, bare (no agent: the
# header's lookup found nothing) and under the agent, alternately in the same run. Each
# figure is the median over 5 repetitions of bench_annotate's slope (ns per pair of
# calls, thread CPU time); each is also printed as a ratio to a clock_gettime(MONOTONIC)
# call measured in the same run (the `_clocks` lines), which moves less with the load.
#   bench annotate_region_bare       N ns   region begin+end, no agent (target <= 2)
#   bench annotate_region_recording  N ns   the same recorded in the trace (target <= 30)
#   bench annotate_label_bare        N ns   label push+pop, no agent
#   bench annotate_label_recording   N ns   the same while the CPU profile records (perf
#                                           engine; the program includes annotate.h, so
#                                           each sample's SIGTRAP reads the labels: no
#                                           records) (target <= 10)
#   bench annotate_label_stamped     N ns   the same with CTRACE_LABELS=records: each push
#                                           and pop appends a record stamped with the TSC
#                                           (a library dlopen'ed later, an old kernel)
#   bench annotate_label_timer       N ns   the same with the timer engine, whose samples
#                                           read the thread's labels: no records
#   bench annotate_label_nocpu       N ns   under the agent, CPU mode off (heap, lock,
#                                           block read the thread's labels directly)
#   bench annotate_clock             N ns   the baseline: one clock_gettime(MONOTONIC)
#   bench annotate_records_lost      N      records the agent's rings dropped (should be 0:
#                                           a dropped record is cheaper than a kept one)
set -eu
. "$(dirname "$0")/bench_lib.sh"
bench_setup bench_annotate 1 "${1:-build}"

quantile() { sort -g "$2" | awk -v q="$1" '{v[NR] = $1} END {
	i = int(q * (NR - 1) + 0.5) + 1; printf "%.2f\n", v[i] }'; }

lost=0 sampler= labels=
# one NAME MODES ARGS... — bench_annotate ARGS under the agent with MODES ("" = bare).
one() {
	name=$1 modes=$2; shift 2
	if [ -z "$modes" ]; then
		"$bin" "$@" | awk '{print $2}' >> "$tmp/$name"
	else
		rm -rf "$tmp/out"
		CTRACE_OUT=$tmp/out CTRACE_MODES=$modes CTRACE_SAMPLER=${sampler:-} \
			CTRACE_LABELS=${labels:-auto} \
			LD_PRELOAD=$agent "$bin" "$@" |
			awk '{print $2}' >> "$tmp/$name"
		l=$(sed -n 's/^events_lost=//p' "$tmp/out/summary.txt")
		lost=$((lost + ${l:-0}))
	fi
}

for _ in 1 2 3 4 5; do
	one clock "" clock 40
	one region_bare "" region 40
	one region_recording all region 200
	one label_bare "" label 40
	one label_recording all label 200
	labels=records
	one label_stamped all label 200
	labels=
	one label_nocpu heap,lock,block label 40
	sampler=timer
	one label_timer all label 200
	sampler=
done
c=$(quantile 0.5 "$tmp/clock")
echo "bench annotate_clock $c ns"
for f in region_bare region_recording label_bare label_recording label_stamped label_nocpu \
	label_timer; do
	v=$(quantile 0.5 "$tmp/$f")
	echo "bench annotate_$f $v ns"
	echo "bench annotate_${f}_clocks $(awk -v v="$v" -v c="$c" 'BEGIN { printf "%.2f", v / c }') x"
done
echo "bench annotate_records_lost $lost records"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
