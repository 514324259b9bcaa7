#!/bin/sh
# bench_heap.sh BUILD — what heap profiling costs, against a bare run and against
# heaptrack, in the same run of this script. Each side is run alternately several times
# and keeps its best run, so that noise from other processes does not count as overhead.
# Prints:
#   bench heap_tight_bare                N ns  malloc(32)+free pair, one thread, no agent
#   bench heap_tight_added               N ns  added by the hooks to that pair at the
#                                              default rate (target <= 5)
#   bench heap_mixed_bare                N ns  malloc+free pair of mixed sizes (16 B ..
#                                              256 KiB), 4 threads, per thread CPU time
#   bench heap_mixed_default_added       N ns  added at the default rate (512 KiB)
#   bench heap_mixed_rate1_added         N ns  added at CTRACE_HEAP_RATE=1 (every
#                                              allocation recorded with its stack)
#   bench heap_mixed_heaptrack_added     N ns  added by heaptrack (records everything)
#   bench heap_mixed_{default,rate1,heaptrack}_wall_ratio  N x  process wall time over
#                                              the bare run's, writing the output included
#   bench heap_mixed_rate1_vs_heaptrack      N x  heaptrack's added time over rate 1's
#                                              (target >= 2)
#   bench heap_loop_bare_{wall,cpu}          N ns  per malloc(512)+free pair of a
#                                              33554432-pair loop, whole process (CPU:
#                                              perf stat's task-clock, every thread and
#                                              child process)
#   bench heap_loop_{rate1,heaptrack}_{wall,cpu}_added  N ns  added per pair by ctrace at
#                                              rate 1 / by heaptrack, output included
#   bench heap_loop_heaptrack_vs_rate1_{wall,cpu}  N x  heaptrack's added over rate 1's
#                                              (target >= 2)
#   bench heap_parse_bare                    N ms  one round of a small JSON-like parser
#                                              (real work between allocations), CPU time
#                                              of the fastest round
#   bench heap_parse_idle_thread_overhead    N %   what one idle extra thread costs the
#                                              bare parser: glibc's multi-threaded
#                                              malloc path, which the agent's collector
#                                              thread brings to every traced run
#   bench heap_parse_default_overhead        N %   added at the default rate, over bare
#   bench heap_parse_default_vs_idle_thread  N %   the same over the idle-thread run:
#                                              what the hooks add (target <= 8)
#   bench heap_parse_rate1_overhead          N %   added at rate 1
#   bench heap_churn_default_overhead        N %   samples/alloc_churn (64 KiB buffers
#                                              filled and summed), wall time, at the
#                                              default rate (target <= 5)
set -eu
. "$(dirname "$0")/bench_lib.sh"
bench_setup bench_heap 1 "${1:-build}"

now() { date +%s%N; }
min() { printf '%s\n' "$@" | sort -g | head -n 1; }
sub() { awk "BEGIN{printf \"%.2f\", $1 - $2}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }

# run MODE ARGS... — prints "NS_PER_PAIR WALL_NS" for one run of the workload under MODE
# (bare, idle: bare with one idle extra thread, default, rate1, heaptrack).
run() {
	mode=$1; shift
	rm -rf "$tmp/out" "$tmp/ht"*
	t0=$(now)
	case $mode in
	bare) out=$("$bin" "$@") ;;
	idle) out=$(BENCH_IDLE_THREAD=1 "$bin" "$@") ;;
	default) out=$(CTRACE_OUT=$tmp/out CTRACE_MODES=heap LD_PRELOAD=$agent "$bin" "$@") ;;
	rate1) out=$(CTRACE_OUT=$tmp/out CTRACE_MODES=heap CTRACE_HEAP_RATE=1 \
		LD_PRELOAD=$agent "$bin" "$@") ;;
	heaptrack) out=$(heaptrack -o "$tmp/ht" "$bin" "$@" 2>/dev/null | grep -E '^(tight|mixed|parse) ') ;;
	esac
	t1=$(now)
	echo "$out" | awk -v w=$((t1 - t0)) '{print $2, w}'
}

