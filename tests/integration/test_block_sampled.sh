# test_block_sampled — the block profile samples short waits like Go's (CTRACE_BLOCK_RATE:
# a wait of d ns kept with probability min(1, d / rate), weighted by 1 / p) and its totals
# stay unbiased: tests/progs/short_waits makes 16,000 sleeps of tens of microseconds (and
# two of 20 ms), timing each itself. At the default rate (100 us) fewer waits are kept
# than were made, yet the profile's sleep count and delay are within 5% of the program's
# own figures; with CTRACE_BLOCK_RATE=1 every wait is kept and the totals match as well,
# so the sampled and the unsampled profiles agree with each other within 5%.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$CT_BUILD/tests/progs/short_waits
[ -x "$prog" ] || fail "$prog not built"

# run NAME [RATE] — records the program; sets waits, truth (ns), count, delay, kept.
run() {
	d=$TMP/$1
	CTRACE_BLOCK_RATE=${2:-} "$CTRACE" record -e block -o "$d" -- "$prog" > "$d.out" 2> "$d.err" ||
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

run sampled
within "$delay" "$truth" 5 || fail "sampled: sleep delay $delay ns, the program measured $truth ns"
within "$count" "$waits" 5 || fail "sampled: $count sleeps estimated, the program made $waits"
# Sleeps, plus main's two joins, were all that could be kept: fewer means the coin ran.
[ "$kept" -lt $((waits * 95 / 100)) ] ||
	fail "sampled: $kept of $waits waits kept — short waits were not sampled"
s_ratio=$(awk -v a="$delay" -v b="$truth" 'BEGIN { printf "%.4f", a / b }')
ok "sampled: $kept of $waits waits kept; sleep delay $delay ns for $truth measured, count $count"

run every 1
within "$delay" "$truth" 5 || fail "rate 1: sleep delay $delay ns, the program measured $truth ns"
[ "$count" -eq "$waits" ] || fail "rate 1: $count sleeps recorded, the program made $waits"
[ "$kept" -ge "$waits" ] || fail "rate 1: only $kept waits kept of $waits"
u_ratio=$(awk -v a="$delay" -v b="$truth" 'BEGIN { printf "%.4f", a / b }')
within "$s_ratio" "$u_ratio" 5 || fail "sampled ($s_ratio) and unsampled ($u_ratio) disagree"
ok "rate 1: every wait kept; delay/measured: sampled $s_ratio, unsampled $u_ratio"
