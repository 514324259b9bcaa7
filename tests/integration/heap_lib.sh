# heap_lib.sh — helpers for the heap tests (sourced after lib.sh).

# hval FILE SAMPLE_INDEX FUNCTION — FUNCTION's cumulative value in FILE for that sample
# type, in raw units (bytes or objects; 0 when absent). Fails on pprof warnings.
hval() {
	go tool pprof -top -cum -nodecount=100000 -nodefraction=0 -edgefraction=0 -unit=B \
		-sample_index="$2" "$1" > "$TMP/hval.out" 2> "$TMP/hval.err" ||
		{ cat "$TMP/hval.err" >&2; fail "go tool pprof failed on $1"; }
	if grep -qiE 'warn|error|fail' "$TMP/hval.err"; then
		cat "$TMP/hval.err" >&2
		fail "go tool pprof printed warnings for $1"
	fi
	awk -v fn="$3" '/flat%/ {on=1; next} on && NF >= 6 {
		name=$6; for (i = 7; i <= NF; i++) name = name " " $i;
		if (name == fn) { v=$4; sub("B$", "", v); print v; found=1; exit } }
		END { if (!found) print 0 }' "$TMP/hval.out"
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got $2, want $3"
}

# run_bare_and_traced NAME CMD... — runs CMD bare and under `ctrace record -e heap` at
# CTRACE_HEAP_RATE (caller's environment) into $TMP/NAME; fails unless stdout and exit
# status match. The traced stdout is $TMP/NAME.out.
run_bare_and_traced() {
	name=$1; shift
	set +e
	"$@" > "$TMP/$name.bare" 2>/dev/null
	bare_rc=$?
	"$CTRACE" record -o "$TMP/$name" -e heap -- "$@" > "$TMP/$name.out" 2> "$TMP/$name.err"
	rc=$?
	set -e
	[ "$rc" = "$bare_rc" ] || { cat "$TMP/$name.err" >&2; fail "$name: exit status $rc under ctrace, $bare_rc bare"; }
	cmp -s "$TMP/$name.bare" "$TMP/$name.out" || { diff "$TMP/$name.bare" "$TMP/$name.out" >&2; fail "$name: stdout differs under ctrace"; }
	[ -s "$TMP/$name/heap.pb.gz" ] || { cat "$TMP/$name.err" >&2; fail "$name: no heap.pb.gz"; }
	[ -s "$TMP/$name/heap-peak.pb.gz" ] || fail "$name: no heap-peak.pb.gz"
}