# cpurun MODE ARGS... — prints "WALL_NS CPU_NS" for one run of the workload under MODE
# (bare, rate1, heaptrack): CPU is the task-clock of the whole process tree.
cpurun() {
	mode=$1; shift
	rm -rf "$tmp/out" "$tmp/ht"*
	t0=$(now)
	case $mode in
	bare) perf stat -x, -e task-clock -o "$tmp/stat" -- "$bin" "$@" > /dev/null ;;
	rate1) CTRACE_OUT=$tmp/out CTRACE_MODES=heap CTRACE_HEAP_RATE=1 LD_PRELOAD=$agent \
		perf stat -x, -e task-clock -o "$tmp/stat" -- "$bin" "$@" > /dev/null ;;
	heaptrack) perf stat -x, -e task-clock -o "$tmp/stat" -- \
		heaptrack -o "$tmp/ht" "$bin" "$@" > /dev/null 2>&1 ;;
	esac
	t1=$(now)
	awk -F, -v w=$((t1 - t0)) '$3 == "task-clock" {printf "%.0f %.0f\n", w, $1 * 1e6}' "$tmp/stat"
}

# A long malloc(512)+free loop, the whole process (the collector thread, heaptrack's
# interpreter and writing the output included): bare, rate 1 and heaptrack alternate,
# best of 3 each. Per-event costs dominate: start-up and output are under 1%.
pairs=33554432
load=$(cut -d' ' -f1 /proc/loadavg)
if command -v perf >/dev/null 2>&1 && perf stat -e task-clock -o /dev/null true 2>/dev/null; then
	lbw="" lbc="" lrw="" lrc="" lhw="" lhc=""
	for _ in 1 2 3; do
		r=$(cpurun bare tight $pairs 512); lbw="$lbw ${r% *}"; lbc="$lbc ${r#* }"
		r=$(cpurun rate1 tight $pairs 512); lrw="$lrw ${r% *}"; lrc="$lrc ${r#* }"
		if command -v heaptrack >/dev/null 2>&1; then
			r=$(cpurun heaptrack tight $pairs 512); lhw="$lhw ${r% *}"; lhc="$lhc ${r#* }"
		fi
	done
	per() { awk "BEGIN{printf \"%.1f\", ($1) / $pairs}"; }
	lb_w=$(min $lbw) lb_c=$(min $lbc)
	echo "bench heap_loop_bare_wall $(per "$lb_w") ns"
	echo "bench heap_loop_bare_cpu $(per "$lb_c") ns"
	r_w=$(per "$(min $lrw) - $lb_w") r_c=$(per "$(min $lrc) - $lb_c")
	echo "bench heap_loop_rate1_wall_added $r_w ns"
	echo "bench heap_loop_rate1_cpu_added $r_c ns"
	if [ -n "$lhw" ]; then
		h_w=$(per "$(min $lhw) - $lb_w") h_c=$(per "$(min $lhc) - $lb_c")
		echo "bench heap_loop_heaptrack_wall_added $h_w ns"
		echo "bench heap_loop_heaptrack_cpu_added $h_c ns"
		echo "bench heap_loop_heaptrack_vs_rate1_wall $(ratio "$h_w" "$r_w") x"
		echo "bench heap_loop_heaptrack_vs_rate1_cpu $(ratio "$h_c" "$r_c") x"
	else
		echo "bench_heap: heaptrack not installed; its loop figures are skipped" >&2
	fi
	echo "bench heap_loop_loadavg_before $load load"
	echo "bench heap_loop_loadavg_after $(cut -d' ' -f1 /proc/loadavg) load"
else
	echo "bench_heap: perf stat unavailable; the long-loop figures are skipped" >&2
fi

# Tight loop: alternate bare and traced, best of 7 each.
tb="" tt=""
for _ in 1 2 3 4 5 6 7; do
	tb="$tb $(run bare tight 20000000 | cut -d' ' -f1)"
	tt="$tt $(run default tight 20000000 | cut -d' ' -f1)"
done
b=$(min $tb)
echo "bench heap_tight_bare $b ns"
echo "bench heap_tight_added $(sub "$(min $tt)" "$b") ns"

