# test_trace_edges — the scheduler trace where recordings go wrong or differ: the timer
# engine (no context switches: record, --sched and the Chrome export say running and
# runnable were merged; hook waits still measured; unblock edges linked to the waiter's
# next run), a program SIGKILLed after 2 s (its
# trace reads with a "truncated" note and covers at least 1.5 s), a forked child (its own
# DIR/<pid>/trace.ctr), 2000 short-lived threads (each one thread in the trace, although
# the kernel reports a short thread's exit before the hook's start record reaches the
# collector; memory bounded), a thread made by raw clone() (no hook sees it: created from
# the kernel's FORK record alone), and damaged files (a flipped byte: one error line with the
# byte offset and a non-zero exit; a cut file: read with a note).
. "$(dirname "$0")/lib.sh"

agent=$CT_BUILD/lib/libctrace.so

# Timer engine.
CTRACE_SAMPLER=timer "$CTRACE" record -o "$TMP/tm" -- "$SAMPLES/thread_states" \
	> "$TMP/tm.out" 2> "$TMP/tm.err" || { cat "$TMP/tm.err"; fail "timer: record failed"; }
grep -q 'engine timer' "$TMP/tm.err" || { cat "$TMP/tm.err"; fail "timer: not the timer engine"; }
grep -q 'no context switches with the timer engine: running and runnable are merged' "$TMP/tm.err" ||
	{ cat "$TMP/tm.err"; fail "timer: record does not say what it merged"; }
"$CTRACE" report --sched "$TMP/tm" > "$TMP/tm.sched" 2>&1 || { cat "$TMP/tm.sched"; fail "timer: --sched"; }
grep -q 'running and runnable are merged' "$TMP/tm.sched" || { cat "$TMP/tm.sched"; fail "timer: --sched note"; }
"$CTRACE" report --chrome "$TMP/tm.json" "$TMP/tm" 2> /dev/null || fail "timer: --chrome"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not d["otherData"]["states_merged"])' \
	"$TMP/tm.json" || fail "timer: the Chrome export does not say states_merged"
python3 "$CT_ROOT/tests/integration/trace_states.py" "$TMP/tm.json" "$TMP/tm.out" --merged \
	> "$TMP/tm.check" 2>&1 || { cat "$TMP/tm.check" "$TMP/tm.out"; fail "timer: wait times"; }
# Without switch records the unblock edges still end the right waits, and each flow arrow
# ends where the waiter runs again (its next, merged running-or-runnable slice).
expect_wakers "$TMP/tm.sched" timer mutex-wait:ts-main cond-wait:ts-main joiner:joinee
python3 - "$TMP/tm.json" <<'PY' || fail "timer: unblock flows do not end at the waiter's next run"
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
starts = {(e["tid"], e["ts"]) for e in ev if e.get("ph") == "X" and e["name"] == "running-or-runnable"}
ends = [e for e in ev if e.get("ph") == "f"]
sys.exit(not ends or any((e["tid"], e["ts"]) not in starts for e in ends))
PY
ok "timer engine: states merged and said so by record, --sched and --chrome; waits measured; wakers linked to the waiter's next run"

# SIGKILL after 2 s: the chunks written so far read, with a note.
CTRACE_OUT=$TMP/k LD_PRELOAD=$agent "$CT_BUILD/tests/progs/spin" & pid=$!
sleep 2
kill -KILL $pid
wait $pid 2> /dev/null || true
[ -s "$TMP/k/trace.ctr" ] || fail "killed: no trace.ctr"
"$CTRACE" report --chrome "$TMP/k.json" "$TMP/k/trace.ctr" 2> "$TMP/k.err" || { cat "$TMP/k.err"; fail "killed: unreadable"; }
grep -q 'truncated' "$TMP/k.err" || { cat "$TMP/k.err"; fail "killed: no truncated note"; }
span=$(python3 -c 'import json,sys
x=[e for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] in "Xi"]
print(int(max(e["ts"] + e.get("dur", 0) for e in x) - min(e["ts"] for e in x)))' "$TMP/k.json")
[ "$span" -ge 1500000 ] || fail "killed: the trace covers ${span} us, want >= 1.5 s"
ok "SIGKILL after 2 s: truncated note, covers $((span / 1000)) ms"

# A forked child writes its own trace.
"$CTRACE" record -o "$TMP/f" -- "$CT_BUILD/tests/progs/fork_work" > "$TMP/f.out" 2> "$TMP/f.err" ||
	{ cat "$TMP/f.err"; fail "fork: record failed"; }
