# test_fork_storm — a multi-threaded program whose threads walk the loaded modules
# (dl_iterate_phdr) while its main thread forks 50 children (issue 9, defect 9). glibc does
# not reset dl_iterate_phdr's lock in a forked child, so a child of a fork taken while a
# thread was inside it blocks at its first dl_iterate_phdr — which the agent's hooks and
# collector make in every child. The agent holds forks back until no thread is inside.
# Run 20 times (two at a time, 4 threads each), each with a timeout: none may hang.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs
AGENT=$CT_BUILD/lib/libctrace.so

lane() {
	for run in $(seq "$1" 2 20); do
		rc=0
		timeout 90 env CTRACE_OUT="$TMP/storm$run" CTRACE_MODES=cpu,block LD_PRELOAD="$AGENT" \
			"$PROGS/fork_storm" 4 > "$TMP/storm$run.out" 2>&1 || rc=$?
		echo "$run $rc" >> "$TMP/status.$1"
		rm -rf "$TMP/storm$run"
		[ "$rc" -ne 0 ] || rm -f "$TMP/storm$run.out"
	done
}
lane 1 &
lane 2
wait
cat "$TMP/status.1" "$TMP/status.2" > "$TMP/status"
[ "$(wc -l < "$TMP/status")" -eq 20 ] || fail "not every run finished"
hung=$(awk '$2 == 124' "$TMP/status" | wc -l)
[ "$hung" -eq 0 ] || fail "$hung of 20 fork storms hung"
awk '$2 != 0 { exit 1 }' "$TMP/status" || { cat "$TMP/status" "$TMP"/storm*.out; fail "a fork storm failed"; }
ok "20 fork storms of 50 children each, none hung"
