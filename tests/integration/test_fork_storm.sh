# test_fork_storm — forks taken while another thread is inside something a child needs.
# 1. A multi-threaded program whose threads walk the loaded modules (dl_iterate_phdr) while
#    its main thread forks 50 children (issue 9, defect 9). glibc does not reset
#    dl_iterate_phdr's lock in a forked child, so a child of a fork taken while a thread was
#    inside it blocks at its first dl_iterate_phdr — which the agent's hooks and collector
#    make in every child. The agent holds forks back until no thread is inside.
# 2. The collector's own libunwind calls must not cross a fork either: a fork taken while the
#    parent's collector was inside libunwind (its address space's lock, its memory pools) left
#    the lock held in the child, whose collector hung at its first libunwind-unwound sample.
#    CTRACE_UNWIND_ROWS=0 sends every sample through libunwind at 4 kHz (before the fix about
#    one run in four hung: 8 runs catch it ~9 times in 10).
# Each run has a timeout; two run at a time; none may hang or fail.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs
AGENT=$CT_BUILD/lib/libctrace.so

# storm_lane FIRST COUNT TIMEOUT TAG ENV... — runs FIRST, FIRST+2, ... up to COUNT.
storm_lane() {
	first=$1 count=$2 to=$3 tag=$4
	shift 4
	for run in $(seq "$first" 2 "$count"); do
		rc=0
		timeout "$to" env CTRACE_OUT="$TMP/$tag$run" "$@" LD_PRELOAD="$AGENT" \
			"$PROGS/fork_storm" 4 > "$TMP/$tag$run.out" 2>&1 || rc=$?
		echo "$run $rc" >> "$TMP/$tag.status.$first"
		rm -rf "$TMP/$tag$run"
		[ "$rc" -ne 0 ] || [ "$run" -eq 1 ] || rm -f "$TMP/$tag$run.out"
	done
}

# storms COUNT TIMEOUT TAG WHAT ENV... — COUNT fork storms, two at a time; fails on a hang.
storms() {
	count=$1 to=$2 tag=$3 what=$4
	shift 4
	storm_lane 1 "$count" "$to" "$tag" "$@" &
	storm_lane 2 "$count" "$to" "$tag" "$@"
	wait
	cat "$TMP/$tag.status.1" "$TMP/$tag.status.2" > "$TMP/$tag.status"
	[ "$(wc -l < "$TMP/$tag.status")" -eq "$count" ] || fail "$what: not every run finished"
	hung=$(awk '$2 == 124' "$TMP/$tag.status" | wc -l)
	[ "$hung" -eq 0 ] || fail "$what: $hung of $count runs hung"
	awk '$2 != 0 { exit 1 }' "$TMP/$tag.status" ||
		{ cat "$TMP/$tag.status" "$TMP/$tag"*.out; fail "$what: a run failed"; }
	grep -q "storm ok" "$TMP/${tag}1.out" || fail "$what: fork_storm did not say 'storm ok'"
}

storms 20 90 storm "fork storms" CTRACE_MODES=cpu,block
ok "20 fork storms of 50 children each, none hung"

storms 8 60 unw "libunwind fork storms" CTRACE_MODES=cpu CTRACE_HZ=4000 CTRACE_UNWIND_ROWS=0
ok "8 fork storms of 50 children, every sample unwound by libunwind at 4 kHz: none hung"

# 3. A fork handler that runs after the agent's (preloaded after it, as jemalloc is) and
#    waits for a contended mutex: the lock hook captured the wait's stack, and the capture
#    held itself back until the fork was done — on the forking thread (a hang every run).
rc=0
timeout -k 5 60 env CTRACE_OUT="$TMP/fl" LD_PRELOAD="$AGENT:$PROGS/libatfork_lock.so" \
	"$PROGS/fork_lock" 300 > "$TMP/fl.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && grep -qx 'forked 300' "$TMP/fl.out" ||
	fail "fork_lock: exit $rc (124, 137: hung), $(cat "$TMP/fl.out")"
ok "300 forks whose later fork handler waits for a contended mutex: none hung"