# Mixed sizes, 4 threads.
set -- mixed 4 500000
bn="" bw="" dn="" dw=""
for _ in 1 2 3 4 5; do
	r=$(run bare "$@"); bn="$bn ${r% *}"; bw="$bw ${r#* }"
	r=$(run default "$@"); dn="$dn ${r% *}"; dw="$dw ${r#* }"
done
bare_ns=$(min $bn) bare_wall=$(min $bw)
echo "bench heap_mixed_bare $bare_ns ns"
echo "bench heap_mixed_default_added $(sub "$(min $dn)" "$bare_ns") ns"
# Rate 1 and heaptrack alternate too (best of 3 each), so that both see the same load.
have_ht=
command -v heaptrack >/dev/null 2>&1 && have_ht=1
rn="" rw="" hn="" hw=""
for _ in 1 2 3; do
	r=$(run rate1 "$@"); rn="$rn ${r% *}"; rw="$rw ${r#* }"
	if [ -n "$have_ht" ]; then
		r=$(run heaptrack "$@"); hn="$hn ${r% *}"; hw="$hw ${r#* }"
	fi
done
rate1_added=$(sub "$(min $rn)" "$bare_ns")
echo "bench heap_mixed_rate1_added $rate1_added ns"
rate1_wall=$(min $rw)
if [ -n "$have_ht" ]; then
	ht_added=$(sub "$(min $hn)" "$bare_ns")
	echo "bench heap_mixed_heaptrack_added $ht_added ns"
	ht_wall=$(min $hw)
else
	echo "bench_heap: heaptrack not installed; its figures are skipped" >&2
	ht_wall=
fi
echo "bench heap_mixed_default_wall_ratio $(ratio "$(min $dw)" "$bare_wall") x"
echo "bench heap_mixed_rate1_wall_ratio $(ratio "$rate1_wall" "$bare_wall") x"
[ -z "$ht_wall" ] || echo "bench heap_mixed_heaptrack_wall_ratio $(ratio "$ht_wall" "$bare_wall") x"
[ -z "$ht_wall" ] || echo "bench heap_mixed_rate1_vs_heaptrack $(ratio "$ht_added" "$rate1_added") x"

# A program doing real work between allocations: alternate bare, bare with an idle
# thread, default and rate 1.
pb="" pi="" pd="" pr=""
for _ in 1 2 3 4 5; do
	pb="$pb $(run bare parse 100 | cut -d' ' -f1)"
	pi="$pi $(run idle parse 100 | cut -d' ' -f1)"
	pd="$pd $(run default parse 100 | cut -d' ' -f1)"
	pr="$pr $(run rate1 parse 100 | cut -d' ' -f1)"
done
pb=$(min $pb) pi=$(min $pi)
pct() { awk "BEGIN{printf \"%.2f\", ($1 - $2) * 100 / $2}"; }
echo "bench heap_parse_bare $(awk "BEGIN{printf \"%.3f\", $pb / 1e6}") ms"
echo "bench heap_parse_idle_thread_overhead $(pct "$pi" "$pb") %"
echo "bench heap_parse_default_overhead $(pct "$(min $pd)" "$pb") %"
echo "bench heap_parse_default_vs_idle_thread $(pct "$(min $pd)" "$pi") %"
echo "bench heap_parse_rate1_overhead $(pct "$(min $pr)" "$pb") %"

churn=$build/samples/alloc_churn
if [ -x "$churn" ]; then
	cb="" cd=""
	for _ in 1 2 3 4 5; do
		t0=$(now); "$churn" 300000 > /dev/null; t1=$(now)
		cb="$cb $((t1 - t0))"
		rm -rf "$tmp/out"
		t0=$(now)
		CTRACE_OUT=$tmp/out CTRACE_MODES=heap LD_PRELOAD=$agent "$churn" 300000 > /dev/null
		t1=$(now)
		cd="$cd $((t1 - t0))"
	done
	echo "bench heap_churn_default_overhead $(pct "$(min $cd)" "$(min $cb)") %"
fi
