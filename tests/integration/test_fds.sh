# test_fds — the agent's file descriptors are its own (issue 9, defect 1): a daemon that
# closes fds 0..1023 and reopens files, one that closes everything with a raw close_range
# and then takes every number, and programs that reuse the numbers for pipes run as they
# do without the agent, and the collector does not spin on fds it lost.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

for mode in loop raw; do
	"$PROGS/fd_daemon" "$TMP/bare-$mode.log" $mode || fail "fd_daemon $mode failed bare"
	timeout 60 "$CTRACE" record -o "$TMP/d-$mode" -- "$PROGS/fd_daemon" "$TMP/rec-$mode.log" $mode \
		2> "$TMP/d-$mode.err" || { st=$?; cat "$TMP/d-$mode.err"; fail "fd_daemon $mode: status $st"; }
	cmp "$TMP/bare-$mode.log" "$TMP/rec-$mode.log" ||
		{ od -c "$TMP/rec-$mode.log" | tail -5; fail "$mode: the daemon's log differs from a bare run"; }
	ms=$(awk -F= '/^collector_cpu_ms=/ {print $2}' "$TMP/d-$mode/summary.txt")
	[ -n "$ms" ] || fail "$mode: no collector_cpu_ms in summary.txt"
	awk -v v="$ms" 'BEGIN { exit !(v < 150) }' ||
		fail "$mode: the collector used $ms ms of CPU in a ~1 s run (spinning on lost fds?)"
	samples=$(awk -F= '/^samples=/ {print $2}' "$TMP/d-$mode/summary.txt")
	[ "$samples" -gt 10 ] || fail "$mode: only $samples CPU samples recorded"
	pprof_top "$TMP/d-$mode/mutex.pb.gz" > /dev/null
	# The streamed trace's fd is the agent's too: the file reads whole (footer and all).
	"$CTRACE" report --sched "$TMP/d-$mode" > "$TMP/d-$mode.sched" 2>&1 ||
		{ cat "$TMP/d-$mode.sched"; fail "$mode: trace.ctr does not read"; }
	! grep -q truncated "$TMP/d-$mode.sched" || fail "$mode: trace.ctr was cut"
	pprof_top "$TMP/d-$mode/heap.pb.gz" > /dev/null
	ok "fd_daemon ($mode): log byte-identical, collector ${ms} ms CPU, $samples samples"
done

# A daemon that keeps taking the agent's fds while threads come and go (fd_churn): every
# round it closes every fd above 3 with a raw close_range and dup2()s its log onto the
# agent's range, 1900..2199. The agent must never write into the log (wake-up bytes, a trace
# chunk: it took the program's file for its own), never make the program's dup2 fail
# (EBUSY while it copied a reopened fd to that number: exit status 6), and its collector
# must not spin. Three runs: before the fix each run failed 1 time in 6 (and 5 in 8 with
# the collector asleep on its wake-up pipe alone).
"$PROGS/fd_churn" "$TMP/churn-bare.log" || fail "fd_churn failed bare"
for i in 1 2 3; do
	timeout 60 "$CTRACE" record -o "$TMP/c$i" -- "$PROGS/fd_churn" "$TMP/churn$i.log" \
		2> "$TMP/c$i.err" || { st=$?; cat "$TMP/c$i.err"; fail "fd_churn run $i: status $st"; }
	cmp "$TMP/churn-bare.log" "$TMP/churn$i.log" ||
		{ od -c "$TMP/churn$i.log" | head -20; fail "fd_churn run $i: the log differs from a bare run"; }
	ms=$(awk -F= '/^collector_cpu_ms=/ {print $2}' "$TMP/c$i/summary.txt")
	awk -v v="${ms:-999}" 'BEGIN { exit !(v < 150) }' ||
		fail "fd_churn run $i: the collector used ${ms:-?} ms of CPU in a ~1 s run (spinning?)"
	"$CTRACE" report --sched "$TMP/c$i" > "$TMP/c$i.sched" 2>&1 ||
		{ cat "$TMP/c$i.sched"; fail "fd_churn run $i: trace.ctr does not read"; }
done
ok "fd_churn: 3 runs, the log byte-identical, every dup2 onto the agent's range done, collector ${ms} ms CPU"

