# lib.sh — helpers sourced by integration tests (CT_BUILD and CT_ROOT are set by
# tests/run-integration; running a test by hand: CT_BUILD=$PWD/build CT_ROOT=$PWD sh t.sh).
set -eu
: "${CT_BUILD:=$(pwd)/build}" "${CT_ROOT:=$(pwd)}"
CTRACE=$CT_BUILD/bin/ctrace
SAMPLES=$CT_BUILD/samples
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# Go's pprof, with its caches kept out of $HOME and no network.
export GOCACHE="$TMP/gocache" GOPATH="$TMP/gopath" HOME="${HOME:-$TMP}" GOFLAGS=-mod=mod \
	GO111MODULE=off GOPROXY=off GOTOOLCHAIN=local
pprof() { go tool pprof "$@"; }

# pprof_top FILE [pprof options] — `-top` rows as "flat% cum% function" (function may
# contain spaces, e.g. "warm_inner (inline)"); fails if pprof printed any warning.
pprof_top() {
	f=$1; shift
	go tool pprof -top -nodecount=1000 "$@" "$f" > "$TMP/top.out" 2> "$TMP/top.err" ||
		{ cat "$TMP/top.err" >&2; fail "go tool pprof failed on $f"; }
	if grep -qiE 'warn|error|fail' "$TMP/top.err"; then
		cat "$TMP/top.err" >&2
		fail "go tool pprof printed warnings for $f"
	fi
	awk '/flat%/ {on=1; next} on && NF >= 6 {
		fn=$6; for (i = 7; i <= NF; i++) fn = fn " " $i;
		gsub("%", "", $2); gsub("%", "", $5); print $2, $5, fn }' "$TMP/top.out"
}

# share TOPFILE FUNCTION flat|cum — the percentage of FUNCTION in pprof_top output
# (FUNCTION may be several words: "warm_inner (inline)", "[ctrace: lost samples]").
share() {
	awk -v fn="$2" -v col="$3" '{ name = $3; for (i = 4; i <= NF; i++) name = name " " $i }
		$3 == fn || ($3 " " $4) == fn || name == fn {
		print (col == "flat" ? $1 : $2); found=1; exit } END { if (!found) print 0 }' "$1"
}

# near VALUE TARGET TOLERANCE — true when |VALUE - TARGET| <= TOLERANCE.
near() { awk -v v="$1" -v t="$2" -v tol="$3" 'BEGIN { d = v - t; if (d < 0) d = -d; exit !(d <= tol) }'; }

# run_status CMD... — runs CMD without stopping the test when it fails; its exit status
# is left in $st.
run_status() { set +e; "$@"; st=$?; set -e; }

# nobody_workers_check PROG — records tests/progs/PROG (priv_server, cap_server: a root
# server whose 2 workers switch to nobody); fails unless each worker printed left a
# profile with handle_request ~100% and record reports no process that wrote nothing.
# Ends the test (status 0) when PROG says "skip" (not root, or no user nobody).
nobody_workers_check() {
	out=$TMP/$1
	chmod 755 "$TMP" # the workers, as nobody, must reach their folders
	"$CTRACE" record -o "$out" -- "$CT_BUILD/tests/progs/$1" > "$out.out" 2> "$out.err" ||
		{ cat "$out.err"; fail "$1: status $?"; }
	if grep -qx skip "$out.out"; then
		echo "skip: not root (or no user nobody)"
		exit 0
	fi
	for w in $(cat "$out.out"); do
		[ -s "$out/$w/cpu.pb.gz" ] || { ls -lR "$out"; cat "$out.err"; fail "$1: worker $w left no profile"; }
		pprof_top "$out/$w/cpu.pb.gz" > "$TMP/w.top"
		v=$(share "$TMP/w.top" handle_request cum)
		near "$v" 100 15 || { cat "$TMP/w.top"; fail "$1: worker $w: handle_request has $v%"; }
	done
	grep -q 'wrote nothing' "$out.err" && { cat "$out.err"; fail "$1: record reports a worker that wrote nothing"; }
	return 0
}

# expect_wakers SCHED WHAT WAITER:WAKER... — in `ctrace report --sched` output SCHED, the
# "unblocked by" line of each WAITER's longest wait names WAKER; fails (naming WHAT) if not.
expect_wakers() {
	f=$1 what=$2
	shift 2
	for pair in "$@"; do
		waiter=${pair%%:*}
		by=$(awk -v w="$waiter" '$2 == w && /\): / {on=1; next} on && /unblocked by/ {print $3; exit}
			on && /^  [0-9]+\./ {on=0}' "$f")
		[ "$by" = "${pair#*:}" ] || { cat "$f"; fail "$what: $waiter not unblocked by ${pair#*:}"; }
	done
}

# live_server_sched CTR OUT — `ctrace report --sched CTR` (a trace of tests/progs/live_server)
# into OUT; fails unless it reads, is not truncated and names the threads hot, locker and
# live_server.
live_server_sched() {
	"$CTRACE" report --sched "$1" > "$2" 2> "$2.err" || { cat "$2.err"; fail "report --sched $1"; }
	grep -q truncated "$2" && fail "$1 is truncated"
	for name in hot locker live_server; do
		grep -qE "^ +[0-9]+ +$name " "$2" || fail "$1: no thread $name"
	done
}
