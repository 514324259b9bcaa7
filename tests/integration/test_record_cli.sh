# test_record_cli — the CLI's own behaviour, apart from what is recorded: one vocabulary
# of modes (typos refused by the CLI, logged and skipped by the agent), summary.txt keys,
# and issue 9's CLI defects: -o FILE refused before running, planted symlinks never
# written through, two views into one file, statically linked programs, int64 totals,
# and the program not outliving a SIGKILLed `ctrace record`.
. "$(dirname "$0")/lib.sh"

# -e with a typo: refused before anything runs, naming the bad word.
run_status "$CTRACE" record -o "$TMP/typo" -e cpu,hepa -- touch "$TMP/ran" 2> "$TMP/typo.err"
[ "$st" -eq 2 ] || fail "-e cpu,hepa: status $st, want 2"
grep -q "unknown mode 'hepa'" "$TMP/typo.err" || { cat "$TMP/typo.err"; fail "-e typo not named"; }
[ ! -e "$TMP/ran" ] || fail "-e typo: the program ran"
"$CTRACE" record -q -o "$TMP/alias" -e mutex -- true || fail "-e mutex (alias of lock) refused"
ok "-e typos refused, aliases kept"

# --http with an address the agent would refuse: refused before anything runs, never
# announced as served.
for addr in bogus 10.1.2.3:80 unix:; do
	run_status "$CTRACE" record -o "$TMP/http" --http "$addr" -- touch "$TMP/ran" 2> "$TMP/http.err"
	[ "$st" -eq 2 ] || fail "--http $addr: status $st, want 2"
	grep -q "^ctrace: --http $addr: " "$TMP/http.err" || { cat "$TMP/http.err"; fail "--http $addr: no reason"; }
	! grep -q serving "$TMP/http.err" || { cat "$TMP/http.err"; fail "--http $addr announced as served"; }
	[ ! -e "$TMP/ran" ] || fail "--http $addr: the program ran"
done
ok "--http with a bad, remote or empty address refused before running"

# -F and --heap-rate the agent would not take as given: refused before running (they once
# ran, then warned that the default had been used instead).
for opt in "-F 1.5" "-F 0" "-F 99x" "--heap-rate 0" "--heap-rate -1" "--heap-rate 4k"; do
	# shellcheck disable=SC2086 # $opt is an option and its value
	run_status "$CTRACE" record -o "$TMP/opt" $opt -- touch "$TMP/ran" 2> "$TMP/opt.err"
	[ "$st" -eq 2 ] && [ "$(wc -l < "$TMP/opt.err")" -eq 1 ] ||
		{ cat "$TMP/opt.err"; fail "$opt: status $st, want 2 and one line"; }
	[ ! -e "$TMP/ran" ] || fail "$opt: the program ran"
done
ok "-F and --heap-rate values the agent would not take: refused before running"

# The agent alone: a typo is logged (CTRACE_VERBOSE) and the names it knows still apply.
CTRACE_OUT=$TMP/agent CTRACE_MODES=cpu,hepa CTRACE_VERBOSE=1 \
	LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$SAMPLES/cpu_hot" 0.2 > /dev/null 2> "$TMP/agent.err" ||
	fail "agent with CTRACE_MODES typo failed"
grep -q "CTRACE_MODES=cpu,hepa: unknown mode 'hepa'" "$TMP/agent.err" ||
	{ cat "$TMP/agent.err"; fail "agent did not log the mode typo"; }
[ -e "$TMP/agent/cpu.pb.gz" ] || fail "agent: cpu mode lost with the typo"
[ ! -e "$TMP/agent/heap.pb.gz" ] || fail "agent: heap.pb.gz written although not selected"
ok "agent logs a mode typo and keeps the known modes"

