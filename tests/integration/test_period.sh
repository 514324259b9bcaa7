# test_period — CTRACE_PERIOD/CTRACE_KEEP (docs/live.md): a 3.5 s run with a 1 s period
# and KEEP=2 leaves exactly the newest 2 windows plus the final one, each with readable
# cpu/heap/mutex/block profiles about 1 s long (the final one shorter); the CPU of the kept
# windows plus what the oldest kept one says came before it equals the run's cpu.pb.gz;
# `ctrace symbolize` names the frames inside the window folders and `ctrace report --diff`
# compares two windows; each window's trace.ctr is complete and `report --sched` names the
# program's threads in it.
. "$(dirname "$0")/lib.sh"
PROG=$CT_BUILD/tests/progs/live_server
OUT=$TMP/per
CTRACE_PERIOD=1s CTRACE_KEEP=2 CTRACE_OUT=$OUT LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$PROG" 3.5 > "$TMP/prog.out"
grep -q done "$TMP/prog.out" || fail "program output lost"
ls "$OUT" | grep -E '^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$' > "$TMP/windows"
[ "$(wc -l < "$TMP/windows")" = 3 ] || { ls -l "$OUT"; fail "expected 2 kept windows + the final one"; }
ok "3 window folders: the newest 2 and the final one"

cpu_ns() { # FILE — sum of the cpu/nanoseconds values
	go tool pprof -raw "$1" 2> /dev/null | awk '/^Samples:/ {on=1; next} /^Locations/ {on=0}
		on && $2 ~ /^[0-9]+:$/ {sub(":", "", $2); t += $2} END {printf "%.0f\n", t}'
}
sum=0 first=1 n=0
while read -r w; do
	n=$((n + 1))
	for f in cpu heap mutex block; do
		go tool pprof -raw "$OUT/$w/$f.pb.gz" > "$TMP/$f.raw" 2> "$TMP/$f.err" ||
			{ cat "$TMP/$f.err"; fail "$w/$f.pb.gz unreadable"; }
	done
	# -top prints the duration with its unit ("Duration: 1.01s," or "571.77ms,")
	d=$(go tool pprof -top "$OUT/$w/cpu.pb.gz" 2> /dev/null | awk '/^Duration:/ {
		v = $2; sub(",", "", v); if (v ~ /ms$/) { sub("ms", "", v); v /= 1000 }
		else sub("s", "", v); print v; exit }')
	live_server_sched "$OUT/$w/trace.ctr" "$TMP/sched.txt"
	if [ $n -lt 3 ]; then
		near "$d" 1 0.3 || fail "window $w lasts $d s, not ~1 s"
	else
		awk -v d="$d" 'BEGIN { exit !(d > 0 && d < 1.3) }' || fail "final window lasts $d s"
	fi
	if [ $first = 1 ]; then
		before=$(sed -n 's/^Comment: ctrace window: cpu before this window \([0-9]*\) ns$/\1/p' "$TMP/cpu.raw")
		[ -n "$before" ] || fail "window $w has no 'cpu before' comment"
		sum=$before first=0
	fi
	sum=$((sum + $(cpu_ns "$OUT/$w/cpu.pb.gz")))
done < "$TMP/windows"
run=$(cpu_ns "$OUT/cpu.pb.gz")
[ "$run" -gt 0 ] && [ "$sum" = "$run" ] || fail "windows add up to $sum ns, the run's cpu.pb.gz has $run ns"
ok "each window readable and ~1 s long; CPU before + kept windows = the run's total ($run ns)"
ls -a "$OUT" | grep -q '^\.trace-window' && fail "a window's temporary trace was left behind"
ok "each window has a complete trace.ctr naming the program's threads"

w1=$(sed -n 1p "$TMP/windows") w2=$(sed -n 2p "$TMP/windows")
"$CTRACE" symbolize "$OUT" > /dev/null 2> "$TMP/sym.err" || { cat "$TMP/sym.err"; fail "ctrace symbolize"; }
go tool pprof -top "$OUT/$w2/cpu.pb.gz" 2> /dev/null | grep -q live_hot_spin || fail "window not symbolized"
"$CTRACE" report --diff "$OUT/$w1/cpu.pb.gz" "$OUT/$w2/cpu.pb.gz" > "$TMP/diff.txt" ||
	fail "report --diff between windows"
