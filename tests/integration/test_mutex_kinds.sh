# test_mutex_kinds — samples/mutex_kinds (recursive, errorcheck, robust, priority-
# inheritance and normal mutexes, their error cases, bad time stamps and clocks, a fork
# while a thread waits) prints the same results and errno under ctrace as bare, and its
# two contended acquisitions are in the block profile.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$SAMPLES/mutex_kinds
run_bare_traced "$prog" lock,block
[ "$bare_rc" -eq 0 ] || fail "mutex_kinds fails without ctrace"
[ "$rc" -eq 0 ] || fail "exit status $rc under ctrace: $(cat "$TMP/record.err")"
grep -q EOWNERDEAD "$TMP/bare.txt" && grep -q ENOTRECOVERABLE "$TMP/bare.txt" ||
	fail "robust mutex cases did not run"
if grep -q 'errno!' "$TMP/traced.txt"; then fail "errno changed: $(grep 'errno!' "$TMP/traced.txt")"; fi
diff "$TMP/bare.txt" "$TMP/traced.txt" >&2 || fail "results differ under ctrace"
ok "results and errno of $(wc -l < "$TMP/bare.txt") calls unchanged"

# main waits ~50 ms for a normal and for a priority-inheritance mutex.
d=$(pprof_total "$TMP/out/block.pb.gz" delay -tagfocus reason=mutex -focus '^main$')
[ "$d" -gt 50000000 ] || fail "contended waits missing from the block profile ($d ns)"
ok "contended waits recorded: $d ns"

# Their holder, hold_briefly, is charged for them in the mutex profile.
h=$(pprof_total "$TMP/out/mutex.pb.gz" delay -focus '^hold_briefly$')
[ "$h" -gt 50000000 ] || fail "holder not charged in the mutex profile ($h ns)"
ok "holder charged: $h ns"