# Settings given wrong in the environment are never silently replaced by defaults: summary.txt's
# `config` line names each, `ctrace record` prints it, and valid neighbours still apply.
CTRACE_HZ=xyz CTRACE_SAMPLER=perff CTRACE_PERIOD=abc CTRACE_BLOCK_RATE=-5 CTRACE_STACK_BYTES=5 CTRACE_CLOCK=rdtsc \
	"$CTRACE" record -o "$TMP/badenv" -F 199 -e cpu -- "$SAMPLES/cpu_hot" 0.2 > /dev/null 2> "$TMP/badenv.err" ||
	fail "record with bad CTRACE_* settings failed"
for want in "CTRACE_SAMPLER=perff: not perf or timer" "CTRACE_PERIOD=abc: not a duration" \
	"CTRACE_BLOCK_RATE=-5: not a whole number" "CTRACE_STACK_BYTES=5: outside 1024..65528; using 1024" \
	"CTRACE_CLOCK=rdtsc: not auto, tsc or monotonic"; do
	grep -q "^config=.*$want" "$TMP/badenv/summary.txt" ||
		{ cat "$TMP/badenv/summary.txt"; fail "summary.txt config lacks '$want'"; }
	grep -q "ctrace: warning: settings not used as given: .*$want" "$TMP/badenv.err" ||
		{ cat "$TMP/badenv.err"; fail "record did not print '$want'"; }
done
# -F 199 overrides CTRACE_HZ=xyz: no complaint about a setting that was not used.
! grep -q "CTRACE_HZ" "$TMP/badenv/summary.txt" || fail "-F 199: CTRACE_HZ still complained about"
grep -q "199 Hz" "$TMP/badenv/summary.txt" || fail "-F 199 not applied next to bad settings"
"$CTRACE" record -o "$TMP/goodenv" -e cpu -- "$SAMPLES/cpu_hot" 0.1 > /dev/null 2> "$TMP/goodenv.err"
! grep -q "^config=" "$TMP/goodenv/summary.txt" || fail "config= written with valid settings"
! grep -q "settings not used" "$TMP/goodenv.err" || fail "a warning with valid settings"
ok "bad CTRACE_* settings reported in summary.txt and by record"

# summary.txt: every documented key, the command name, a final newline.
for k in pid cmd engine reason samples lost threads collector_cpu_ms; do
	grep -q "^$k=" "$TMP/agent/summary.txt" || fail "summary.txt lacks $k"
	grep -q "\`$k\`" "$CT_ROOT/docs/env.md" || fail "docs/env.md does not document summary key $k"
done
grep -q "\`error\`" "$CT_ROOT/docs/env.md" || fail "docs/env.md does not document summary key error"
grep -q "^cmd=.*/cpu_hot 0.2$" "$TMP/agent/summary.txt" || fail "summary.txt cmd does not name cpu_hot"
[ "$(tail -c 1 "$TMP/agent/summary.txt" | od -An -c | tr -d ' ')" = '\n' ] ||
	fail "summary.txt lacks a final newline"
ok "summary.txt keys documented and written"

# ---- issue 9 #8: output paths -----------------------------------------------------------
# -o naming an existing file, or a symlink to one: refused before the program runs.
printf 'keep\n' > "$TMP/afile"
ln -s "$TMP/afile" "$TMP/alink"
for o in afile alink; do
	run_status "$CTRACE" record -o "$TMP/$o" -- touch "$TMP/ran.$o" 2> "$TMP/o.err"
	[ "$st" -ne 0 ] || fail "-o $o (a file): status 0"
	[ ! -e "$TMP/ran.$o" ] || fail "-o $o (a file): the program ran"
	grep -q "not a directory" "$TMP/o.err" || { cat "$TMP/o.err"; fail "-o $o: unclear error"; }
done
[ "$(cat "$TMP/afile")" = keep ] || fail "-o FILE: the file was changed"
mkdir "$TMP/realdir"
ln -s "$TMP/realdir" "$TMP/dirlink"
"$CTRACE" record -q -o "$TMP/dirlink" -e cpu -- "$SAMPLES/cpu_hot" 0.1 > /dev/null ||
	fail "-o a symlink to a directory refused"
