# test_cpu_unwind — CPU samples unwound from the cached unwind rows give exactly the stacks
# libunwind gives (CTRACE_UNWIND_VERIFY=1 unwinds every such sample both ways and counts
# disagreements), on both engines and on programs that exercise the rows: three threads and
# a shared library (cpu_hot), C++ with exceptions thrown through a dlopen'ed library
# (personality and LSDA augmentations), a 300-deep recursion cut by the stack copy; nearly
# every sample takes the row path; CTRACE_UNWIND_ROWS=0 sends every sample to libunwind.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

# DIR → "rows libunwind mismatches" from cpu.pb.gz's comment
counts() {
	"$CTRACE" report "$1/cpu.pb.gz" 2>/dev/null |
		sed -n 's/.*unwound \([0-9]*\) samples from cached rows, \([0-9]*\) with libunwind.*verified: \([0-9]*\) mismatches.*/\1 \2 \3/p'
}

check() { # NAME MIN_ROWS_PERCENT
	c=$(counts "$TMP/$1")
	[ -n "$c" ] || { "$CTRACE" report "$TMP/$1/cpu.pb.gz" | head -8; fail "$1: no verified unwind counts"; }
	set -- "$1" "$2" $c
	[ "$5" -eq 0 ] || fail "$1: $5 row-unwound samples disagree with libunwind"
	[ $(($3 + $4)) -ge 20 ] || fail "$1: only $(($3 + $4)) samples"
	[ $(($3 * 100)) -ge $(($2 * ($3 + $4))) ] || fail "$1: only $3 of $(($3 + $4)) samples took the row path"
	ok "$1: $3 samples unwound from rows, $4 by libunwind, 0 disagreements"
}

for engine in perf timer; do
	CTRACE_UNWIND_VERIFY=1 "$CTRACE" record -q -o "$TMP/hot_$engine" -e cpu -F 999 \
		--sampler "$engine" -- "$SAMPLES/cpu_hot" 0.3 > /dev/null 2> "$TMP/hot_$engine.err" ||
		{ cat "$TMP/hot_$engine.err"; fail "cpu_hot ($engine) failed"; }
	check "hot_$engine" 95
done

CTRACE_UNWIND_VERIFY=1 "$CTRACE" record -q -o "$TMP/cxx" -e cpu -F 999 -- \
	"$PROGS/dlopen_cxx" "$PROGS/libthrower.so" > /dev/null 2> "$TMP/cxx.err" ||
	{ cat "$TMP/cxx.err"; fail "dlopen_cxx failed"; }
c=$(counts "$TMP/cxx")
set -- $c
[ -n "$c" ] && [ "$3" -eq 0 ] || fail "C++ exceptions: unwind disagreements ($c)"
ok "C++ exceptions through a dlopen'ed library: $1 from rows, $2 by libunwind, 0 disagreements"

CTRACE_UNWIND_VERIFY=1 "$CTRACE" record -q -o "$TMP/deep" -e cpu -F 999 -- "$PROGS/deep_stack" \
	> /dev/null 2> "$TMP/deep.err" || { cat "$TMP/deep.err"; fail "deep_stack failed"; }
check deep 90

CTRACE_UNWIND_ROWS=0 "$CTRACE" record -q -o "$TMP/lu" -e cpu -F 999 -- "$SAMPLES/cpu_hot" 0.3 \
	> /dev/null 2> "$TMP/lu.err" || { cat "$TMP/lu.err"; fail "cpu_hot (rows off) failed"; }
"$CTRACE" report "$TMP/lu/cpu.pb.gz" | grep -q 'unwound 0 samples from cached rows, [1-9][0-9]* with libunwind' ||
	fail "CTRACE_UNWIND_ROWS=0: samples still took the row path"
pprof_top "$TMP/lu/cpu.pb.gz" > "$TMP/lu.top"
v=$(share "$TMP/lu.top" hot_loop flat)
near "$v" 50 15 || fail "CTRACE_UNWIND_ROWS=0: hot_loop has $v% flat, designed 50%"
ok "CTRACE_UNWIND_ROWS=0: every sample through libunwind, hot_loop $v%"
