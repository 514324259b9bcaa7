# test_output_edges — rough edges of the output (issue 9, defect 10, agent side; #11's
# agent half): forked children that exec leave no empty DIR/<pid>/ folders, a child's
# summary names its command, raw clone() threads are warned about, and a JIT's perf map
# is kept in the output directory.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs
AGENT=$CT_BUILD/lib/libctrace.so

CTRACE_OUT="$TMP/nest" LD_PRELOAD="$AGENT" "$PROGS/edges" nest || fail "edges nest failed"
empty=$(find "$TMP/nest" -mindepth 1 -type d -empty)
[ -z "$empty" ] || fail "empty folders left: $empty"
for s in $(find "$TMP/nest" -mindepth 2 -name summary.txt); do
	grep -q '^cmd=' "$s" || fail "$s does not name its command"
done
# The 5 children and their exec'd /bin/true grandchildren record next to nothing: each
# either left a folder with a summary or said in .children that it recorded nothing (and
# left no folder, issue 9 #10); every start line names the command.
c=$TMP/nest/.children
n=$(awk '$2 == "start" { print $1 }' "$c" | sort -u | wc -l)
[ "$n" -ge 10 ] || { cat "$c"; fail "only $n children in .children"; }
for pid in $(awk '$2 == "start" { print $1 }' "$c" | sort -u); do
	folder=$(awk -v p="$pid" '$1 == p && $2 == "start" { f = $3 } END { print f }' "$c")
	[ -f "$TMP/nest/$folder/summary.txt" ] || grep -q "^$pid end nothing recorded" "$c" ||
		{ cat "$c"; fail "child $pid left no summary and did not say why"; }
done
grep -q '^[0-9]* start [0-9/]* true$' "$c" || { cat "$c"; fail "the exec'd child's start line does not say 'true'"; }
grep -q '^cmd=.*edges nest$' "$TMP/nest/summary.txt" || fail "the parent's summary does not name it"
tail -c 1 "$TMP/nest/summary.txt" | od -An -c | grep -q '\\n' || fail "summary.txt lacks a final newline"
ok "fork+fork+exec: no empty folder, every summary names its command"

CTRACE_OUT="$TMP/clone" CTRACE_SAMPLER=timer LD_PRELOAD="$AGENT" "$PROGS/edges" clone ||
	fail "edges clone failed"
grep -q '^warning=1 thread(s) made with raw clone()' "$TMP/clone/summary.txt" ||
	{ cat "$TMP/clone/summary.txt"; fail "raw clone() thread not warned about"; }
ok "raw clone() thread: warned in summary.txt"

pid=$(CTRACE_OUT="$TMP/jit" LD_PRELOAD="$AGENT" "$PROGS/edges" perfmap) || fail "edges perfmap failed"
trap 'rm -rf "$TMP" "/tmp/perf-$pid.map"' EXIT
cmp "/tmp/perf-$pid.map" "$TMP/jit/perf-$pid.map" || fail "perf-$pid.map not copied into the output"
ok "a published perf map is copied as DIR/perf-<pid>.map"

# A stack deeper than the agent captures ends in a [truncated] frame (root side).
"$CTRACE" record -o "$TMP/deep" -e cpu -- "$PROGS/deep_stack" 2> "$TMP/deep.err" ||
	{ cat "$TMP/deep.err"; fail "deep_stack failed"; }
pprof_top "$TMP/deep/cpu.pb.gz" > "$TMP/deep.top"
v=$(share "$TMP/deep.top" "[truncated]" cum)
near "$v" 100 15 || { head -5 "$TMP/deep.top"; fail "[truncated] frame has $v% of deep_stack's samples"; }
ok "truncated stacks end in a [truncated] frame ($v%)"

# A program that leaves no memory at exit (RLIMIT_AS reached): a profile the agent could not
# build is named in summary.txt's error lines, never just missing.
cat > "$TMP/exhaust.c" <<'C'
#include <stdlib.h>
int main(void)
{
	while (malloc(1 << 20))
		;
	return 0;
}
C
${CC:-cc} -O1 -o "$TMP/exhaust" "$TMP/exhaust.c" || fail "cannot build exhaust"
(ulimit -v 200000 && exec env LD_PRELOAD="$CT_BUILD/lib/libctrace.so" CTRACE_OUT="$TMP/exh" \
	"$TMP/exhaust") > /dev/null 2>&1 || true
[ -s "$TMP/exh/summary.txt" ] || fail "memory exhausted: no summary.txt"
for f in heap.pb.gz heap-peak.pb.gz; do
	[ -s "$TMP/exh/$f" ] || grep -q "^error=cannot write $f: " "$TMP/exh/summary.txt" ||
		{ cat "$TMP/exh/summary.txt"; fail "memory exhausted: $f neither written nor named in an error"; }
done
ok "memory exhausted at exit: every heap profile written or named in summary.txt's errors"
# An address-space limit too small for the agent to start: the program runs as bare, and
# the summary says what could not start and the limit.
out=$( (ulimit -v 50000 && exec "$CT_BUILD/bin/ctrace" record -o "$TMP/as" -- /bin/echo hi) 2>&1) ||
	fail "ulimit -v 50000: record failed: $out"
printf '%s\n' "$out" | grep -qx hi || fail "ulimit -v 50000: the program's output: $out"
grep -Eq '^reason=the agent could not start .*: Cannot allocate memory; RLIMIT_AS is 48 MiB$' \
	"$TMP/as/summary.txt" || fail "ulimit -v 50000: $(grep reason "$TMP/as/summary.txt")"
ok "an address-space limit the agent cannot start under: named in summary.txt"