[ -e "$TMP/realdir/cpu.pb.gz" ] || fail "-o a symlink to a directory: no profile there"
ok "-o FILE refused before running; a symlink to a directory still works"

# -o naming a directory of the user's files: refused before the program runs, nothing in it
# deleted or rewritten (clearing an earlier run's files removed every *.pb.gz and
# summary.txt at its top and in all-digit folders). An empty directory, and one ctrace
# recorded to before (its .owner), are used; the earlier run's files go.
mkdir -p "$TMP/mine/2024"
for f in mine/old.pb.gz mine/summary.txt mine/2024/taxes.pb.gz; do printf 'keep\n' > "$TMP/$f"; done
run_status "$CTRACE" record -o "$TMP/mine" -- touch "$TMP/ran.mine" 2> "$TMP/mine.err"
[ "$st" -eq 2 ] || fail "-o a directory of the user's files: status $st"
[ ! -e "$TMP/ran.mine" ] || fail "-o a directory of the user's files: the program ran"
grep -q "not a ctrace recording" "$TMP/mine.err" || { cat "$TMP/mine.err"; fail "-o mine: unclear error"; }
for f in mine/old.pb.gz mine/summary.txt mine/2024/taxes.pb.gz; do
	[ "$(cat "$TMP/$f")" = keep ] || fail "-o a directory of the user's files: $f changed or gone"
done
mkdir "$TMP/empty"
"$CTRACE" record -q -o "$TMP/empty" -e heap -- true || fail "-o an empty directory refused"
[ -e "$TMP/empty/heap.pb.gz" ] || fail "-o an empty directory: no heap.pb.gz"
"$CTRACE" record -q -o "$TMP/empty" -e cpu -- "$SAMPLES/cpu_hot" 0.1 > /dev/null ||
	fail "-o an earlier recording refused"
[ -e "$TMP/empty/cpu.pb.gz" ] && [ ! -e "$TMP/empty/heap.pb.gz" ] ||
	fail "-o an earlier recording: its files not replaced ($(ls "$TMP/empty" | tr '\n' ' '))"
ok "-o a directory of the user's files refused, untouched; an empty one or an earlier recording used"

# Symlinks planted where the CLI and the agent write: replaced, never written through.
"$CTRACE" record -q -o "$TMP/base" -e cpu -- "$SAMPLES/cpu_hot" 0.2 > /dev/null || fail "record cpu_hot"
printf 'precious\n' > "$TMP/victim"
ln -s "$TMP/victim" "$TMP/flame.svg"
ln -s "$TMP/victim" "$TMP/stacks.txt"
"$CTRACE" report --flame "$TMP/flame.svg" --folded "$TMP/stacks.txt" "$TMP/base/cpu.pb.gz" \
	2> /dev/null || fail "report over planted symlinks failed"
[ "$(cat "$TMP/victim")" = precious ] || fail "report wrote through a planted symlink"
for f in flame.svg stacks.txt; do
	[ -f "$TMP/$f" ] && [ ! -L "$TMP/$f" ] || fail "$f is not a regular file"
done
mkdir "$TMP/plant"
ln -s "$TMP/victim" "$TMP/plant/summary.txt"
ln -s "$TMP/victim" "$TMP/plant/summary.txt.tmp"
CTRACE_OUT=$TMP/plant CTRACE_MODES=cpu LD_PRELOAD=$CT_BUILD/lib/libctrace.so \
	"$SAMPLES/cpu_hot" 0.1 > /dev/null 2>&1 || fail "agent run into a planted directory"
[ "$(cat "$TMP/victim")" = precious ] || fail "the agent wrote summary.txt through a symlink"
grep -q '^samples=' "$TMP/plant/summary.txt" || fail "the agent's summary.txt is missing"
[ -z "$(find "$TMP" -name '*.tmp.*')" ] || fail "temporary files left: $(find "$TMP" -name '*.tmp.*')"
ok "planted symlinks at report outputs and summary.txt are replaced, not followed"

