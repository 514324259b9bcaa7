#!/bin/sh
# test_heap.sh — exact heap profiles: at CTRACE_HEAP_RATE=1 every allocation is sampled,
# so heap_known's call sites must show exactly the objects and bytes it allocated and
# still holds (malloc, calloc, realloc growth, posix_memalign, aligned_alloc, memalign,
# and C++ new[] / new), the peak profile must hold the in-use blocks of the moment of the
# peak, and the program's stdout and exit status must not change.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

export CTRACE_HEAP_RATE=1
run_bare_and_traced known "$SAMPLES/heap_known"
f=$TMP/known/heap.pb.gz
# Each line of the sample's output: function alloc_objects alloc_space inuse_objects inuse_space.
while read -r fn ao as io is; do
	expect_eq "$fn alloc_objects" "$(hval "$f" alloc_objects "$fn")" "$ao"
	expect_eq "$fn alloc_space" "$(hval "$f" alloc_space "$fn")" "$as"
	expect_eq "$fn inuse_objects" "$(hval "$f" inuse_objects "$fn")" "$io"
	expect_eq "$fn inuse_space" "$(hval "$f" inuse_space "$fn")" "$is"
done < "$TMP/known.out"
ok "heap_known: exact objects and bytes, allocated and in use, per call site"

go tool pprof -raw "$f" > "$TMP/raw.txt" 2>/dev/null
grep -q '^PeriodType: space bytes' "$TMP/raw.txt" || fail "period type is not space/bytes"
grep -q '^Period: 1$' "$TMP/raw.txt" || fail "period is not the rate"
grep -q 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes' \
	"$TMP/raw.txt" || fail "sample types differ from Go's heap profile"
grep -q 'bytes:\[1000\]' "$TMP/raw.txt" || fail "no bytes label with the block size"
ok "heap.pb.gz: Go's sample types, period and bytes label"

# The peak: posix_memalign's 4 blocks live at once, on top of what calloc, realloc and
# stdio hold; aligned_alloc's blocks come later, when the total is lower.
p=$TMP/known/heap-peak.pb.gz
expect_eq "peak known_posix_memalign" "$(hval "$p" inuse_space known_posix_memalign)" 12000
expect_eq "peak known_calloc" "$(hval "$p" inuse_space known_calloc)" 5000
expect_eq "peak known_realloc" "$(hval "$p" inuse_space known_realloc)" 4096
expect_eq "peak known_aligned_alloc" "$(hval "$p" inuse_space known_aligned_alloc)" 0
expect_eq "peak known_malloc" "$(hval "$p" inuse_space known_malloc)" 0
expect_eq "peak alloc_space" "$(hval "$p" alloc_space known_malloc)" 10000
ok "heap-peak.pb.gz: in use at the peak"

if [ -x "$SAMPLES/heap_known_cxx" ]; then
	run_bare_and_traced cxx "$SAMPLES/heap_known_cxx"
	f=$TMP/cxx/heap.pb.gz
	expect_eq "new[] alloc_objects" "$(hval "$f" alloc_objects "known_new_array()")" 6
	expect_eq "new[] alloc_space" "$(hval "$f" alloc_space "known_new_array()")" 4662
	expect_eq "new[] inuse_space" "$(hval "$f" inuse_space "known_new_array()")" 2331
	expect_eq "new alloc_space" "$(hval "$f" alloc_space "known_new_object()")" 192
	expect_eq "new inuse_objects" "$(hval "$f" inuse_objects "known_new_object()")" 0
	ok "heap_known_cxx: new[] and new reach the profile with exact sizes"
fi

# Heap mode off: no heap files, same output.
"$CTRACE" record -o "$TMP/off" -e cpu -- "$SAMPLES/heap_known" > "$TMP/off.out" 2>/dev/null
cmp -s "$TMP/off.out" "$TMP/known.bare" || fail "stdout differs with heap mode off"
[ ! -e "$TMP/off/heap.pb.gz" ] || fail "heap.pb.gz written with heap mode off"
ok "heap mode off writes no heap profile"
