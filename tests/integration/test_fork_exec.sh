#!/bin/sh
# test_fork_exec.sh — processes that fork and exec (shells, make, pyenv shims): every
# process's output is as bare, no empty DIR/<pid>/ folder is left behind by a forked child
# that exec'd (or died) before writing anything, and a child that recorded nothing writes
# no folder but says so in DIR/.children.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

# bash forks (dash would vfork) for every command. The outer shell owns DIR; the inner one (exec'd, DIR/<pid>) forks children that exec
# /bin/true: each such fork child once made DIR/<inner>/<child>/ and never wrote into it,
# its exec'd image writing DIR/<child>/ instead.
script='bash -c "/bin/true; /bin/true; /bin/true; echo inner"; echo outer'
bash -c "$script" > "$TMP/bare.out" 2>&1
"$CTRACE" record -o "$TMP/fe" -- bash -c "$script" > "$TMP/rec.out" 2> "$TMP/rec.err" ||
	{ cat "$TMP/rec.err"; fail "record failed"; }
cmp -s "$TMP/bare.out" "$TMP/rec.out" || { cat "$TMP/rec.out"; fail "output differs from a bare run"; }
[ -f "$TMP/fe/summary.txt" ] || fail "no summary for the outer shell"
# Each child process says in DIR/.children that it started and how it ended; the /bin/true
# ones recorded nothing and so left no folder (issue 9 #10), the others left a summary.
n=$(find "$TMP/fe" -name summary.txt | wc -l)
started=$(awk '$2 == "start" { print $1 }' "$TMP/fe/.children" | sort -u | wc -l)
[ "$started" -ge 4 ] || { cat "$TMP/fe/.children" >&2; fail "only $started children in .children"; }
for pid in $(awk '$2 == "start" { print $1 }' "$TMP/fe/.children" | sort -u); do
	folder=$(awk -v p="$pid" '$1 == p && $2 == "start" { f = $3 } END { print f }' "$TMP/fe/.children")
	[ -f "$TMP/fe/$folder/summary.txt" ] ||
		grep -q "^$pid end nothing recorded" "$TMP/fe/.children" ||
		{ cat "$TMP/fe/.children" >&2; fail "child $pid left no summary and did not say why"; }
done
grep -q 'wrote nothing' "$TMP/rec.err" && { cat "$TMP/rec.err"; fail "record reports a child that wrote nothing"; }
grep -q 'recorded no samples or events' "$TMP/rec.err" || { cat "$TMP/rec.err"; fail "record does not count the children that recorded nothing"; }
empty=$(find "$TMP/fe" -type d -empty)
[ -z "$empty" ] || { find "$TMP/fe" >&2; fail "empty folders left behind: $empty"; }
find "$TMP/fe" -name '*.tmp*' | grep -q . && fail "temporary files left behind"
ok "fork+exec: $n processes recorded, $started children accounted for in .children, no empty folder"

# An exec ends the recording of the program that calls it: its files are written first. The
# program exec'd takes over the folder (DIR, for the first process) and the one before is
# moved into DIR/<pid>.1/ — CPU time before an exec was lost without a word.
"$CTRACE" record -q -o "$TMP/ex" -- "$PROGS/exec_after" "$SAMPLES/cpu_hot" 0.3 > /dev/null ||
	fail "exec_after cpu_hot failed under the agent"
