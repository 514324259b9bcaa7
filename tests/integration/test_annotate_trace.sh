# test_annotate_trace — regions, tasks and logs of include/ctrace/annotate.h end to end in
# the trace (docs/annotate-trace.md): tests/progs/annot_regions measures its own regions;
# `report --sched` tabulates every name with the program's count and a total within 5% of
# the program's measurement (nested "inner" inside "outer"; "serve" regions of tasks that
# an acceptor hands to two workers) — with each clock the agent can stamp them with
# (CTRACE_CLOCK: the TSC converted by the collector, and clock_gettime); the "inner"
# regions, which only burn CPU right before "outer" sleeps, show no sleep inside them (the
# converted stamps order with the kernel's switch records); every task begins on the
# acceptor and ends on a worker in the Chrome export, its serve regions on both workers'
# region lanes; logs are there; --focus-region keeps only the main thread's time inside
# "inner".
. "$(dirname "$0")/lib.sh"

PROG=$CT_BUILD/tests/progs/annot_regions
[ -x "$PROG" ] || fail "build first (no $PROG)"

# ns VALUE — "522.47ms", "1.2s", "950us", "800ns" as nanoseconds.
ns() { echo "$1" | awk '{ v = $1 + 0; if ($1 ~ /ns$/) v *= 1; else if ($1 ~ /us$/) v *= 1e3;
	else if ($1 ~ /ms$/) v *= 1e6; else if ($1 ~ /s$/) v *= 1e9; printf "%.0f\n", v }'; }

# regions CLOCK DIR — records annot_regions into DIR with CTRACE_CLOCK=CLOCK and checks
# its regions table against the program's own measurement.
regions() {
	clock=$1 dir=$2
	CTRACE_CLOCK=$clock CTRACE_VERBOSE=1 "$CTRACE" record -o "$dir" -- "$PROG" \
		> "$TMP/measured.txt" 2> "$TMP/record.err" ||
		{ cat "$TMP/record.err"; fail "annot_regions failed under the agent"; }
	used=$(sed -n 's/.*clock: \([a-z]*\) (.*/\1/p' "$TMP/record.err" | head -1)
	cat "$TMP/measured.txt"
	"$CTRACE" report --sched "$dir" > "$TMP/sched.txt" 2>&1 || fail "report --sched"
	sed -n '/^regions/,/^tasks/p' "$TMP/sched.txt"
	for name in outer inner accept serve; do
		# Measured around begin and end, and (accept, serve) inside them too: the
		# recorded total lies between the two (a thread preempted between its clock read
		# and the call widens only the outer one, under load by 5% and more).
		set -- $(grep "^$name " "$TMP/measured.txt")
		want_n=$2 want_ns=$3 in_ns=${4:-$3}
		row=$(grep -E "^  $name +[0-9]+ " "$TMP/sched.txt") || fail "no regions row for $name"
		set -- $row
		[ "$2" = "$want_n" ] || fail "$clock clock: $name: $2 regions in the trace, the program ran $want_n"
		got=$(ns "$3")
		awk -v g="$got" -v lo="$in_ns" -v hi="$want_ns" 'BEGIN { exit !(g >= lo * 0.95 && g <= hi * 1.05) }' ||
			fail "$clock clock: $name: total $3 ($got ns) vs the program's $in_ns ns inside and $want_ns ns around (more than 5% outside)"
		echo "$name: count $2, total $got ns, program $want_ns ns"
	done
	# inner ends right before outer's sleep: a stamp a few microseconds late would put
	# the sleep's start inside it (40 regions: 0.2 ms is 5 us each).
	set -- $(grep -E "^  inner +[0-9]+ " "$TMP/sched.txt")
	[ "${10}" = 0 ] || [ "$(ns "${10}")" -le 200000 ] ||
		fail "$clock clock: inner regions hold ${10} of waiting: their stamps misorder with the switches"
	ok "$clock clock ($used): regions table: count and total (within 5%) of every region name match the program; no sleep inside inner (${10})"
}

regions monotonic "$TMP/rec-mono"
[ "$used" = monotonic ] || fail "CTRACE_CLOCK=monotonic: the agent used the $used clock"
regions auto "$TMP/rec"
if grep -qw constant_tsc /proc/cpuinfo && grep -qw nonstop_tsc /proc/cpuinfo; then
	[ "$used" = tsc ] || fail "CTRACE_CLOCK=auto on a CPU with an invariant TSC: the $used clock"
fi
grep -q "^tasks: 24 (24 ended); logs: 24$" "$TMP/sched.txt" || fail "tasks/logs line: $(grep '^tasks:' "$TMP/sched.txt")"

