#!/bin/sh
# test_heap_rate.sh — sampling at the default rate (512 KiB) estimates a workload that
# allocates 1.25 GiB in blocks of 4..124 KiB within 20% (objects and bytes), at the right
# call site; at rate 1 the same counts are exact; CTRACE_HEAP_RATE changes the period.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

run_bare_and_traced churn "$SAMPLES/alloc_churn"
want=$(sed -n 's/.*allocated \([0-9]*\) bytes.*/\1/p' "$TMP/churn.out")
[ "$want" = 1310720000 ] || fail "alloc_churn reported $want bytes"
f=$TMP/churn/heap.pb.gz
go tool pprof -raw "$f" 2>/dev/null | grep -q '^Period: 524288$' || fail "default period is not 524288"
got=$(hval "$f" alloc_space handle_request_alloc)
near "$got" "$want" $((want / 5)) || fail "alloc_space estimate $got, want $want +-20%"
objs=$(hval "$f" alloc_objects handle_request_alloc)
near "$objs" 20000 4000 || fail "alloc_objects estimate $objs, want 20000 +-20%"
reuse=$(hval "$f" alloc_space handle_request_reuse)
[ "$reuse" -lt $((want / 100)) ] || fail "handle_request_reuse shows $reuse bytes"
ok "default rate: $got of $want bytes, $objs of 20000 objects at handle_request_alloc"

CTRACE_HEAP_RATE=1 "$CTRACE" record -o "$TMP/exact" -e heap -- "$SAMPLES/alloc_churn" 2000 \
	> /dev/null 2>&1
f=$TMP/exact/heap.pb.gz
expect_eq "rate 1 objects" "$(hval "$f" alloc_objects handle_request_alloc)" 2000
expect_eq "rate 1 bytes" "$(hval "$f" alloc_space handle_request_alloc)" 131072000
expect_eq "rate 1 in use" "$(hval "$f" inuse_space handle_request_alloc)" 0
ok "rate 1: exact counts for the same workload"

CTRACE_HEAP_RATE=65536 "$CTRACE" record -o "$TMP/r64k" -e heap -- "$SAMPLES/alloc_churn" 4000 \
	> /dev/null 2>&1
go tool pprof -raw "$TMP/r64k/heap.pb.gz" 2>/dev/null | grep -q '^Period: 65536$' ||
	fail "CTRACE_HEAP_RATE=65536 not the period"
got=$(hval "$TMP/r64k/heap.pb.gz" alloc_space handle_request_alloc)
near "$got" 262144000 52428800 || fail "rate 64 KiB estimate $got, want 262144000 +-20%"
ok "CTRACE_HEAP_RATE=65536: period and estimate $got of 262144000"

# The peak at the default rate: build_index holds 100 MiB at once and frees it, then
# small_phase keeps 30 MiB to the end. heap-peak.pb.gz must show the first, heap.pb.gz
# the second (estimates: ~180 sampled blocks at the peak, so +-25% is > 3 deviations;
# ~53 at exit, +-50% is > 3.5).
cat > "$TMP/peak.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void *blocks[1000];
__attribute__((noinline)) static void build_index(void)
{
	for (int i = 0; i < 1000; i++) {
		blocks[i] = malloc(100 << 10);
		memset(blocks[i], 1, 100 << 10);
	}
	for (int i = 0; i < 1000; i++)
		free(blocks[i]);
}
__attribute__((noinline)) static void small_phase(void)
{
	for (int i = 0; i < 300; i++)
		blocks[i] = malloc(100 << 10);
}
int main(void)
{
	build_index();
	small_phase();
	printf("peak: done\n");
	return 0;
}
C
${CC:-cc} -O2 -g -o "$TMP/peak" "$TMP/peak.c" || fail "cannot build peak"
"$CTRACE" record -o "$TMP/peak.d" -e heap -- "$TMP/peak" > /dev/null 2>&1
pk=$(hval "$TMP/peak.d/heap-peak.pb.gz" inuse_space build_index)
near "$pk" 104857600 26214400 || fail "peak in use at build_index $pk, want 104857600 +-25%"
expect_eq "small_phase in use at the peak" "$(hval "$TMP/peak.d/heap-peak.pb.gz" inuse_space small_phase)" 0
expect_eq "build_index in use at exit" "$(hval "$TMP/peak.d/heap.pb.gz" inuse_space build_index)" 0
ex=$(hval "$TMP/peak.d/heap.pb.gz" inuse_space small_phase)
near "$ex" 31457280 15728640 || fail "in use at exit at small_phase $ex, want 31457280 +-50%"
ok "heap-peak.pb.gz: $pk bytes in use at build_index at the peak; $ex at exit in small_phase"