child=$(grep -o '[0-9][0-9]*' "$TMP/f.out" | tail -1)
[ -s "$TMP/f/$child/trace.ctr" ] || { ls -R "$TMP/f"; fail "fork: no $child/trace.ctr"; }
"$CTRACE" report --sched "$TMP/f/$child" > "$TMP/f.sched" 2>&1 || { cat "$TMP/f.sched"; fail "fork: --sched"; }
grep -q "^trace: pid $child," "$TMP/f.sched" || { cat "$TMP/f.sched"; fail "fork: child trace is not the child's"; }
"$CTRACE" report --sched "$TMP/f" > "$TMP/fp.sched" 2>&1 || fail "fork: parent --sched"
! grep -q "^ *$child " "$TMP/fp.sched" || { cat "$TMP/fp.sched"; fail "fork: child thread in the parent's trace"; }
ok "forked child: its own $child/trace.ctr, not mixed into the parent's"

# Short-lived threads: one thread each, named from their creation, memory bounded.
"$CTRACE" record -e sched -o "$TMP/s" -- "$CT_BUILD/tests/progs/short_threads" 2000 \
	> "$TMP/s.out" 2> "$TMP/s.err" || { cat "$TMP/s.err"; fail "short threads: record failed"; }
"$CTRACE" report --sched "$TMP/s" > "$TMP/s.sched" 2>&1 || { cat "$TMP/s.sched"; fail "short: --sched"; }
grep -q '^trace: .*; 2001 threads;' "$TMP/s.sched" || { head -3 "$TMP/s.sched"; fail "short threads: want 2001 threads"; }
hwm=$(awk '/^VmHWM:/ {print $2}' "$TMP/s.out")
[ "$hwm" -lt 65536 ] || fail "short threads: peak memory $hwm kB, want < 64 MiB"
ok "2000 short-lived threads: 2001 threads in the trace, peak memory $hwm kB"
# The summary of a directory with only the trace (-e sched): says so, lists the views.
"$CTRACE" report "$TMP/s" > "$TMP/s.summary" 2>&1 || { cat "$TMP/s.summary"; fail "report of a -e sched directory failed"; }
grep -q 'holds no profile (recorded with -e sched), only its trace' "$TMP/s.summary" &&
	grep -q '^Also here: trace.ctr' "$TMP/s.summary" && grep -q '^  --sched ' "$TMP/s.summary" ||
	{ cat "$TMP/s.summary"; fail "report of a -e sched directory: no trace, no views"; }
ok "report of a -e sched directory: its trace and views, status 0"

# A raw clone() thread: in the trace, created and ended.
"$CTRACE" record -e sched -o "$TMP/rc" -- "$CT_BUILD/tests/progs/raw_clone" > "$TMP/rc.out" 2> "$TMP/rc.err" ||
	{ cat "$TMP/rc.err"; fail "raw clone: record failed"; }
rt=$(sed -n 's/^raw thread //p' "$TMP/rc.out")
"$CTRACE" report --sched "$TMP/rc" > "$TMP/rc.sched" 2>&1 || { cat "$TMP/rc.sched"; fail "raw clone: --sched"; }
awk -v t="$rt" '$1 == t && !/alive at end/ {f=1} END {exit !f}' "$TMP/rc.sched" ||
	{ cat "$TMP/rc.sched"; fail "raw clone: thread $rt missing or not ended"; }
ok "raw clone() thread $rt: in the trace, created and ended"

# Damaged files.
t=$TMP/f/trace.ctr size=$(stat -c %s "$t")
cp "$t" "$TMP/bad.ctr"
printf '\377' | dd of="$TMP/bad.ctr" bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
run_status "$CTRACE" report --sched "$TMP/bad.ctr" > /dev/null 2> "$TMP/bad.err"
[ "$st" -ne 0 ] || fail "corrupt: exit status 0"
[ "$(wc -l < "$TMP/bad.err")" -eq 1 ] && grep -q "^ctrace: cannot read $TMP/bad.ctr: .* byte [0-9]" "$TMP/bad.err" ||
	{ cat "$TMP/bad.err"; fail "corrupt: want one error line with the byte offset"; }
head -c $((size * 2 / 3)) "$t" > "$TMP/cut.ctr"
"$CTRACE" report --sched "$TMP/cut.ctr" > /dev/null 2> "$TMP/cut.err" || { cat "$TMP/cut.err"; fail "cut: unreadable"; }
grep -q 'truncated' "$TMP/cut.err" || { cat "$TMP/cut.err"; fail "cut: no note"; }
ok "damaged: $(cat "$TMP/bad.err" | cut -c1-90)...; a cut file reads with a note"

# The trace's size cap (CTRACE_TRACE_MAX_MB): past it trace.ctr is closed, complete, and
# says why it ends early; the profiles and the CTRACE_PERIOD windows go on. Without a cap
# the trace grew with the run until the disk was full.
CTRACE_TRACE_MAX_MB=1 CTRACE_PERIOD=300ms "$CTRACE" record -o "$TMP/cap" -- \
	"$CT_BUILD/tests/progs/event_flood" 3 2> "$TMP/cap.err" || { cat "$TMP/cap.err"; fail "capped run failed"; }
