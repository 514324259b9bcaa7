# test_block_futex — futex waits made through libc's syscall() (agent/futexhook.c): a Rust
# program whose std Mutex/Condvar ping-pong waits with syscall(SYS_futex, FUTEX_WAIT_BITSET)
# (tests/progs/rust/futex_pingpong.rs) runs unchanged under `ctrace record`, and its block
# profile has reason=futex waits (about half its 0.2 s of sleeps: each thread waits while
# the other sleeps) inside the Rust function wait_turn. Skipped only when rustc is absent.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$CT_BUILD/tests/progs/futex_pingpong
if ! command -v rustc > /dev/null 2>&1; then
	echo "SKIP: rustc not installed"
	exit 0
fi
[ -x "$prog" ] || fail "$prog not built"
"$CTRACE" record -o "$TMP/out" -e block -- "$prog" > "$TMP/out.txt" 2> "$TMP/record.err" ||
	{ cat "$TMP/record.err"; fail "futex_pingpong failed under ctrace"; }
grep -q '^handed over 400 times$' "$TMP/out.txt" || fail "output: $(cat "$TMP/out.txt")"
block=$TMP/out/block.pb.gz
total=$(pprof_total "$block" delay -tagfocus reason=futex)
in_fn=$(pprof_total "$block" delay -tagfocus reason=futex -focus 'futex_pingpong::wait_turn')
n=$(pprof_total "$block" count -tagfocus reason=futex)
[ "$in_fn" -gt 100000000 ] || fail "futex waits in wait_turn: $in_fn ns (all futex: $total ns)"
[ "$n" -ge 100 ] || fail "only $n futex waits recorded"
ok "$n futex waits, $in_fn ns of $total ns in wait_turn"
