# test_lost — lost accounting (issue 9, defect 2, CPU side): lock events a full (small:
# CTRACE_RING_BYTES) ring drops are counted apart (events_lost) and never as lost CPU
# samples; lost samples
# stay within what the sampler could have taken (hz x CPUs x duration), and the
# [ctrace: lost samples] frame weighs exactly the lost samples.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

t0=$(date +%s%N)
CTRACE_OUT="$TMP/f" CTRACE_HEAP_RATE=1 CTRACE_RING_BYTES=16384 LD_PRELOAD="$CT_BUILD/lib/libctrace.so" "$PROGS/event_flood" ||
	fail "event_flood failed"
t1=$(date +%s%N)
s=$TMP/f/summary.txt
grep -q '^events_lost=' "$s" || { cat "$s"; fail "summary.txt does not count dropped hook events apart"; }
lost=$(awk -F= '/^lost=/ {print $2}' "$s")
samples=$(awk -F= '/^samples=/ {print $2}' "$s")
bound=$(awk -v ns=$((t1 - t0)) -v c="$(nproc)" 'BEGIN { printf "%d", ns / 1e9 * 99 * c + 1 }')
[ "$lost" -le "$bound" ] || fail "lost=$lost samples, more than the sampler could take ($bound)"
pprof_top "$TMP/f/cpu.pb.gz" -sample_index=samples > "$TMP/f.top"
v=$(share "$TMP/f.top" "[ctrace: lost samples]" flat)
want=$(awk -v l="$lost" -v s="$samples" 'BEGIN { printf "%.2f", l + s ? 100 * l / (l + s) : 0 }')
near "$v" "$want" 1 || { cat "$s"; fail "[ctrace: lost samples] has $v% of the samples, $want% were lost"; }
ok "events_lost=$(awk -F= '/^events_lost=/ {print $2}' "$s") apart; lost=$lost samples (bound $bound), lost frame $v%"
