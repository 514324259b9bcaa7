# test_symbolize — `ctrace symbolize` on the output of an agent-only run (LD_PRELOAD, no
# `ctrace record`): addresses become names and lines, a second run changes nothing, and a
# module that changed or vanished since the run is named module+0xOFFSET with one warning.
. "$(dirname "$0")/lib.sh"

AGENT=$CT_BUILD/lib/libctrace.so

# A private copy of cpu_hot and its library, so that they can be changed after the run.
mkdir -p "$TMP/bin"
cp "$SAMPLES/cpu_hot" "$SAMPLES/libcpu_hot_lib.so" "$TMP/bin/"

run_agent() { # DIR
	LD_PRELOAD=$AGENT CTRACE_OUT=$1 CTRACE_MODES=cpu CTRACE_HZ=499 "$TMP/bin/cpu_hot" > "$TMP/run.out" 2> "$TMP/run.err" ||
		{ cat "$TMP/run.err"; fail "cpu_hot under the agent failed"; }
	[ -f "$1/cpu.pb.gz" ] || fail "agent wrote no $1/cpu.pb.gz"
}

# 1. Symbolizing an agent-only profile.
run_agent "$TMP/raw"
go tool pprof -symbolize=none -raw "$TMP/raw/cpu.pb.gz" > "$TMP/raw.txt" 2>/dev/null || fail "pprof cannot read the raw profile"
! grep -q 'hot_loop' "$TMP/raw.txt" || fail "an agent-only profile already has names"
cp -r "$TMP/raw" "$TMP/sym"
"$CTRACE" symbolize "$TMP/sym" > "$TMP/sym.out" 2> "$TMP/sym.err" ||
	{ cat "$TMP/sym.err"; fail "ctrace symbolize failed"; }
[ ! -s "$TMP/sym.out" ] || fail "ctrace symbolize wrote to stdout"
if grep -q 'warning' "$TMP/sym.err"; then cat "$TMP/sym.err"; fail "unexpected warnings"; fi
pprof_top "$TMP/sym/cpu.pb.gz" -symbolize=none > "$TMP/sym.top"
v=$(share "$TMP/sym.top" hot_loop flat)
near "$v" 50 15 || fail "hot_loop has $v% flat after symbolize, designed 50%"
go tool pprof -symbolize=none -top -lines "$TMP/sym/cpu.pb.gz" 2>/dev/null | grep -qE 'lib_work .*cpu_hot_lib\.c:[0-9]+' ||
	fail "lib_work has no cpu_hot_lib.c line"
ok "agent-only profile symbolized: hot_loop $v% flat"

# 2. A second run leaves the files alone.
cp "$TMP/sym/cpu.pb.gz" "$TMP/once.pb.gz"
"$CTRACE" symbolize "$TMP/sym" 2> "$TMP/again.err" || { cat "$TMP/again.err"; fail "second symbolize failed"; }
cmp -s "$TMP/sym/cpu.pb.gz" "$TMP/once.pb.gz" || fail "second symbolize rewrote a symbolized profile"
ok "symbolized profiles are left alone"

# 3. The program changed since the run: not symbolized from the wrong file.
cp -r "$TMP/raw" "$TMP/chg"
cp "$SAMPLES/lock_contention" "$TMP/bin/cpu_hot"
"$CTRACE" symbolize "$TMP/chg" 2> "$TMP/chg.err" || { cat "$TMP/chg.err"; fail "symbolize with a changed module failed"; }
[ "$(grep -c "warning: $TMP/bin/cpu_hot changed since the run (build id" "$TMP/chg.err")" = 1 ] ||
	{ cat "$TMP/chg.err"; fail "no single changed-module warning"; }
go tool pprof -symbolize=none -raw "$TMP/chg/cpu.pb.gz" 2>/dev/null | grep -q ' cpu_hot+0x' ||
	fail "changed module's frames are not named cpu_hot+0xOFFSET"
go tool pprof -symbolize=none -raw "$TMP/chg/cpu.pb.gz" 2>/dev/null | grep -q 'lib_work' ||
	fail "the unchanged library was not symbolized"
ok "changed module: one warning, module+0x names"

# 4. The library vanished: same, with its own warning; -q silences warnings.
cp -r "$TMP/raw" "$TMP/gone"
rm "$TMP/bin/libcpu_hot_lib.so"
"$CTRACE" symbolize "$TMP/gone" 2> "$TMP/gone.err" || fail "symbolize with a missing module failed"
grep -q "warning: cannot open $TMP/bin/libcpu_hot_lib.so: No such file or directory; not symbolized" \
	"$TMP/gone.err" || { cat "$TMP/gone.err"; fail "no missing-module warning"; }
cp -r "$TMP/raw" "$TMP/quiet"
"$CTRACE" symbolize -q "$TMP/quiet" 2> "$TMP/quiet.err" || fail "symbolize -q failed"
[ ! -s "$TMP/quiet.err" ] || { cat "$TMP/quiet.err"; fail "symbolize -q printed something"; }
ok "missing module warned about; -q is quiet"

# 5. Errors: one line, non-zero exit.
if "$CTRACE" symbolize "$TMP/nonexistent" 2> "$TMP/err.err"; then fail "symbolize of a missing dir succeeded"; fi
grep -q "^ctrace: cannot read $TMP/nonexistent: No such file or directory$" "$TMP/err.err" ||
	{ cat "$TMP/err.err"; fail "bad error line"; }
printf 'not a profile' > "$TMP/bad.pb.gz"
if "$CTRACE" symbolize "$TMP/bad.pb.gz" 2> "$TMP/bad.err"; then fail "symbolize of garbage succeeded"; fi
[ "$(wc -l < "$TMP/bad.err")" = 1 ] && grep -q "^ctrace: cannot read $TMP/bad.pb.gz: " "$TMP/bad.err" ||
	{ cat "$TMP/bad.err"; fail "bad error line for garbage"; }
ok "errors: one line, non-zero exit"

# 6. A profile symbolized in place keeps its mode (it became 0644 through the rename).
"$CTRACE" record -q --no-symbolize -o "$TMP/mode" -e cpu -- "$SAMPLES/cpu_hot" 0.1 > /dev/null ||
	fail "record cpu_hot"
chmod 0440 "$TMP/mode/cpu.pb.gz"
"$CTRACE" symbolize "$TMP/mode" || fail "symbolize a 0440 profile"
[ "$(stat -c %a "$TMP/mode/cpu.pb.gz")" = 440 ] || fail "mode now $(stat -c %a "$TMP/mode/cpu.pb.gz")"
go tool pprof -top "$TMP/mode/cpu.pb.gz" 2> /dev/null | grep -q hot_loop || fail "0440 profile not symbolized"
ok "a profile symbolized in place keeps its mode"
