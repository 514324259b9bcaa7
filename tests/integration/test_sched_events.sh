# test_sched_events — the agent's one event path carries the scheduler's records: with the
# sched mode on, the perf engine runs (even without cpu) with context_switch set, and the
# trace source (agent/trace.c, counts logged under CTRACE_VERBOSE) receives switch in/out
# events, thread fork/exit events, the same lock waits as the block profile and the same
# CPU samples as the CPU profile. Without perf_event the sched mode has no engine and says so.
. "$(dirname "$0")/lib.sh"

prog=$SAMPLES/lock_contention # 8 threads (4 contending on one mutex, then 4 sharded)
agent=$CT_BUILD/lib/libctrace.so

run() { # DIR MODES [launcher...] — runs prog under the agent alone, log in DIR.err
	dir=$1 modes=$2; shift 2
	CTRACE_OUT=$dir CTRACE_MODES=$modes CTRACE_VERBOSE=1 CTRACE_HZ=499 LD_PRELOAD=$agent \
		"$@" "$prog" > "$dir.out" 2> "$dir.err" || { cat "$dir.err"; fail "$modes: run failed"; }
}
count() { # ERRFILE FIELD — a number from the "sched: ..." log line
	sed -n 's/.*sched: \(.*\)/\1/p' "$1" | tr ',()' '\n\n\n' |
		awk -v f="$2" '$0 ~ f {print $1; found=1} END {if (!found) print -1}' | head -1
}
key() { sed -n "s/^$2=//p" "$1/summary.txt"; }

# sched alone: the perf engine starts for it, with the dummy event (no samples, no profile).
run "$TMP/s" sched
grep -q 'sched: ' "$TMP/s.err" || { cat "$TMP/s.err"; fail "sched source saw nothing"; }
[ "$(key "$TMP/s" engine)" = perf ] || fail "sched only: engine $(key "$TMP/s" engine), want perf"
key "$TMP/s" reason | grep -q 'context switches' || fail "sched only: reason $(key "$TMP/s" reason)"
[ ! -e "$TMP/s/cpu.pb.gz" ] || fail "sched only wrote cpu.pb.gz"
[ -s "$TMP/s/trace.ctr" ] || fail "sched only wrote no trace.ctr"
sw=$(count "$TMP/s.err" 'switch events') out=$(count "$TMP/s.err" ' out')
pre=$(count "$TMP/s.err" preempted)
[ "$sw" -gt 0 ] && [ "$out" -gt 0 ] && [ "$out" -lt "$sw" ] ||
	fail "switch events: $sw total, $out out (want some in and some out)"
# The contending workers block on the mutex: voluntary switches out (not preempted).
[ $((out - pre)) -gt 0 ] || fail "no voluntary switch out ($out out, $pre preempted)"
[ "$(count "$TMP/s.err" fork)" -ge 8 ] || fail "fork events: $(count "$TMP/s.err" fork), want >= 8"
[ "$(count "$TMP/s.err" exit)" -ge 8 ] || fail "exit events: $(count "$TMP/s.err" exit), want >= 8"
[ "$(count "$TMP/s.err" samples)" -eq 0 ] || fail "sched only delivered samples"
ok "sched only: $sw switch events ($out out, $pre preempted), fork/exit events, no samples"

# cpu, block and sched: one sample or wait reaches every subscriber of its type.
run "$TMP/all" cpu,block,sched
[ -s "$TMP/all/cpu.pb.gz" ] && [ -s "$TMP/all/block.pb.gz" ] || fail "cpu/block profile missing"
key "$TMP/all" reason | grep -q 'cpu-clock.*context switches' || fail "reason $(key "$TMP/all" reason)"
samples=$(key "$TMP/all" samples) seen=$(count "$TMP/all.err" samples)
[ "$samples" -gt 0 ] && [ "$seen" -eq "$samples" ] ||
	fail "CPU profile has $samples samples, the sched source saw $seen"
waits=$(count "$TMP/all.err" waits)
[ "$waits" -gt 0 ] || fail "sched source saw no lock waits"
[ "$(count "$TMP/all.err" 'switch events')" -gt 0 ] || fail "no switch events with cpu on"
ok "cpu+block+sched: $samples samples and $waits waits reach both their profile and sched"

# cpu alone: the sched source is off and the event stays as before (no context switches).
run "$TMP/c" cpu
! grep -q 'sched: ' "$TMP/c.err" || fail "sched source ran without the sched mode"
! key "$TMP/c" reason | grep -q 'context switches' || fail "cpu only asked for context switches"
ok "cpu only: no scheduler records"

# No perf_event (seccomp): sched has no engine and says why; the program still runs.
run "$TMP/n" sched "$CT_BUILD/tests/progs/noperf"
[ "$(key "$TMP/n" engine)" = off ] || fail "noperf: engine $(key "$TMP/n" engine)"
key "$TMP/n" reason | grep -q 'no scheduler records' || fail "noperf: reason $(key "$TMP/n" reason)"
ok "without perf_event: $(key "$TMP/n" reason)"