# The agent's own files are open before main runs, and before a forked child's code runs
# (ct_collector_sync): none of them is at a low number then, where a daemon that closes
# everything and reopens /dev/null expects its own (fd_daemon exited 3 about 1 run in 50).
for arg in "" fork; do
	who=${arg:+child}
	who=${who:-main}
	# shellcheck disable=SC2086
	"$PROGS/start_files" $arg > "$TMP/sf-bare.out" || fail "start_files $arg failed bare"
	# shellcheck disable=SC2086
	CTRACE_OUT=$TMP/sf-$who LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$PROGS/start_files" $arg \
		> "$TMP/sf.out" || fail "start_files $arg failed under the agent"
	grep -q "^$who trace_open 1$" "$TMP/sf.out" ||
		{ cat "$TMP/sf.out"; fail "$who: trace.ctr not yet open when the program's code ran"; }
	[ "$(grep low_fds "$TMP/sf.out")" = "$(grep low_fds "$TMP/sf-bare.out")" ] ||
		{ cat "$TMP/sf-bare.out" "$TMP/sf.out"; fail "$who: the agent holds a low fd when the program's code runs"; }
done
ok "the agent's files are open, high, before main and a forked child's code run"

timeout 60 "$CTRACE" record -o "$TMP/p" -- "$PROGS/pipe_steal" > "$TMP/p.out" 2> "$TMP/p.err" ||
	{ st=$?; cat "$TMP/p.err"; fail "pipe_steal: status $st (124: it hung)"; }
grep -q "pipes ok" "$TMP/p.out" || fail "pipe_steal: pipes corrupted"
timeout 60 "$CTRACE" record -o "$TMP/pr" -- "$PROGS/pipe_steal" raw 2> "$TMP/pr.err" ||
	{ st=$?; cat "$TMP/pr.err"; fail "pipe_steal raw: status $st (124: it hung)"; }
ok "programs that reuse the agent's fd numbers for pipes finish with their data intact"

# The live server's sockets are the agent's too: after the daemon closed every low fd and
# dup2()ed over the high ones (loop), or closed everything with a raw close_range and took
# the numbers (raw), /debug/pprof still answers (the lost listener is made again on the same
# address) and the daemon's log is byte-identical to a bare run's.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for mode in loop raw; do
	"$PROGS/fd_daemon" "$TMP/hbare-$mode.log" $mode 100 || fail "fd_daemon $mode 100 failed bare"
	if [ $mode = loop ]; then
		ADDR=unix:$TMP/h-$mode.sock CURL="--unix-socket $TMP/h-$mode.sock" BASE=http://x
	else
		PORT=$(free_port)
		ADDR=127.0.0.1:$PORT CURL= BASE=http://127.0.0.1:$PORT
	fi
	CTRACE_HTTP=$ADDR CTRACE_OUT=$TMP/h-$mode LD_PRELOAD=$CT_BUILD/lib/libctrace.so \
		"$PROGS/fd_daemon" "$TMP/h-$mode.log" $mode 100 &
	DPID=$!
	for i in $(seq 1 100); do
		grep -q 'daemon line 5$' "$TMP/h-$mode.log" 2> /dev/null && break
		sleep 0.05
	done
	got=
	for i in $(seq 1 60); do
		# shellcheck disable=SC2086
		if curl -s --max-time 2 $CURL "$BASE/debug/pprof/cmdline" | tr '\0' ' ' | grep -q "fd_daemon $TMP/h-$mode.log"; then
			got=1
			break
		fi
		sleep 0.1
	done
	wait $DPID || fail "fd_daemon $mode under the live server: status $?"
	[ -n "$got" ] || fail "$mode: the live server did not answer after the daemon's fd games"
	cmp "$TMP/hbare-$mode.log" "$TMP/h-$mode.log" || fail "$mode: the log differs with the live server"
	ok "fd_daemon ($mode) with CTRACE_HTTP=$ADDR: the server answers after the fd games, the log is unchanged"
done

