#!/bin/sh
# test_heap_leak.sh — the leak sample: in use at exit equals what was leaked, at the
# leaking call site only; at the default rate `go tool pprof -top` on inuse_space names
# leaky_cache_insert first, both for `ctrace record` and for a bare LD_PRELOAD run
# symbolized afterwards with `ctrace symbolize`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

CTRACE_HEAP_RATE=1 run_bare_and_traced exact "$SAMPLES/leak" 2000
f=$TMP/exact/heap.pb.gz
expect_eq "leaked objects" "$(hval "$f" inuse_objects leaky_cache_insert)" 1000
expect_eq "leaked bytes" "$(hval "$f" inuse_space leaky_cache_insert)" 1024000
expect_eq "allocated by leaky_cache_insert" "$(hval "$f" alloc_objects leaky_cache_insert)" 1000
expect_eq "parse_request in use" "$(hval "$f" inuse_objects parse_request)" 0
expect_eq "parse_request allocated" "$(hval "$f" alloc_objects parse_request)" 2000
ok "rate 1: in use at exit is exactly the leak, at leaky_cache_insert"

# Default rate (512 KiB), 100 MB leaked in 1 KiB blocks: ~195 sampled blocks, so the
# estimate's standard deviation is ~7% and +-30% is beyond 4 of them.
unset CTRACE_HEAP_RATE
"$CTRACE" record -o "$TMP/dflt" -e heap -- "$SAMPLES/leak" 200000 > /dev/null 2>&1
top=$(go tool pprof -sample_index=inuse_space -top "$TMP/dflt/heap.pb.gz" 2>/dev/null |
	awk '/flat%/ {getline; print $NF; exit}')
expect_eq "top in-use function (record)" "$top" leaky_cache_insert
est=$(hval "$TMP/dflt/heap.pb.gz" inuse_space leaky_cache_insert)
near "$est" 102400000 30720000 || fail "estimated leak $est bytes, want 102400000 +-30%"
ok "default rate: leaky_cache_insert tops inuse_space, estimate $est of 102400000 bytes"

CTRACE_OUT=$TMP/bare LD_PRELOAD=$CT_BUILD/lib/libctrace.so CTRACE_MODES=heap \
	"$SAMPLES/leak" 200000 > /dev/null
"$CTRACE" symbolize "$TMP/bare" > /dev/null 2>&1 || fail "ctrace symbolize failed"
top=$(go tool pprof -sample_index=inuse_space -top "$TMP/bare/heap.pb.gz" 2>/dev/null |
	awk '/flat%/ {getline; print $NF; exit}')
expect_eq "top in-use function (LD_PRELOAD + symbolize)" "$top" leaky_cache_insert
ok "LD_PRELOAD run, symbolized afterwards, names leaky_cache_insert"

# The heap report: totals, sites, and the leak with its stack, heaviest first.
"$CTRACE" report --heap "$TMP/exact" > "$TMP/report.txt" 2>&1 || { cat "$TMP/report.txt" >&2; fail "ctrace report --heap failed"; }
grep -q 'every allocation sampled' "$TMP/report.txt" || fail "report: no sampling line"
grep -q 'in use at exit:.*in 1001 objects' "$TMP/report.txt" || fail "report: in-use total"
awk '/^possible leaks/ {on=1; next} on && /allocated at:/ {getline; print $1; exit}' \
	"$TMP/report.txt" > "$TMP/first_leak"
expect_eq "first leak's leaf" "$(cat "$TMP/first_leak")" leaky_cache_insert
grep -q '1000KB in 1000 objects (1KB each on average)' "$TMP/report.txt" ||
	{ cat "$TMP/report.txt" >&2; fail "report: leak line"; }
ok "ctrace report --heap lists the leak first, with its stack"
