# test_block_io — the file and socket hooks (agent/fdhooks.c) on tests/progs/io_waits under
# `ctrace record`: every return value, errno, short read, EINTR and EAGAIN is what the
# program gets without ctrace; the block profile has the 200 ms pipe read with reason io
# in pipe_reader, the 200 ms recv with reason net in sock_receiver, the 200 ms read(2)
# of a socket as net (the descriptor's type decides) in sock_reader, and in
# shared_flag_reader the 200 ms read of a socket made non-blocking and then blocking again
# through a dup (agent/fdnb.h: the flag is the shared description's). Then with
# CTRACE_IO_MIN_NS=0 (every call a wait) the 20000 EAGAIN reads of a non-blocking pipe
# are still not recorded, nor the 2000 calls that succeeded on non-blocking sockets
# (nonblock_sock_io: they cannot wait, so they are not timed), while the blocking ones are.
# The trace alone: of the 2000 epoll_waits that return at once (ready_polls) none is a
# wait in trace.ctr (shorter than CTRACE_IO_MIN_NS; fewer than 1000 waits in all, a margin
# for calls a loaded machine preempts), the 200 ms one of slow_poll is, under both clocks.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$CT_BUILD/tests/progs/io_waits
export IO_WAITS_TIMES="$TMP/times" # the program's own measure of each wait; the traced run's last
run_bare_traced "$prog" block,sched
[ "$bare_rc" -eq 0 ] || fail "io_waits fails without ctrace"
[ "$rc" -eq 0 ] || { cat "$TMP/record.err"; fail "exit status $rc under ctrace"; }
diff "$TMP/bare.txt" "$TMP/traced.txt" >&2 || fail "output differs under ctrace"
grep -q 'interrupted read: -1 Interrupted system call' "$TMP/traced.txt" || fail "no EINTR"
grep -q 'pipe read: 10$' "$TMP/traced.txt" || fail "short read changed"
grep -q 'nonblocking reads: 20000 EAGAIN' "$TMP/traced.txt" || fail "EAGAIN changed"
ok "return values, errno, short reads, EINTR and EAGAIN unchanged"

block=$TMP/out/block.pb.gz
[ -s "$block" ] || fail "block.pb.gz missing"
for t in io:pipe_reader net:sock_receiver net:sock_reader net:shared_flag_reader; do
	reason=${t%%:*} fn=${t#*:}
	d=$(pprof_total "$block" delay -tagfocus "reason=$reason" -focus "^$fn\$")
	# At least the writer's 200 ms (less a margin), and what the program itself measured
	# around the call (the recorded wait lies inside it; a loaded machine stretches both).
	m=$(awk -v f="$fn" '$1 == f { v = $2 } END { print v }' "$TMP/times")
	[ -n "$m" ] || fail "$fn: the program noted no time"
	[ "$d" -gt 150000000 ] && [ "$d" -le "$m" ] && [ "$d" -gt $((m * 9 / 10 - 5000000)) ] ||
		fail "$fn: $reason wait of $d ns, want ~200 ms and at most the $m ns the program measured"
	ok "$reason wait in $fn: $d ns"
done
d=$(pprof_total "$block" delay -tagfocus reason=io -focus '^sock_reader$')
[ "$d" -eq 0 ] || fail "the socket read was also recorded as io ($d ns)"

# Every call a wait by duration: the EAGAIN reads are still not waits (and every wait
# kept: CTRACE_BLOCK_RATE=1, as calls of a few microseconds are otherwise sampled).
CTRACE_OUT=$TMP/all CTRACE_MODES=block CTRACE_IO_MIN_NS=0 CTRACE_BLOCK_RATE=1 \
	LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$prog" > "$TMP/all.txt"
cmp -s "$TMP/bare.txt" "$TMP/all.txt" || fail "output differs with the agent alone"
n=$(pprof_total "$TMP/all/block.pb.gz" count -focus '^nonblock_reads$')
[ "$n" -eq 0 ] || fail "$n EAGAIN reads recorded as waits"
n=$(pprof_total "$TMP/all/block.pb.gz" count -tagfocus reason=io)
[ "$n" -gt 5 ] || fail "CTRACE_IO_MIN_NS=0: only $n io waits recorded"
ok "CTRACE_IO_MIN_NS=0: $n io calls recorded, none of the EAGAIN reads"
grep -q 'nonblocking socket calls: 2000$' "$TMP/all.txt" || fail "non-blocking socket calls failed"
n=$(pprof_total "$TMP/all/block.pb.gz" count -focus '^nonblock_sock_io$')
[ "$n" -eq 0 ] || fail "$n calls on non-blocking sockets recorded as waits"
ok "CTRACE_IO_MIN_NS=0: none of the 2000 calls on non-blocking sockets timed"

# The trace gets readiness waits that lasted, not those that returned at once — with the
# hooks' cheap clock (CTRACE_CLOCK=tsc: ticks the collector converts) and without it.
for clock in tsc monotonic; do
	d=$TMP/tr-$clock
	CTRACE_OUT=$d CTRACE_MODES=sched CTRACE_VERBOSE=1 CTRACE_CLOCK=$clock \
		LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$prog" > "$d.txt" 2> "$d.err"
	cmp -s "$TMP/bare.txt" "$d.txt" || fail "$clock: output differs with the trace alone"
	waits=$(sed -n 's/.*sched: .* \([0-9]*\) waits (.*/\1/p' "$d.err")
	[ -n "$waits" ] || { cat "$d.err"; fail "$clock: no sched: line in the agent's log"; }
	[ "$waits" -lt 1000 ] || fail "$clock: $waits waits in the trace: the 2000 ready epoll_waits were traced"
	"$CTRACE" report --trace-pprof net "$d.pb.gz" "$d" > /dev/null 2>&1 ||
		fail "$clock: report --trace-pprof net failed"
	w=$(pprof_total "$d.pb.gz" delay -focus '^slow_poll$')
	[ "$w" -gt 150000000 ] && [ "$w" -lt 400000000 ] ||
		fail "$clock: trace: slow_poll waited $w ns, want ~200 ms"
	ok "trace ($clock): $waits waits, none of the 2000 ready epoll_waits; slow_poll's $w ns net wait"
done