# Requests while the program dup2()s its own socket over the agent's range, round after
# round (fd_daemon sock): the server's sockets move away at each dup2 onto their number,
# and a send, receive or accept made on a number checked before the move would reach the
# program's socket — its peer would read the agent's reply (exit status 7). Each of those
# system calls holds its number pinned now (agent/http.c). Before, 2 daemon runs in 3 failed
# (and this test, with three, in 2 tries of 2). And requests are not held up for long.
"$PROGS/fd_daemon" "$TMP/sbare.log" sock 150 || fail "fd_daemon sock failed bare"
for run in 1 2 3; do
	CTRACE_HTTP=unix:$TMP/s$run.sock CTRACE_OUT=$TMP/s$run LD_PRELOAD=$CT_BUILD/lib/libctrace.so \
		"$PROGS/fd_daemon" "$TMP/s$run.log" sock 150 &
	DPID=$!
	for i in $(seq 1 100); do
		[ -S "$TMP/s$run.sock" ] && break
		sleep 0.05
	done
	answered=0 slow=0
	while kill -0 $DPID 2> /dev/null; do
		for u in cmdline heap symbol 'goroutine?debug=1'; do
			r=$(curl -s --max-time 6 --unix-socket "$TMP/s$run.sock" -o /dev/null \
				-w '%{http_code} %{time_total}' "http://x/debug/pprof/$u") || true
			# Only answered ones: the last request may meet the daemon's exit.
			[ "${r% *}" = 200 ] || continue
			answered=$((answered + 1))
			awk -v t="${r#* }" 'BEGIN { exit !(t > 0.5) }' && slow=$((slow + 1))
		done
	done
	st=0
	wait $DPID || st=$?
	[ $st -eq 0 ] || { tail -2 "$TMP/s$run.log"; fail "fd_daemon sock run $run: status $st"; }
	cmp "$TMP/sbare.log" "$TMP/s$run.log" || fail "fd_daemon sock run $run: the log differs"
	[ $answered -ge 5 ] || fail "fd_daemon sock run $run: only $answered requests answered"
	# A poll on a number the program took over waits on the program's file: while our fds
	# move, the server's polls last 10 ms (agent/http.c). Only the first move, during a
	# poll of the idle 1 s, may hold a request that long (before: one in ~8, 1 s each).
	[ $slow -le 2 ] || fail "fd_daemon sock run $run: $slow of $answered requests took over 0.5 s"
	echo "fd_daemon sock run $run: $answered requests answered, $slow over 0.5 s"
done
ok "fd_daemon (sock): requests answered while the program dup2()s its socket over the agent's, none of the replies at the program's socket"

# A small RLIMIT_NOFILE: the agent's share of it is said (summary.txt's warning), and when
# the program took every fd, leaving the agent none to write with, record names that cause.
cat > "$TMP/fill.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
int main(void)
{
	int n = 0;
	while (open("/dev/null", O_RDONLY) >= 0)
		n++;
	printf("opened %d\n", n);
	return 0;
}
C
${CC:-cc} -O1 -o "$TMP/fill" "$TMP/fill.c" || fail "cannot build fill"
(ulimit -n 16 && exec "$CTRACE" record -q -o "$TMP/nofile16" -- "$TMP/fill") > /dev/null 2>&1 || true
grep -q '^warning=.*RLIMIT_NOFILE is 16: the agent held [0-9]* of those file descriptors' \
	"$TMP/nofile16/summary.txt" || fail "RLIMIT_NOFILE 16: no warning: $(grep warning "$TMP/nofile16/summary.txt")"
(ulimit -n 8 && exec "$CTRACE" record -o "$TMP/nofile8" -- "$TMP/fill") > /dev/null 2> "$TMP/nofile8.err" || true
if [ ! -s "$TMP/nofile8/summary.txt" ]; then
	grep -q 'did it use every file descriptor its RLIMIT_NOFILE of 8 allows' "$TMP/nofile8.err" ||
		fail "RLIMIT_NOFILE 8, no summary: the cause not named: $(cat "$TMP/nofile8.err")"
fi
ok "a small RLIMIT_NOFILE: the agent's share said; no summary for want of fds named as a cause"
# A program that ends with every fd taken (an fd leak): the agent kept one for its exit,
# so every profile is written (before: "cannot write cpu.pb.gz: Too many open files", for
# each, and only the trace and summary.txt, written once the trace's fd closed).
(ulimit -n 256 && exec "$CTRACE" record -q -o "$TMP/full" -- "$TMP/fill") > /dev/null 2>&1 ||
	fail "fill, RLIMIT_NOFILE 256: record failed"
! grep '^error=' "$TMP/full/summary.txt" || fail "fill: files the agent could not write"
for f in cpu heap heap-peak mutex block; do
	[ -s "$TMP/full/$f.pb.gz" ] || fail "fill: no $f.pb.gz"
done
ok "a program that ends with its fd table full: every profile written"
