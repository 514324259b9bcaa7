# lockprof.sh — helpers for the lock/block profile tests (sourced after lib.sh).

# pprof_total FILE count|delay [PPROF OPTIONS...] — the sum of one sample value over the
# samples pprof keeps (e.g. with -tagfocus), from `go tool pprof -raw`.
pprof_total() {
	f=$1; col=$2; shift 2
	go tool pprof -raw "$@" "$f" 2>/dev/null | awk -v col="$col" '
		/^Samples:/ { s = 1; next }
		/^Locations/ { s = 0 }
		s && $2 ~ /:$/ { v = col == "count" ? $1 : $2; sub(/:$/, "", v); n += v }
		END { printf "%.0f\n", n }'
}

# delay_top FILE [PPROF OPTIONS...] — the function with the most flat delay.
delay_top() {
	pprof_top "$@" -sample_index=delay | head -n 1 | cut -d' ' -f3-
}

# run_bare_traced PROG EVENTS — runs PROG bare (stdout in $TMP/bare.txt, status in
# $bare_rc), then under `ctrace record -o $TMP/out -e EVENTS` (stdout in $TMP/traced.txt,
# stderr in $TMP/record.err, status in $rc), without stopping the test when either fails.
run_bare_traced() {
	set +e
	"$1" > "$TMP/bare.txt"; bare_rc=$?
	"$CTRACE" record -o "$TMP/out" -e "$2" -- "$1" > "$TMP/traced.txt" 2> "$TMP/record.err"
	rc=$?
	set -e
}
