# test_trace — the scheduler trace of samples/thread_states (spinners sharing the CPUs,
# one wait of each kind, a thread left blocked at exit) recorded with the perf engine and
# read back through every trace view: per-thread running within 10% of the thread's CPU
# time and runnable within 20% of wall - CPU for the spinners, each wait within 10% of the
# program's own measurement with the waiting function on its stack, names (one with a quote
# and a control character, escaped), the leaked thread in `record`'s summary and in
# --sched, valid Chrome JSON without overlapping slices (and with --chrome-states, thread
# states as sched_switch text that agrees with them), a scheduler-latency profile that
# go tool pprof opens, and a directory summary that names the trace's views.
. "$(dirname "$0")/lib.sh"

prog=$SAMPLES/thread_states
check=$CT_ROOT/tests/integration/trace_states.py

"$CTRACE" record -F 499 -o "$TMP/d" -- "$prog" --odd-names > "$TMP/prog.out" 2> "$TMP/rec.err" ||
	{ cat "$TMP/rec.err"; fail "record failed"; }
[ -s "$TMP/d/trace.ctr" ] || fail "no trace.ctr"
grep -q 'engine perf' "$TMP/rec.err" || { cat "$TMP/rec.err"; fail "not the perf engine"; }
grep -q "trace $TMP/d/trace.ctr: [0-9]* threads, 0 events lost" "$TMP/rec.err" ||
	{ cat "$TMP/rec.err"; fail "record's summary does not describe the trace"; }
grep -q '^threads alive when the trace ended' "$TMP/rec.err" && grep -q '^  stuck ([0-9]*): waiting' "$TMP/rec.err" ||
	{ cat "$TMP/rec.err"; fail "record's summary does not list the stuck thread"; }
ok "record: trace written, stuck thread listed as leaked"

# Many threads alive at the end (a JVM's or a pool's helpers): one line counting them by what
# they wait on, not a page of stacks; a few are still listed each with its stack.
"$CTRACE" record -o "$TMP/idle" -- "$CT_BUILD/tests/progs/idle_helpers" 6 > /dev/null 2> "$TMP/idle.err" ||
	fail "record idle_helpers failed"
grep -q "^ctrace: trace: 6 threads besides main were alive when it ended (waiting: cond 3, sleep 3); .ctrace report --sched $TMP/idle. lists them" \
	"$TMP/idle.err" || { cat "$TMP/idle.err"; fail "record: 6 idle helpers not summed up in one line"; }
! grep -q "^threads alive when the trace ended" "$TMP/idle.err" || fail "record listed 6 helpers one by one"
"$CTRACE" report --sched "$TMP/idle" > "$TMP/idle.txt" || fail "report --sched idle_helpers"
[ "$(awk '/^threads alive when the trace ended/ {on=1} on && /waiting \((cond|sleep)\)/' "$TMP/idle.txt" | wc -l)" -eq 6 ] ||
	{ cat "$TMP/idle.txt"; fail "--sched does not list the 6 helpers"; }
"$CTRACE" record -o "$TMP/idle2" -- "$CT_BUILD/tests/progs/idle_helpers" 2 > /dev/null 2> "$TMP/idle2.err" ||
	fail "record idle_helpers 2 failed"
grep -q "^  idle_helpers ([0-9]*): waiting (cond)" "$TMP/idle2.err" && grep -q "^        cond_helper" "$TMP/idle2.err" ||
	{ cat "$TMP/idle2.err"; fail "record: 2 idle helpers not listed with stacks"; }
ok "record: many alive threads summed up in one line, a few listed with stacks"

# --sched: a row per named thread, the leak section.
"$CTRACE" report --sched "$TMP/d" > "$TMP/sched.txt" 2> "$TMP/sched.err" ||
	{ cat "$TMP/sched.err"; fail "report --sched failed"; }
for n in ts-main spin-1 mutex-wait cond-wait sleeper joiner joinee net-wait io-wait stuck; do
	grep -q " $n " "$TMP/sched.txt" || { cat "$TMP/sched.txt"; fail "--sched has no row for $n"; }
done
grep -qF 's"q\x01t' "$TMP/sched.txt" || fail "--sched: the odd name's control character is not printed as \\x01"
awk '/^threads alive when the trace ended/ {on=1} on && /stuck \([0-9]+\): waiting/ {f=1} END {exit !f}' \
	"$TMP/sched.txt" || { cat "$TMP/sched.txt"; fail "--sched does not list the stuck thread"; }