size=$(stat -c %s "$TMP/cap/trace.ctr")
[ "$size" -ge $((1 << 20)) ] && [ "$size" -lt $((2 << 20)) ] || fail "capped trace is $size bytes (cap 1 MiB)"
grep -q "stopped at its size cap (1 MiB, CTRACE_TRACE_MAX_MB)" "$TMP/cap/summary.txt" ||
	fail "no size-cap warning in summary.txt"
grep -q " events lost (stopped at its size cap" "$TMP/cap.err" || { cat "$TMP/cap.err"; fail "record does not say the trace stopped"; }
! grep -q "alive when the trace ended\|leaked" "$TMP/cap.err" || fail "record lists threads alive at the cap as stuck"
"$CTRACE" report --sched "$TMP/cap" > "$TMP/cap.sched" || fail "capped trace does not read"
grep -q "^note: the trace stopped at its size cap" "$TMP/cap.sched" || fail "report --sched does not say the trace was capped"
! grep -q "truncated\|cut (no footer)" "$TMP/cap.sched" || fail "capped trace reads as truncated"
windows=$(ls -d "$TMP"/cap/2*Z | wc -l)
last=$(ls -d "$TMP"/cap/2*Z | tail -1)
[ "$windows" -ge 2 ] && "$CTRACE" report --sched "$last/trace.ctr" > /dev/null ||
	fail "the period windows stopped with the capped trace ($windows)"
CTRACE_TRACE_MAX_MB=0 "$CTRACE" record -q -o "$TMP/nocap" -- "$CT_BUILD/tests/progs/event_flood" 3 ||
	fail "uncapped run failed"
[ "$(stat -c %s "$TMP/nocap/trace.ctr")" -gt $((size * 2)) ] || fail "event_flood's uncapped trace is too small to test the cap"
ok "trace size cap: trace.ctr $size bytes, complete, says so; $windows period windows go on"

# A thread named by its creator right after pthread_create, before it ran: the trace's
# name table did not know it yet and dropped the name (the thread stayed its creator's
# namesake under the timer engine, which has no kernel COMM records).
cat > "$TMP/rename.c" <<'C'
#define _GNU_SOURCE
#include <pthread.h>
static volatile int go;
static volatile double sink;
static void *work(void *x)
{
	(void)x;
	while (!go)
		;
	for (volatile long i = 0; i < 20000000; i++)
		sink += i;
	return 0;
}
int main(void)
{
	pthread_t t;
	pthread_create(&t, 0, work, 0);
	pthread_setname_np(t, "ext-named");
	go = 1;
	pthread_join(t, 0);
	return 0;
}
C
${CC:-cc} -O1 -pthread -o "$TMP/rename" "$TMP/rename.c" || fail "cannot build rename"
for engine in timer perf; do
	"$CTRACE" record -q --sampler $engine -o "$TMP/rn-$engine" -- "$TMP/rename" || fail "rename ($engine)"
	"$CTRACE" report --sched "$TMP/rn-$engine" > "$TMP/rn.sched" 2>&1 || fail "--sched rename ($engine)"
	grep -Eq '^ +[0-9]+ +ext-named ' "$TMP/rn.sched" || { cat "$TMP/rn.sched"; fail "$engine: the creator's name for its new thread was lost"; }
done
ok "a name given by the creator before the thread ran is the thread's in the trace (both engines)"

# Threads that return at once, named by their creator just after (the name may arrive
# after the thread's end): 21 threads, none alive at the end but main. A late name began
# a second, endless life of the tid: a phantom "alive at end", runnable thread.
cat > "$TMP/quick.c" <<'C'
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *quick(void *a)
{
	return a;
}
int main(void)
{
	pthread_t t[20];
	for (int i = 0; i < 20; i++) {
		char b[16];
		pthread_create(&t[i], 0, quick, 0);
		snprintf(b, sizeof(b), "quick-%d", i);
		pthread_setname_np(t[i], b);
	}
	usleep(100000);
	for (int i = 0; i < 20; i++)
		pthread_join(t[i], 0);
	return 0;
}
C
${CC:-cc} -O1 -pthread -o "$TMP/quick" "$TMP/quick.c" || fail "cannot build quick"
for i in 1 2 3; do
	"$CTRACE" record -o "$TMP/qk" -- "$TMP/quick" 2> "$TMP/qk.err" || fail "quick"
	grep -q "trace.ctr: 21 threads" "$TMP/qk.err" || { cat "$TMP/qk.err"; fail "quick run $i: not 21 threads"; }
	"$CTRACE" report --sched "$TMP/qk" > "$TMP/qk.sched" 2>&1 || fail "--sched quick"
	[ "$(grep -c '(alive at end)' "$TMP/qk.sched")" = 1 ] || { cat "$TMP/qk.sched"; fail "quick run $i: a phantom thread alive at the end"; }
done
ok "threads named by their creator after they ended: no phantom second life (3 runs)"
