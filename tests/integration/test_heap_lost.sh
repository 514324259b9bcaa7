#!/bin/sh
# test_heap_lost.sh — heap records lost on a full ring never show up as leaks (issue 9,
# defect 2, heap side). event_flood's threads free everything they allocate (flood();
# glibc keeps the thread control blocks of its stack cache, which are in use at exit
# indeed); with tiny rings
# (CTRACE_RING_BYTES) records are dropped: no leak may be reported, and the profile must
# say it is incomplete — summary.txt's heap_incomplete, a comment in heap.pb.gz, and
# `ctrace report` prints it. Sampled (rate 4096) a full ring drops heap records at once;
# at rate 1 heap events wait for room in their thread's own ring, so there the flood of
# block records fills the shared rings and the incomplete mark is checked only when a
# heap record was lost all the same.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

for rate in 1 4096; do
	d=$TMP/r$rate
	CTRACE_OUT=$d CTRACE_MODES=heap,lock,block CTRACE_BLOCK_RATE=1 CTRACE_HEAP_RATE=$rate CTRACE_RING_BYTES=4096 \
		LD_PRELOAD="$CT_BUILD/lib/libctrace.so" "$PROGS/event_flood" ||
		fail "event_flood failed (rate $rate)"
	s=$d/summary.txt
	lost=$(awk -F= '/^events_lost=/ {print $2}' "$s")
	[ "${lost:-0}" -gt 0 ] || { cat "$s"; fail "rate $rate: no records dropped, the test proves nothing"; }
	"$CTRACE" report --heap "$d" > "$d/report.txt" 2>&1 || { cat "$d/report.txt"; fail "report failed"; }
	! sed -n '/^possible leaks/,$p' "$d/report.txt" | grep -Eq '^ +flood ' ||
		{ cat "$d/report.txt"; fail "rate $rate: phantom leaks reported at flood, which frees everything"; }
	inuse=$(awk '$NF == "flood" && NF == 5 {print $4; exit}' "$d/report.txt")
	[ "$inuse" = 0 ] || { cat "$d/report.txt"; fail "rate $rate: flood has $inuse objects in use at exit"; }
	if [ "$rate" = 1 ] && ! grep -q '^heap_incomplete=' "$s"; then
		ok "rate 1: $lost lock records dropped, heap records all waited for room; no leak"
		continue
	fi
	grep -q '^heap_incomplete=[1-9][0-9]* heap records lost' "$s" ||
		{ cat "$s"; fail "rate $rate: summary.txt does not say the heap profile is incomplete"; }
	grep -q 'INCOMPLETE: .*heap records lost' "$d/report.txt" ||
		{ cat "$d/report.txt"; fail "rate $rate: the report does not say the profile is incomplete"; }
	if command -v go > /dev/null 2>&1; then
		go tool pprof -raw "$d/heap.pb.gz" 2>/dev/null | grep -q 'ctrace heap: incomplete: ' ||
			fail "rate $rate: heap.pb.gz has no incomplete comment"
	fi
	ok "rate $rate: $lost records dropped, no leak reported, profile marked incomplete"
done

# Nothing dropped: the profile is complete and says nothing of the kind (rate 1: the leak
# is there in every run, not only when the sampler picked it).
d=$TMP/full
CTRACE_OUT=$d CTRACE_MODES=heap CTRACE_HEAP_RATE=1 LD_PRELOAD="$CT_BUILD/lib/libctrace.so" "$SAMPLES/leak" 2000 > /dev/null
! grep -q '^heap_incomplete=' "$d/summary.txt" || { cat "$d/summary.txt"; fail "complete run marked incomplete"; }
"$CTRACE" report --heap "$d" > "$d/report.txt" 2>&1
! grep -q 'INCOMPLETE' "$d/report.txt" || fail "complete run reported as incomplete"
grep -q 'possible leaks (in use at exit)' "$d/report.txt" || { cat "$d/report.txt"; fail "the leak sample's leak is gone"; }
ok "no drops: complete, the leak sample's leak still reported"