# ---- tasks hop threads (Chrome export) --------------------------------------------------
"$CTRACE" report --chrome "$TMP/t.json" "$TMP/rec" 2> /dev/null || fail "--chrome"
begins=$(grep -o '{"ph":"b","cat":"task","name":"request"[^}]*' "$TMP/t.json" | grep -o '"tid":[0-9]*' | sort -u)
ends=$(grep -o '{"ph":"e","cat":"task","name":"request"[^}]*' "$TMP/t.json" | grep -o '"tid":[0-9]*' | sort -u)
[ "$(echo "$begins" | wc -l)" = 1 ] || fail "tasks begin on more than the acceptor: $begins"
[ "$(echo "$ends" | wc -l)" = 2 ] || fail "tasks do not end on the two workers: $ends"
echo "$ends" | grep -qx "$begins" && fail "a task ended on the acceptor"
[ "$(grep -o '{"ph":"b","cat":"task"' "$TMP/t.json" | wc -l)" = 24 ] || fail "not 24 task begins"
lanes=$(grep -o '{"ph":"X","cat":"region","name":"serve"[^}]*' "$TMP/t.json" | grep -o '"tid":[0-9]*' | sort -u | wc -l)
[ "$lanes" = 2 ] || fail "serve regions on $lanes region lanes, not the two workers'"
grep -o '{"ph":"X","cat":"region","name":"serve"[^}]*' "$TMP/t.json" | grep -q '"task":[0-9]' ||
	fail "serve regions do not name their task"
[ "$(grep -c '"cat":"log","s":"t","name":"serve"' "$TMP/t.json")" = 24 ] || fail "not 24 log instants"
ok "tasks begin on the acceptor and end on both workers; serve regions on both workers' lanes; 24 logs"

# ---- focus ---------------------------------------------------------------------------------
"$CTRACE" report --sched --focus-region inner "$TMP/rec" > "$TMP/focus.txt" 2>&1 || fail "--focus-region inner"
grep -q '^focus: only the time threads spent inside regions named "inner"' "$TMP/focus.txt" || fail "no focus line"
grep -E "^  serve " "$TMP/focus.txt" && fail "--focus-region inner kept the workers' regions"
threads=$(sed -n 's/.*; \([0-9]*\) threads;.*/\1/p' "$TMP/focus.txt")
[ "$threads" = 1 ] || fail "--focus-region inner kept $threads threads"
ok "--focus-region inner: one thread, no worker regions"

# ---- the threads' own rings: reused by new threads, and full -------------------------------
# 150 threads in waves (each wave's rings go to the next), then a burst of 30000 regions
# on one thread, more than its ring holds, after 3000 distinct names, more than the agent
# interns: every region is in the trace, on its thread, with its name.
CTRACE_VERBOSE=1 "$CTRACE" record -o "$TMP/storm" -e sched -- "$CT_BUILD/tests/progs/annot_storm" > "$TMP/storm.txt" 2> "$TMP/storm.err" ||
	{ cat "$TMP/storm.err"; fail "annot_storm failed under the agent"; }
grep "took the shared rings" "$TMP/storm.err" || echo "(the collector kept up with the burst: no record took the shared rings)"
lost=$(sed -n 's/^events_lost=//p' "$TMP/storm/summary.txt")
[ "${lost:-0}" = 0 ] || fail "annot_storm: $lost records lost (rings too small for the test)"
"$CTRACE" report --sched "$TMP/storm" > "$TMP/storm-sched.txt" 2>&1 || fail "report --sched (storm)"
sed -n '/^regions/,/^tasks/p' "$TMP/storm-sched.txt"
for name in storm burst; do
	want=$(awk -v n="$name" '$1 == n { print $NF }' "$TMP/storm.txt")
	got=$(awk -v n="$name" '$1 == n && $2 ~ /^[0-9]+$/ { print $2 }' "$TMP/storm-sched.txt")
	[ "$got" = "$want" ] || fail "$name: $got regions in the trace, the program ran $want"
done
names=$(awk '$1 == "names" { print $2 }' "$TMP/storm.txt")
got=$(grep -cE '^  name[0-9]+ +1 ' "$TMP/storm-sched.txt")
[ "$got" = "$names" ] || fail "$got distinctly named regions in the trace, the program ran $names"
"$CTRACE" report --chrome "$TMP/storm.json" "$TMP/storm" 2> /dev/null || fail "--chrome (storm)"
want=$(awk '$1 == "storm" { print $2 }' "$TMP/storm.txt")
lanes=$(grep -o '{"ph":"X","cat":"region","name":"storm"[^}]*' "$TMP/storm.json" | grep -o '"tid":[0-9]*' | sort -u | wc -l)
[ "$lanes" = "$want" ] || fail "storm regions on $lanes threads, not $want"
ok "thread rings: $want threads' regions on their own lanes, a 30000-region burst (twice a thread's ring) and $names region names (more than the agent interns), all recorded"
