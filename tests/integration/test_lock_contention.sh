# test_lock_contention — samples/lock_contention under `ctrace record`: the mutex profile
# blames the holder (slow_critical_section), the block profile the waiter (contended_lock),
# both totals match the wait the program measured itself (±15%), the `lock` label
# isolates the lock, and the program's output and exit status are unchanged.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$SAMPLES/lock_contention
set +e
"$prog" > "$TMP/bare.txt"; bare_rc=$?
# Every wait kept (no block sampling), so that the count comparison below is exact.
CTRACE_BLOCK_RATE=1 "$CTRACE" record -o "$TMP/out" -e lock,block -- "$prog" > "$TMP/traced.txt" \
	2> "$TMP/record.err"
rc=$?
set -e
[ "$rc" -eq "$bare_rc" ] || fail "exit status $rc under ctrace, $bare_rc bare"
grep -v measured_wait_ns "$TMP/bare.txt" > "$TMP/bare.cmp"
grep -v measured_wait_ns "$TMP/traced.txt" > "$TMP/traced.cmp"
cmp -s "$TMP/bare.cmp" "$TMP/traced.cmp" || fail "output differs under ctrace"
ok "output and exit status unchanged"

mutex=$TMP/out/mutex.pb.gz block=$TMP/out/block.pb.gz
[ -s "$mutex" ] && [ -s "$block" ] || fail "mutex.pb.gz or block.pb.gz missing"
[ ! -e "$TMP/out/cpu.pb.gz" ] || fail "cpu.pb.gz written although -e lock,block"

top=$(delay_top "$mutex")
[ "$top" = slow_critical_section ] || fail "mutex profile top is '$top', not slow_critical_section"
ok "mutex profile blames the holder: $top"
top=$(delay_top "$block" -tagfocus reason=mutex)
[ "$top" = contended_lock ] || fail "block profile top is '$top', not contended_lock"
ok "block profile blames the waiter: $top"

measured=$(sed -n 's/^measured_wait_ns=//p' "$TMP/traced.txt")
waited=$(pprof_total "$block" delay -tagfocus reason=mutex)
held=$(pprof_total "$mutex" delay)
near "$waited" "$measured" $((measured * 15 / 100)) || fail "block delay $waited ns vs measured $measured ns"
near "$held" "$measured" $((measured * 15 / 100)) || fail "mutex delay $held ns vs measured $measured ns"
ok "delay: measured $measured ns, block $waited ns, mutex $held ns"

waits=$(pprof_total "$block" count -tagfocus reason=mutex)
contentions=$(pprof_total "$mutex" count)
[ "$waits" -gt 0 ] && [ "$contentions" -le "$waits" ] ||
	fail "contentions: $contentions in the mutex profile, $waits waits in the block profile"
ok "contentions: $contentions charged to holders of $waits contended acquisitions"

lock=$(go tool pprof -raw "$mutex" 2>/dev/null | sed -n 's/.*lock:\[\(0x[0-9a-f]*\)\].*/\1/p' | head -n 1)
[ -n "$lock" ] || fail "no lock label in the mutex profile"
focused=$(pprof_total "$mutex" delay -tagfocus "lock=$lock")
[ "$focused" = "$held" ] || fail "-tagfocus lock=$lock keeps $focused of $held ns"
ok "lock label $lock isolates the global lock"

# 64 threads on one mutex: while a woken sleeper waits for a CPU, the other threads' many
# releases wake no one (the mutex word says no thread sleeps) and charge nothing — they
# each took a stack, a clock read and the wait table's lock (about one per acquisition
# before); the time still reaches the mutex profile in full, through the releases that do
# wake a sleeper.
CTRACE_BLOCK_RATE=1 CTRACE_VERBOSE=1 CTRACE_OUT="$TMP/churn" CTRACE_MODES=lock,block \
	LD_PRELOAD="$CT_BUILD/lib/libctrace.so" "$CT_BUILD/tests/progs/lock_churn" \
	> "$TMP/churn.txt" 2> "$TMP/churn.err" || fail "lock_churn failed: $(cat "$TMP/churn.err")"
acq=$(sed -n 's/^acquisitions //p' "$TMP/churn.txt")
charges=$(sed -n 's/.*hook stacks: \([0-9]*\) from the stack cache.*/\1/p' "$TMP/churn.err")
# A stack is taken by a wait (block) and by the release that ends one (mutex):
# about two per real wait. The defect this guards charged nearly every release
# (1.04M stacks for ~500 waits); how many waits are real depends on the load.
nwaits=$(pprof_total "$TMP/churn/block.pb.gz" count)
[ -n "$charges" ] && [ "$charges" -le $((3 * nwaits + 1000)) ] ||
	fail "lock_churn: ${charges:-?} stacks taken for $nwaits waits in $acq acquisitions (releases that wake no one charged)"
waited=$(pprof_total "$TMP/churn/block.pb.gz" delay)
held=$(pprof_total "$TMP/churn/mutex.pb.gz" delay)
near "$held" "$waited" $((waited / 10)) || fail "lock_churn: mutex delay $held ns, block $waited ns"
ok "lock_churn: $charges stacks for $nwaits waits in $acq acquisitions; mutex delay $held ns of block $waited ns"