pre=$(find "$TMP/ex" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*.1')
[ -n "$pre" ] && [ -f "$pre/cpu.pb.gz" ] || { find "$TMP/ex" >&2; fail "no DIR/<pid>.1/ with the profile before the exec"; }
pprof_top "$pre/cpu.pb.gz" > "$TMP/pre.top"
v=$(share "$TMP/pre.top" before_exec cum)
near "$v" 100 10 || { cat "$TMP/pre.top"; fail "before the exec: before_exec has $v%"; }
grep -q "^warning=.*exec'd $SAMPLES/cpu_hot" "$pre/summary.txt" || fail "the summary does not say the recording ended at the exec"
grep -q "^cmd=.*cpu_hot" "$TMP/ex/summary.txt" || fail "DIR is not the exec'd program's"
pprof_top "$TMP/ex/cpu.pb.gz" > "$TMP/post.top"
[ "$(share "$TMP/post.top" before_exec cum)" = 0 ] || fail "the exec'd program's profile holds the time before the exec"
ok "CPU before an exec: DIR/$(basename "$pre")/ (before_exec $v%), the exec'd program in DIR"

# A wrapper script's exec leaves the program's profile in DIR; a pipeline in a nested shell
# leaves no truncated trace.ctr of a forked child that exec'd (every trace has its summary).
"$CTRACE" record -q -F 999 -o "$TMP/wrap" -- sh -c "exec $SAMPLES/cpu_hot 0.2" > /dev/null || fail "wrapper failed"
pprof_top "$TMP/wrap/cpu.pb.gz" > "$TMP/wrap.top"
v=$(share "$TMP/wrap.top" hot_loop cum)
[ "${v%.*}" -ge 35 ] || { cat "$TMP/wrap.top"; fail "the exec'd program's profile is not in DIR (hot_loop $v%)"; }
"$CTRACE" record -q -o "$TMP/pipe" -- sh -c 'sh -c "echo hi | tr a-z A-Z"; true' > "$TMP/pipe.out" ||
	fail "pipeline failed"
grep -qx HI "$TMP/pipe.out" || fail "pipeline output differs"
for t in $(find "$TMP/pipe" -name trace.ctr); do
	[ -f "$(dirname "$t")/summary.txt" ] || { find "$TMP/pipe" >&2; fail "a stray trace without a summary: $t"; }
done
ok "a wrapper's exec leaves the program's profile in DIR; no stray trace in a nested pipeline"

# A background job that execs after the script that started it ended records in
# DIR/<pid>/: DIR stays the script's (it took DIR over and wrote over the script's files).
"$CTRACE" record -q -o "$TMP/late" -- sh -c "(sleep 0.5; exec $SAMPLES/cpu_hot 0.2) & exit 0" \
	> /dev/null || fail "late exec: record failed"
late=""
for i in $(seq 1 100); do
	late=$(grep -l "^cmd=.*cpu_hot" "$TMP"/late/*/summary.txt 2>/dev/null | head -1)
	[ -n "$late" ] && break
	sleep 0.1
done
[ -n "$late" ] || { find "$TMP/late" >&2; cat "$TMP/late/summary.txt" >&2; fail "late exec: no DIR/<pid>/ of the background job"; }
grep -q "^cmd=sh " "$TMP/late/summary.txt" || { cat "$TMP/late/summary.txt"; fail "late exec: DIR is not the script's any more"; }
ok "a job that execs after the run's first process ended records in DIR/$(basename "$(dirname "$late")")/"

# Execs that fail: of a program that is not there, the recording goes on (as if it had not
# tried: an optional helper, Python's os.execvp trying each PATH entry; it ended there, and
# the rest of the run was lost); of a file that is there but fails otherwise (ENOEXEC),
# it ends at the call and the summary says so. The program goes on as without the agent.
printf 'not a program\n' > "$TMP/garbage" && chmod +x "$TMP/garbage"
run_status "$CTRACE" record -q -o "$TMP/exfail" -- "$PROGS/exec_after" fail "$TMP/garbage" > "$TMP/exfail.out"
[ "$st" = 0 ] && grep -qx "went on" "$TMP/exfail.out" || fail "exec_after fail: status $st"
grep -q "^warning=.*exec'd $TMP/garbage" "$TMP/exfail/summary.txt" ||
	fail "a failed exec: the summary does not say where the recording ended"
! grep -q "nonexistent" "$TMP/exfail/summary.txt" || fail "an exec of a missing program ended the recording"
pprof_top "$TMP/exfail/cpu.pb.gz" > "$TMP/fail.top"
b=$(share "$TMP/fail.top" before_exec cum)
a=$(share "$TMP/fail.top" after_failed_exec cum)
e=$(share "$TMP/fail.top" after_enoexec cum)
near "$b" 50 15 && near "$a" 50 15 && [ "$e" = 0 ] ||
	{ cat "$TMP/fail.top"; fail "failed execs: before_exec $b%, after_failed_exec $a%, after_enoexec $e%"; }
ok "failed execs: a missing program keeps the recording (after it: $a%), ENOEXEC ends it, status 0"

# A child that execs a program without the agent (`env -i` drops LD_PRELOAD), or into
# another directory (a nested record): record names the reason, not SIGKILL or the OOM killer
# — or, when the child recorded something before its exec (a CPU sample of env's start on a
# loaded machine), its folder's summary does.
named() { # TEXT ERRFILE DIR
	grep -q "wrote nothing: .*$1" "$2" || grep -q "^warning=.*$1" "$3"/*/summary.txt 2>/dev/null
}
"$CTRACE" record -o "$TMP/envi" -- sh -c "env -i $SAMPLES/cpu_hot 0.05; true" > /dev/null 2> "$TMP/envi.err" ||
	{ cat "$TMP/envi.err"; fail "env -i failed"; }
named "exec'd $SAMPLES/cpu_hot, which runs without the agent" "$TMP/envi.err" "$TMP/envi" ||
	{ cat "$TMP/envi.err"; fail "env -i: the reason is not named"; }
"$CTRACE" record -o "$TMP/outer" -- "$CTRACE" record -q -o "$TMP/inner" -- "$SAMPLES/cpu_hot" 0.05 \
	> /dev/null 2> "$TMP/nested.err" || { cat "$TMP/nested.err"; fail "nested record failed"; }
named "which records into another directory" "$TMP/nested.err" "$TMP/outer" ||
	{ cat "$TMP/nested.err"; fail "nested record: the reason is not named"; }
! grep -q "SIGKILL" "$TMP/envi.err" "$TMP/nested.err" || fail "a child blamed on SIGKILL"
[ -f "$TMP/inner/cpu.pb.gz" ] || fail "the nested record wrote no profile"
ok "a child exec'd without the agent or into another directory is named with its reason"

# An exec from a signal handler that interrupted malloc: the files are written by the
# collector, never on the exec'ing thread (it deadlocked on malloc's lock, 2 runs in 10,
# and then ignored SIGTERM). Each of 6 runs must end, with the exec'd program's output.
for i in 1 2 3 4 5 6; do
	run_status timeout -k 2 20 "$CTRACE" record -q -o "$TMP/handler$i" -- "$PROGS/exec_in_handler" \
		> "$TMP/handler.out"
	[ "$st" = 0 ] && grep -qx "exec'd from the handler" "$TMP/handler.out" ||
		fail "exec from a signal handler, run $i: status $st (124: hung)"
done
ok "an exec from a signal handler interrupting malloc never hangs (6 runs)"

# daemon(): glibc's ends the parent with its internal _exit, which no hook sees; the agent's
# own daemon() leaves through the _exit hook, so the parent's recording is written (it was
# lost, and record blamed a kill or a full disk), and the daemon does as glibc's.
cat > "$TMP/dmn.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
static volatile double sink;
int main(int argc, char **argv)
{
	(void)argc;
	for (volatile long i = 0; i < 100000000; i++)
		sink += i;
	int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (daemon(0, 0) != 0)
		return 1;
	char cwd[256];
	dprintf(out, "daemon cwd=%s stdin=%s sid=%d\n", getcwd(cwd, sizeof(cwd)),
		isatty(0) ? "tty" : "devnull", getsid(0) == getpid());
	return 0;
}
C
${CC:-cc} -O1 -o "$TMP/dmn" "$TMP/dmn.c" || fail "cannot build dmn"
"$TMP/dmn" "$TMP/dmn-bare.txt"
"$CTRACE" record -o "$TMP/dm" -- "$TMP/dmn" "$TMP/dmn-rec.txt" 2> "$TMP/dm.err" || fail "record dmn"
for i in $(seq 1 50); do [ -s "$TMP/dmn-rec.txt" ] && [ -s "$TMP/dmn-bare.txt" ] && break; sleep 0.1; done
cmp "$TMP/dmn-bare.txt" "$TMP/dmn-rec.txt" || fail "daemon(): '$(cat "$TMP/dmn-rec.txt")', bare '$(cat "$TMP/dmn-bare.txt")'"
! grep -q "wrote no summary" "$TMP/dm.err" || { cat "$TMP/dm.err"; fail "daemon(): the parent's recording was lost"; }
samples=$(sed -n 's/^samples=//p' "$TMP/dm/summary.txt")
[ "${samples:-0}" -gt 5 ] || fail "daemon(): the parent's CPU not recorded ($samples samples)"
ok "daemon(): the parent's recording written ($samples samples), the daemon as glibc's makes it"