grep -q '^Diff: ' "$TMP/diff.txt" || fail "report --diff printed no diff"
ok "ctrace symbolize DIR names frames in window folders; report --diff between two windows"

# Window traces of threads blocked across windows (samples/thread_states: "stuck" waits on
# a condition variable for the whole run, main joins from +0.3 s): each window's trace spans
# the window, and a thread blocked through it is waiting (cond) through it. Before, a
# window's trace reached back to the wait's start (0.6 s for a 0.3 s window) and showed the
# thread runnable all along: its switch-out came before the window.
CTRACE_PERIOD=300ms "$CTRACE" record -q -o "$TMP/ts" -- "$SAMPLES/thread_states" > /dev/null 2>&1 ||
	fail "thread_states with CTRACE_PERIOD=300ms"
n=0
for w in "$TMP"/ts/2*/; do
	n=$((n + 1))
	"$CTRACE" report --sched "$w" > "$TMP/tsw.txt" 2>&1 || { cat "$TMP/tsw.txt"; fail "report --sched $w"; }
	span=$(sed -n 's/^trace: .*; engine [a-z]*; \([0-9.]*\)\(m*\)s; .*/\1 \2/p' "$TMP/tsw.txt")
	awk -v s="$span" 'BEGIN { split(s, a, " "); v = a[2] == "m" ? a[1] / 1000 : a[1]; exit !(v > 0 && v < 0.45) }' ||
		fail "window $w: its trace spans '$span' s"
	# TID NAME LIFETIME RUNNING RUNNABLE COUNT MAX MAXAT WAITING ...: waiting = lifetime
	awk '$2 == "stuck" && NF > 9 { found = 1; exit !($3 == $9 && $4 == "0" && $5 == "0" && / cond /) }
		END { exit !found }' "$TMP/tsw.txt" ||
		{ grep stuck "$TMP/tsw.txt"; fail "window $w: stuck is not waiting (cond) throughout"; }
done
[ $n -ge 3 ] || fail "thread_states: $n windows"
ok "window traces: each spans its window; a thread blocked through it waits through it ($n windows)"

# A region open when a window opens (a thread inside "longsleep" for 0.9 s at a time) is
# begun in the window at its start: each window's trace has its time and no end "matched
# no open region" (a window once showed the ends alone).
cat > "$TMP/regions.c" <<'C'
#include <time.h>
#include "ctrace/annotate.h"
int main(void)
{
	for (int i = 0; i < 2; i++) {
		ctrace_region_begin("longsleep");
		struct timespec ts = {0, 900000000};
		nanosleep(&ts, 0);
		ctrace_region_end();
	}
	return 0;
}
C
${CC:-cc} -O1 -I"$CT_ROOT/include" -o "$TMP/regions" "$TMP/regions.c" || fail "cannot build regions"
CTRACE_PERIOD=300ms "$CTRACE" record -q -o "$TMP/rg" -- "$TMP/regions" || fail "regions with CTRACE_PERIOD"
n=0
for w in "$TMP"/rg/2*/; do
	"$CTRACE" report --sched "$w" > "$TMP/rgw.txt" 2>&1 || { cat "$TMP/rgw.txt"; fail "report --sched $w"; }
	! grep -q 'matched no open region' "$TMP/rgw.txt" || { cat "$TMP/rgw.txt"; fail "window $w: region ends without their begins"; }
	grep -Eq '^  longsleep +[0-9]+ ' "$TMP/rgw.txt" || { cat "$TMP/rgw.txt"; fail "window $w: no longsleep region"; }
	n=$((n + 1))
done
[ $n -ge 4 ] || fail "regions: $n windows"
ok "regions open when a window opens are begun in it ($n windows)"
