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
#   bench heap_parse_bare                    N ms  one round of a small JSON-like parser
#                                              (real work between allocations), CPU time
#                                              of the fastest round
#   bench heap_parse_default_overhead        N %   added at the default rate (target <= 5)
#   bench heap_parse_rate1_overhead          N %   added at rate 1
#   bench heap_churn_default_overhead        N %   samples/alloc_churn (64 KiB buffers
#                                              filled and summed), wall time, at the
#                                              default rate (target <= 5)
set -eu
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/tests/bench/bench_heap
agent=$build/lib/libctrace.so
[ -x "$bin" ] || make -s -C "$root" BUILD="$build" "$bin" >/dev/null
[ -e "$agent" ] || { echo "bench_heap: $agent missing (run make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

now() { date +%s%N; }
min() { printf '%s\n' "$@" | sort -g | head -n 1; }
sub() { awk "BEGIN{printf \"%.2f\", $1 - $2}"; }
ratio() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }

# run MODE ARGS... — prints "NS_PER_PAIR WALL_NS" for one run of the workload under MODE
# (bare, default, rate1, heaptrack).
run() {
	mode=$1; shift
	rm -rf "$tmp/out" "$tmp/ht"*
	t0=$(now)
	case $mode in
	bare) out=$("$bin" "$@") ;;
	default) out=$(CTRACE_OUT=$tmp/out CTRACE_MODES=heap LD_PRELOAD=$agent "$bin" "$@") ;;
	rate1) out=$(CTRACE_OUT=$tmp/out CTRACE_MODES=heap CTRACE_HEAP_RATE=1 \
		LD_PRELOAD=$agent "$bin" "$@") ;;
	heaptrack) out=$(heaptrack -o "$tmp/ht" "$bin" "$@" 2>/dev/null | grep -E '^(tight|mixed|parse) ') ;;
	esac
	t1=$(now)
	echo "$out" | awk -v w=$((t1 - t0)) '{print $2, w}'
}

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

# A program doing real work between allocations: alternate bare, default and rate 1.
pb="" pd="" pr=""
for _ in 1 2 3 4 5; do
	pb="$pb $(run bare parse 100 | cut -d' ' -f1)"
	pd="$pd $(run default parse 100 | cut -d' ' -f1)"
	pr="$pr $(run rate1 parse 100 | cut -d' ' -f1)"
done
pb=$(min $pb)
pct() { awk "BEGIN{printf \"%.2f\", ($1 - $2) * 100 / $2}"; }
echo "bench heap_parse_bare $(awk "BEGIN{printf \"%.3f\", $pb / 1e6}") ms"
echo "bench heap_parse_default_overhead $(pct "$(min $pd)" "$pb") %"
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
