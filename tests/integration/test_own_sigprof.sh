# test_own_sigprof — a program with its own SIGPROF profiler under the timer engine
# (issue 9, defect 5): it gets exactly its own ticks (the agent moves to a real-time
# signal when the program takes SIGPROF), the agent keeps sampling, and sigaction shows
# the program SIG_DFL where the agent installed handlers.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

"$PROGS/own_sigprof" > "$TMP/bare.out" || fail "own_sigprof failed bare"
bare=$(awk '/^ticks/ {print $2}' "$TMP/bare.out")
for how in sigaction signal; do
	"$CTRACE" record -o "$TMP/$how" --sampler timer -- "$PROGS/own_sigprof" $how \
		> "$TMP/$how.out" 2> "$TMP/$how.err" || { cat "$TMP/$how.err"; fail "$how: status $?"; }
	for q in "SIGPROF before: default" "SIGTERM before: default" "SIGPROF after: a handler"; do
		grep -qx "$q" "$TMP/$how.out" || { cat "$TMP/$how.out"; fail "$how: sigaction does not report '$q'"; }
	done
	got=$(awk '/^ticks/ {print $2}' "$TMP/$how.out")
	# ITIMER_PROF counts the whole process's CPU, the collector's too, and a loaded machine
	# moves both runs by ~10% (once by more than 25%, with two other jobs running); the
	# defect doubled the count (the agent's ticks delivered): 40% still tells them apart.
	near "$got" "$bare" $((bare * 2 / 5)) || fail "$how: the program got $got SIGPROF ticks, $bare without the agent"
	grep -q "^engine=timer" "$TMP/$how/summary.txt" || fail "$how: not the timer engine"
	grep -q "moved from signal 27" "$TMP/$how/summary.txt" || fail "$how: the move is not reported"
	pprof_top "$TMP/$how/cpu.pb.gz" > "$TMP/$how.top"
	v=$(share "$TMP/$how.top" own_profiled cum)
	near "$v" 83 12 || { cat "$TMP/$how.top"; fail "$how: own_profiled has $v% of the agent's samples"; }
	ok "$how: program's SIGPROF ticks $got (bare $bare), agent still samples (own_profiled $v%)"
done

# A program that blocks every signal (as daemons do before sigwait or signalfd) gets no
# timer ticks: the recording says so in summary.txt's warning instead of showing 0 samples
# as if the program had not run. A program that blocks nothing gets no such warning.
cat > "$TMP/blockall.c" <<'C'
#include <signal.h>
#include <time.h>
int main(void)
{
	sigset_t s;
	sigfillset(&s);
	sigprocmask(SIG_BLOCK, &s, NULL);
	volatile double x = 0;
	for (clock_t t0 = clock(); clock() - t0 < CLOCKS_PER_SEC / 3;)
		x += 1;
	return 0;
}
C
${CC:-cc} -O1 -o "$TMP/blockall" "$TMP/blockall.c" || fail "cannot build blockall"
"$CTRACE" record -q -o "$TMP/blockall.out" --sampler timer -- "$TMP/blockall" ||
	fail "blockall failed under the agent"
grep -q "^warning=.*1 thread(s) blocked the timer engine's signal" "$TMP/blockall.out/summary.txt" ||
	{ cat "$TMP/blockall.out/summary.txt"; fail "blocked timer signal: no warning"; }
"$CTRACE" record -q -o "$TMP/plain.out" --sampler timer -- "$SAMPLES/cpu_hot" 0.2 > /dev/null ||
	fail "cpu_hot failed under the agent"
! grep -q "blocked the timer" "$TMP/plain.out/summary.txt" || fail "a warning without a blocked signal"
ok "a program blocking the timer's signal is warned about in summary.txt; one that does not is not"

# A program that blocks every signal and reads them with signalfd or sigtimedwait (a
# daemon's loop; its threads inherit the mask) reads none of the timer's ticks: a thread's
# timer pauses while it blocks the signal. One that unblocks again is sampled from then on.
for mode in signalfd sigtimedwait thread; do
	run_status "$CTRACE" record -q -o "$TMP/reader-$mode" --sampler timer -- \
		"$PROGS/sig_reader" $mode > "$TMP/reader-$mode.out" 2> "$TMP/reader-$mode.err"
	[ "$st" = 0 ] || { cat "$TMP/reader-$mode.err"; fail "$mode: the program read the agent's ticks (status $st)"; }
	grep -qx "unexpected 0" "$TMP/reader-$mode.out" || fail "$mode: no count printed"
	grep -q "blocked the timer engine's signal" "$TMP/reader-$mode/summary.txt" ||
		fail "$mode: no warning about the blocked signal"
done
"$CTRACE" record -q -o "$TMP/reader-unblock" --sampler timer -- "$PROGS/sig_reader" unblock \
	> "$TMP/reader-unblock.out" || fail "unblock: the program read the agent's ticks"
pprof_top "$TMP/reader-unblock/cpu.pb.gz" > "$TMP/unblock.top"
v=$(share "$TMP/unblock.top" unblocked_part cum)
b=$(share "$TMP/unblock.top" blocked_part cum)
near "$v" 100 15 && near "$b" 0 10 ||
	{ cat "$TMP/unblock.top"; fail "unblock: unblocked_part $v%, blocked_part $b% of the samples"; }
ok "signalfd, sigtimedwait and an inheriting thread read no tick; sampling resumes at unblock ($v%)"

# A thread paused on SIGPROF while the program takes SIGPROF (the timer moves to a
# real-time signal) resumes when it unblocks SIGPROF: its timer was left paused for good,
# 0 samples for its 0.4 s.
"$CTRACE" record -q -o "$TMP/moved" --sampler timer -- "$PROGS/sig_reader" moved > /dev/null ||
	fail "moved: failed"
pprof_top "$TMP/moved/cpu.pb.gz" > "$TMP/moved.top"
v=$(share "$TMP/moved.top" moved_part cum)
[ "${v%.*}" -ge 70 ] || { cat "$TMP/moved.top"; fail "moved: moved_part has $v% of the samples"; }
grep -q "blocked the timer engine's signal 27" "$TMP/moved/summary.txt" ||
	fail "moved: the warning does not name the signal the thread blocked"
ok "a thread paused on SIGPROF resumes after the timer moved off it (moved_part $v%)"