# ---- issue 9 #10 ----------------------------------------------------------------------------
# Two views into one file: refused, nothing written.
run_status "$CTRACE" report --flame "$TMP/same.svg" --folded "$TMP/./same.svg" \
	"$TMP/base/cpu.pb.gz" 2> "$TMP/same.err"
[ "$st" -eq 2 ] || fail "--flame X --folded X: status $st, want 2"
grep -q "both write" "$TMP/same.err" || { cat "$TMP/same.err"; fail "--flame X --folded X: unclear"; }
[ ! -e "$TMP/same.svg" ] || fail "--flame X --folded X wrote X"
ok "two views into one file refused"

# A statically linked program: the agent cannot load, said plainly, and it is not run.
run_status "$CTRACE" record -o "$TMP/static" -- "$CT_BUILD/tests/progs/touch_static" \
	"$TMP/static.ran" 2> "$TMP/static.err"
[ "$st" -eq 1 ] || fail "static program: status $st, want 1"
grep -q "statically linked (no PT_INTERP)" "$TMP/static.err" ||
	{ cat "$TMP/static.err"; fail "static program: not diagnosed"; }
[ ! -e "$TMP/static.ran" ] || fail "static program: it ran"
ok "a statically linked program is refused before running"

# Totals past INT64_MAX: two samples of 0x7000000000000000 ns each (an uncompressed pprof
# Profile: sample_type cpu/nanoseconds, function main, location 1).
printf '\012\004\010\001\020\002\022\016\012\001\001\022\011\200\200\200\200\200\200\200\200\160\022\016\012\001\001\022\011\200\200\200\200\200\200\200\200\160\042\010\010\001\042\004\010\001\020\007\052\004\010\001\020\003\062\000\062\003\143\160\165\062\013\156\141\156\157\163\145\143\157\156\144\163\062\004\155\141\151\156' \
	> "$TMP/big.pb"
run_status "$CTRACE" report "$TMP/big.pb" > "$TMP/big.out" 2> "$TMP/big.err"
[ "$st" -eq 1 ] || { cat "$TMP/big.out"; fail "int64 overflow: status $st, want 1"; }
grep -q "cpu/nanoseconds values sum past 2^63-1" "$TMP/big.err" ||
	{ cat "$TMP/big.err"; fail "int64 overflow: unclear error"; }
grep -q -- '-[0-9]' "$TMP/big.out" && fail "int64 overflow: negative totals printed"
ok "totals past INT64_MAX refused with one line"

# Killing ctrace with SIGKILL takes the program with it (PR_SET_PDEATHSIG).
"$CTRACE" record -q -o "$TMP/orphan" -e cpu -- sh -c 'echo $$ > "$0"; exec sleep 60' \
	"$TMP/orphan.pid" &
rec=$!
i=0
while [ ! -s "$TMP/orphan.pid" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
pid=$(cat "$TMP/orphan.pid")
kill -9 "$rec"
wait "$rec" 2> /dev/null || true
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2> /dev/null; }
i=0
while alive "$pid" && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
if alive "$pid"; then
	kill -9 "$pid"
	fail "the program (pid $pid) outlived ctrace's SIGKILL"
fi
ok "SIGKILL of ctrace record does not orphan the program"

# report's loader knows a trace (trace.ctr) as its own kind of input: an empty one is refused
# in one line naming the file and the offset, never misread as a profile.
: > "$TMP/base/trace.ctr"
run_status "$CTRACE" report "$TMP/base/trace.ctr" 2> "$TMP/trace.err"
[ "$st" -eq 1 ] || fail "report trace.ctr: status $st, want 1"
[ "$(wc -l < "$TMP/trace.err")" -eq 1 ] && grep -q "cannot read .*trace.ctr: .* at byte 0" "$TMP/trace.err" ||
	{ cat "$TMP/trace.err"; fail "report trace.ctr: unclear"; }
