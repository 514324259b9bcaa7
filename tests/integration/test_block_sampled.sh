# test_block_sampled — the block profile samples short waits like Go's (CTRACE_BLOCK_RATE:
# a wait of d ns kept with probability min(1, d / rate), weighted by 1 / p) and its totals
# stay unbiased: tests/progs/short_waits makes 16,000 sleeps of tens of microseconds (and
# two of 20 ms), timing each itself. Recorded with the block profile and the trace (which
# gets every wait, so block.pb.gz states the exact totals beside its estimate): at the
# default rate (100 us) fewer waits are kept than were made, yet block.pb.gz's count and
# delay are within 5% of the exact — unsampled — figures of the same waits, and its sleep
# delay within 10% of the program's own measurement; with CTRACE_BLOCK_RATE=1 every wait
# is kept and counted exactly.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$CT_BUILD/tests/progs/short_waits
[ -x "$prog" ] || fail "$prog not built"

# run NAME MODES [RATE] — records the program; sets waits, truth (ns), count, delay, kept.
run() {
	d=$TMP/$1
	CTRACE_BLOCK_RATE=${3:-} "$CTRACE" record -e "$2" -o "$d" -- "$prog" > "$d.out" 2> "$d.err" ||
		{ cat "$d.err"; fail "$1: record failed"; }
	read -r _ waits _ truth < "$d.out" || fail "$1: output: $(cat "$d.out")"
	count=$(pprof_total "$d/block.pb.gz" count -tagfocus reason=sleep)
	delay=$(pprof_total "$d/block.pb.gz" delay -tagfocus reason=sleep)
	"$CTRACE" report "$d/block.pb.gz" > "$d.report" 2>&1 || fail "$1: report failed"
	kept=$(sed -n 's/.*ctrace block: sampled at rate [0-9]* ns; \([0-9]*\) waits kept.*/\1/p' \
		"$d.report")
	[ -n "$kept" ] || { cat "$d.report"; fail "$1: no sampling comment in block.pb.gz"; }
}

# within A B PCT — |A / B - 1| <= PCT%
within() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { r = a / b - 1; exit !(r <= p / 100 && -r <= p / 100) }'; }

run sampled block,sched
# With the trace on, block.pb.gz also states the exact totals of every wait it estimates.
all=$(sed -n 's/.*every wait (the trace.s): \([0-9]*\), \([0-9]*\) ns.*/\1 \2/p' "$TMP/sampled.report")
[ -n "$all" ] || { cat "$TMP/sampled.report"; fail "sampled: no exact totals with the trace on"; }
all_n=${all% *} all_ns=${all#* }
[ "$all_n" -eq $((waits + 2)) ] || fail "sampled: the trace saw $all_n waits, want $waits sleeps + 2 joins"
b_count=$(pprof_total "$TMP/sampled/block.pb.gz" count)
b_delay=$(pprof_total "$TMP/sampled/block.pb.gz" delay)
within "$b_delay" "$all_ns" 5 || fail "sampled: delay $b_delay ns, every wait $all_ns ns"
within "$b_count" "$all_n" 5 || fail "sampled: $b_count waits estimated, $all_n seen"
within "$delay" "$truth" 10 || fail "sampled: sleep delay $delay ns, the program measured $truth ns"
# Sleeps, plus main's two joins, were all that could be kept: fewer means the coin ran.
[ "$kept" -lt $((waits * 95 / 100)) ] ||
	fail "sampled: $kept of $waits waits kept — short waits were not sampled"
ok "sampled: $kept of $all_n waits kept; estimate $b_count / $b_delay ns, every wait $all_n / $all_ns ns"

run every block 1
[ "$count" -eq "$waits" ] || fail "rate 1: $count sleeps recorded, the program made $waits"
[ "$kept" -ge "$waits" ] || fail "rate 1: only $kept waits kept of $waits"
within "$delay" "$truth" 10 || fail "rate 1: sleep delay $delay ns, the program measured $truth ns"
ok "rate 1: every wait kept and counted ($count), delay $delay ns for $truth ns measured"
