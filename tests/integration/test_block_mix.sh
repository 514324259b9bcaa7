# test_block_mix — samples/block_mix (condition waits, joins, sleeps, a semaphore, an
# rwlock, a spin lock, timed locks that time out, errorcheck errors, cancellation) under `ctrace
# record`: every result, errno and timing check is the same as without ctrace, and each
# kind of wait appears in the block profile with its reason, at the right function.
# Then the agent alone with CTRACE_BLOCK_MIN_NS: waits below the threshold are dropped.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$SAMPLES/block_mix
run_bare_traced "$prog" lock,block
[ "$bare_rc" -eq 0 ] || fail "block_mix fails without ctrace: $(cat "$TMP/bare.txt")"
[ "$rc" -eq 0 ] || fail "exit status $rc under ctrace: $(grep -B1 expected "$TMP/traced.txt")"
diff "$TMP/bare.txt" "$TMP/traced.txt" >&2 || fail "output differs under ctrace"
grep -q 'mutex_timedlock: ETIMEDOUT' "$TMP/traced.txt" || fail "timed lock did not time out"
ok "results, errno values, timeouts and cancellation unchanged"

block=$TMP/out/block.pb.gz
[ -s "$block" ] || fail "block.pb.gz missing"
# reason function: the function each kind of wait must be charged to.
for pair in cond:wait_for_ready join:join_sleeper sleep:sleeper sem:sem_steps \
	rwlock:rwlock_steps spin:spin_steps mutex:timed_lock_steps; do
	reason=${pair%%:*} fn=${pair#*:}
	d=$(pprof_total "$block" delay -tagfocus "reason=$reason" -focus "^$fn\$")
	[ "$d" -gt 1000000 ] || fail "no $reason wait in $fn (delay $d ns)"
	ok "$reason waits in $fn: $d ns"
done

# The writer held the rwlock while main's rdlock waited: charged to writer().
d=$(pprof_total "$TMP/out/mutex.pb.gz" delay -focus '^writer$')
[ "$d" -gt 10000000 ] || fail "rwlock delay not charged to its holder (writer: $d ns)"
ok "rwlock holder charged: $d ns"

# Agent only (no CLI), with a threshold: no recorded wait is shorter than 15 ms.
CTRACE_OUT=$TMP/min CTRACE_MODES=block CTRACE_BLOCK_MIN_NS=15000000 \
	LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$prog" > "$TMP/min.txt"
cmp -s "$TMP/bare.txt" "$TMP/min.txt" || fail "output differs with the agent alone"
shortest=$(go tool pprof -raw "$TMP/min/block.pb.gz" 2>/dev/null | awk '
	/^Samples:/ { s = 1; next } /^Locations/ { s = 0 }
	s && $2 ~ /:$/ { v = $2; sub(/:$/, "", v); v /= $1; if (m == "" || v < m) m = v }
	END { printf "%.0f\n", m }')
[ "$shortest" -ge 15000000 ] || fail "CTRACE_BLOCK_MIN_NS=15ms kept a wait of $shortest ns"
ok "CTRACE_BLOCK_MIN_NS drops short waits (shortest kept: $shortest ns)"