"$CTRACE" report "$TMP/base" | grep -q "^Also here: trace.ctr" || fail "directory: trace.ctr not listed"
ok "a trace input is recognized and refused plainly"

# Names from the recording reach the terminal with their control characters as \xNN: a
# thread named with an ESC sequence, alive at exit, is listed without driving the terminal.
cat > "$TMP/evil.c" <<'C'
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static void *stay(void *arg)
{
	(void)arg;
	for (;;)
		pause();
}
int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, stay, NULL);
	pthread_setname_np(t, "\033[31mEVIL");
	usleep(200000);
	exit(0);
}
C
${CC:-cc} -O1 -pthread -o "$TMP/evil" "$TMP/evil.c" || fail "cannot build evil"
"$CTRACE" record -o "$TMP/evil.out" -- "$TMP/evil" 2> "$TMP/evil.err" || { cat "$TMP/evil.err"; fail "evil failed"; }
grep -q 'x1b\[31mEVIL' "$TMP/evil.err" || { cat "$TMP/evil.err"; fail "the thread's name is not listed escaped"; }
! grep -q "$(printf '\033')" "$TMP/evil.err" || fail "record printed a raw ESC from a thread name"
ok "record prints a thread name's ESC sequence as \\x1b"

# A child that outlives the command (tests/progs/outlive): a straggler that ends within a
# second is waited for, its profiles whole and named; one that runs on is said to, not
# rebuilt from its checkpoint nor called a child that wrote nothing, and writes its own
# files when it ends.
# (The parent lives 0.3 s: a child forked in the command's last instant may not have
# listed itself in DIR/.children yet when the command ends, and is then not waited for.)
run_status "$CTRACE" record -o "$TMP/straggler" -- "$CT_BUILD/tests/progs/outlive" 0.35 0.3 \
	> "$TMP/straggler.out" 2> "$TMP/straggler.err"
[ "$st" = 0 ] || { cat "$TMP/straggler.err"; fail "outlive 0.2 0: status $st"; }
kid=$(head -1 "$TMP/straggler.out")
! grep -qE 'wrote nothing|still runs|rebuilt' "$TMP/straggler.err" || { cat "$TMP/straggler.err"; fail "straggler: $(grep -E 'nothing|runs|rebuilt' "$TMP/straggler.err")"; }
grep -q '^checkpoint=' "$TMP/straggler/$kid/summary.txt" && fail "straggler: profiles rebuilt from a checkpoint"
"$CTRACE" report "$TMP/straggler/$kid/cpu.pb.gz" | grep -q outliving_child ||
	fail "straggler: its CPU profile does not name outliving_child"
run_status "$CTRACE" record -o "$TMP/daemon" -- "$CT_BUILD/tests/progs/outlive" 4 1.2 \
	> "$TMP/daemon.out" 2> "$TMP/daemon.err"
kid=$(head -1 "$TMP/daemon.out")
grep -q "^ctrace: child $kid (.*) still runs (it outlived the command)" "$TMP/daemon.err" ||
	{ cat "$TMP/daemon.err"; fail "a child that runs on: not said to"; }
! grep -qE 'wrote nothing|rebuilt' "$TMP/daemon.err" || { cat "$TMP/daemon.err"; fail "a child that runs on: called dead"; }
for i in $(seq 1 200); do [ -s "$TMP/daemon/$kid/summary.txt" ] && break; sleep 0.05; done
[ -s "$TMP/daemon/$kid/summary.txt" ] || fail "a child that ran on left no summary.txt"
grep -q '^checkpoint=' "$TMP/daemon/$kid/summary.txt" && fail "a child that ran on: its own files replaced by a rebuild"
ok "children that outlive the command: a straggler waited for; one that runs on said to, then writes its files"