for r in mutex cond sleep join net io; do
	grep -q "^total:.*[( ]$r " "$TMP/sched.txt" || { cat "$TMP/sched.txt"; fail "no $r in totals"; }
done
# The threads' function (waiter) sits right on start_thread in every stack (but an ending
# thread's, its start routine alone, under "unblocked by").
awk '/unblocked by/ {edge = 1; next} $1 == "waiter" && !edge {n++; getline; if ($1 != "start_thread") bad = 1}
	{edge = 0} END {exit bad || !n}' \
	"$TMP/sched.txt" || { cat "$TMP/sched.txt"; fail "--sched: a waiter frame not right above start_thread"; }
! grep -q trampoline "$TMP/sched.txt" || fail "--sched: the agent's trampoline frame is in a stack"
go tool pprof -traces "$TMP/d/block.pb.gz" > "$TMP/block.traces" 2>&1 || fail "go tool pprof -traces block"
grep -q waiter "$TMP/block.traces" && ! grep -q trampoline "$TMP/block.traces" ||
	fail "block profile: no waiter, or the trampoline frame"
ok "--sched: every thread named, every wait reason in the totals, the stuck thread listed; no agent frame between a thread's function and start_thread"

# --chrome: state times against the program's measurements.
"$CTRACE" report --chrome "$TMP/t.json" "$TMP/d/trace.ctr" 2> "$TMP/chrome.err" ||
	{ cat "$TMP/chrome.err"; fail "report --chrome failed"; }
python3 "$check" "$TMP/t.json" "$TMP/prog.out" || { cat "$TMP/prog.out"; fail "state times"; }
# --chrome-states: the same JSON plus the states as sched_switch text Perfetto imports.
"$CTRACE" report --chrome-states "$TMP/ts.json" "$TMP/d/trace.ctr" 2> "$TMP/chrome.err" ||
	{ cat "$TMP/chrome.err"; fail "report --chrome-states failed"; }
python3 "$CT_ROOT/tests/integration/chrome_states.py" "$TMP/ts.json" "$TMP/t.json" ||
	fail "--chrome-states: thread states"

# --sched-latency: go tool pprof reads it, the spinners' preemption stacks in it.
"$CTRACE" report --sched-latency "$TMP/lat.pb.gz" "$TMP/d" 2> "$TMP/lat.err" ||
	{ cat "$TMP/lat.err"; fail "report --sched-latency failed"; }
pprof_top "$TMP/lat.pb.gz" -sample_index=delay > "$TMP/lat.top"
grep -q 'spin' "$TMP/lat.top" || { cat "$TMP/top.out"; fail "sched-latency: no spin frame"; }
total=$(sed -n 's/.* of \([0-9.]*\)\(m*s\) total.*/\1 \2/p' "$TMP/top.out" | head -1)
[ -n "$total" ] || { cat "$TMP/top.out"; fail "sched-latency: no total"; }
ok "--sched-latency: go tool pprof reads it (total $total)"

# A directory summary that mentions the trace and its views.
"$CTRACE" report "$TMP/d" > "$TMP/sum.txt" 2>&1 || { cat "$TMP/sum.txt"; fail "report DIR"; }
grep -q 'trace.ctr (scheduler-event trace' "$TMP/sum.txt" && grep -q -- '--sched ' "$TMP/sum.txt" &&
	grep -q -- '--chrome OUT.json' "$TMP/sum.txt" || { cat "$TMP/sum.txt"; fail "summary"; }
ok "report DIR mentions the trace and its views"

# Unblock edges name the right waker: main released the mutex and signalled the cond, the
# joinee's exit released the joiner.
expect_wakers "$TMP/sched.txt" --sched mutex-wait:ts-main cond-wait:ts-main joiner:joinee
# The join's edge names the ending joinee by its start routine: the routine's entry, not a
# return address (read one byte before, it fell in the function before: frame_dummy, or
# padding shown as [thread_states]).
at=$(awk '/unblocked by joinee/ {getline; print $1; exit}' "$TMP/sched.txt")
[ "$at" = waiter ] || { cat "$TMP/sched.txt"; fail "the joinee's unblock edge names '$at', not its start routine waiter"; }
ok "unblock edges: mutex and cond released by ts-main, the join by joinee (at its start routine)"
