# test_live — live profiles over Go's /debug/pprof protocol (docs/live.md), with the real
# `go tool pprof` as client against tests/progs/live_server under `ctrace record --http`:
# the CPU profile of the next 2 s names the hot function, the mutex delta names the lock's
# holder, the heap names the live allocation site, goroutine?debug=1 lists every thread
# with its stack (the agent's frames left out), /symbol names an address, a second concurrent CPU profile gets Go's
# error, malformed/huge/slow/unknown requests get 400/431/a closed connection/404 while the
# program's output stays the same; a unix socket is 0600; a port in use is reported and
# the recording goes on; the signal that captures the stacks is invisible to the program's
# sigaction and gives way when the program takes it (tests/progs/live_sigs). Only loopback
# and unix addresses; every wait is bounded.
. "$(dirname "$0")/lib.sh"
PROG=$CT_BUILD/tests/progs/live_server
export PPROF_TMPDIR="$TMP/pprof"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { # URL [curl options]
	url=$1; shift
	for i in $(seq 1 100); do
		curl -s -o /dev/null "$@" "$url" && return 0
		sleep 0.1
	done
	fail "server at $url never answered"
}
# announced_port ERRFILE — the port `record --http 127.0.0.1:0` printed in ERRFILE (waits
# up to 10 s for the line), or nothing.
announced_port() {
	for i in $(seq 1 100); do
		grep -q 'serving http://127.0.0.1:[0-9]*/' "$1" && break
		sleep 0.1
	done
	sed -n 's|.*serving http://127.0.0.1:\([0-9]*\)/debug/pprof/.*|\1|p' "$1"
}
# raw_request PORT BYTES — sends BYTES (printf format) and prints the reply (5 s bound).
raw_request() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=8)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
except socket.timeout:
    out += b"<timeout>"
sys.stdout.write(out.decode("latin-1"))
PY
}

PORT=$(free_port)
URL=http://127.0.0.1:$PORT/debug/pprof
"$CTRACE" record -o "$TMP/rec" --http "127.0.0.1:$PORT" -- "$PROG" 90 "$TMP/stop" > "$TMP/prog.out" 2> "$TMP/rec.err" &
REC=$!
wait_up "$URL/"
grep -q "serving http://127.0.0.1:$PORT/debug/pprof/" "$TMP/rec.err" || fail "record did not print the URL"

# CPU (2 s) and the mutex delta (2 s) at once; a second CPU profile meanwhile is refused.
go tool pprof -raw "$URL/profile?seconds=2" > "$TMP/cpu.raw" 2> "$TMP/cpu.err" &
CPU=$!
go tool pprof -top -sample_index=delay "$URL/mutex?seconds=2" > "$TMP/mutex.top" 2> "$TMP/mutex.err" &
MUTEX=$!
sleep 0.5
curl -s -D "$TMP/busy.head" "$URL/profile?seconds=1" > "$TMP/busy.body"
grep -q '^HTTP/1.1 500' "$TMP/busy.head" || fail "second CPU profile: not 500"
grep -qi '^X-Go-Pprof: 1' "$TMP/busy.head" || fail "second CPU profile: no X-Go-Pprof"
grep -qx 'Could not enable CPU profiling: cpu profiling already in use' "$TMP/busy.body" ||
	fail "second CPU profile: not Go's text: $(cat "$TMP/busy.body")"
ok "a second concurrent CPU profile gets Go's 500 text"
wait $CPU || { cat "$TMP/cpu.err"; fail "go tool pprof -raw /profile failed"; }
wait $MUTEX || { cat "$TMP/mutex.err"; fail "go tool pprof /mutex?seconds=2 failed"; }
grep -q 'live_hot_spin' "$TMP/cpu.raw" || { head -40 "$TMP/cpu.raw"; fail "CPU profile does not name live_hot_spin"; }
grep -q '^Duration: 2s' "$TMP/cpu.raw" || fail "CPU profile is not 2 s long"
grep -q 'thread:\[hot\]' "$TMP/cpu.raw" || fail "CPU samples lack the thread label"
# Its comments count its own samples, not the run's so far (they once said "1973 samples"
# over 106).
n=$(sed -n 's/^Comment: ctrace: \([0-9]*\) samples in these 2 s$/\1/p' "$TMP/cpu.raw")
sum=$(awk '/^samples\/count/ {on=1; next} /^Locations/ {on=0} on && $2 ~ /:$/ {t += $1} END {print t + 0}' "$TMP/cpu.raw")
[ -n "$n" ] && [ "$n" = "$sum" ] || { grep Comment "$TMP/cpu.raw"; fail "CPU profile says '$n' samples, holds $sum"; }
! grep -q '^Comment: ctrace: unwound' "$TMP/cpu.raw" || fail "CPU profile: the run's unwind counts as its comment"
ok "go tool pprof -raw /profile?seconds=2 names the hot function; its comment counts its $sum samples"
awk '/flat%/ {on=1; next} on && NR > 0 {print; exit}' "$TMP/mutex.top" | grep -q live_lock_holder ||
	{ cat "$TMP/mutex.top"; fail "mutex delay's top entry is not the holder live_lock_holder"; }
ok "mutex?seconds=2 -sample_index=delay: the holder live_lock_holder on top"

go tool pprof -top -sample_index=inuse_space "$URL/heap" > "$TMP/heap.top" 2> "$TMP/heap.err" ||
	{ cat "$TMP/heap.err"; fail "go tool pprof /heap failed"; }
awk '/flat%/ {on=1; next} on {print; exit}' "$TMP/heap.top" | grep -q live_keep_alloc ||
	{ cat "$TMP/heap.top"; fail "heap inuse_space top entry is not live_keep_alloc"; }
curl -s -D "$TMP/heap.head" -o "$TMP/heap.pb.gz" "$URL/heap"
grep -qi '^Content-Type: application/octet-stream' "$TMP/heap.head" || fail "heap: content type"
grep -qi '^Content-Disposition: attachment; filename="heap"' "$TMP/heap.head" || fail "heap: disposition"
ok "/heap names the live allocation site, as an attachment"

# ?debug=1: Go's legacy text formats, which go tool pprof reads (they were a text of
# ctrace's own it rejected as "malformed profile format").
for n in heap mutex block; do
	curl -s "$URL/$n?debug=1" > "$TMP/$n.txt"
	go tool pprof -raw "$TMP/$n.txt" > "$TMP/$n.txt.raw" 2> "$TMP/$n.txt.err" ||
		{ head -5 "$TMP/$n.txt"; cat "$TMP/$n.txt.err"; fail "$n?debug=1: go tool pprof cannot read it"; }
	grep -q '^ *[0-9]* *[0-9]*: [0-9]' "$TMP/$n.txt.raw" || { cat "$TMP/$n.txt.raw"; fail "$n?debug=1: no samples read"; }
done
grep -q '^heap profile: [0-9]*: [0-9]* \[[0-9]*: [0-9]*\] @ heap/1$' "$TMP/heap.txt" || fail "heap?debug=1: header"
grep -q '^#	0x[0-9a-f]*	live_keep_alloc' "$TMP/heap.txt" || fail "heap?debug=1: frames not named"
head -2 "$TMP/block.txt" | tr '\n' ' ' | grep -q '^--- contention: cycles/second=1000000000 ' || fail "block?debug=1: header"
ok "heap, mutex and block ?debug=1: Go's legacy text, read by go tool pprof"
# The index's Count column, as Go's: the records of each profile now (live_server: main
# and three threads).
curl -s "$URL/" > "$TMP/index.html"
grep -q "<tr><td>4</td><td><a href='goroutine?debug=1'>goroutine</a>" "$TMP/index.html" &&
	grep -q "<tr><td>[1-9][0-9]*</td><td><a href='heap?debug=1'>heap</a>" "$TMP/index.html" ||
	{ cat "$TMP/index.html"; fail "index: no counts"; }
ok "the index counts each profile's records"

curl -s -D "$TMP/allocs.head" -o /dev/null "$URL/allocs?seconds=1"
grep -qi 'filename="allocs-delta"' "$TMP/allocs.head" || fail "allocs?seconds=1: not allocs-delta"
ok "?seconds=N deltas are named <name>-delta"

curl -s "$URL/goroutine?debug=1" > "$TMP/gor.txt"
grep -q '^goroutine profile: total 4$' "$TMP/gor.txt" || { cat "$TMP/gor.txt"; fail "goroutine: not 4 threads"; }
for name in live_server hot locker; do
	grep -q "# labels: {\"thread\":\"$name\"" "$TMP/gor.txt" || fail "goroutine: thread $name missing"
done
[ "$(grep -c '"thread":"locker"' "$TMP/gor.txt")" = 2 ] || fail "goroutine: not two lockers"
grep -q 'live_hot_spin' "$TMP/gor.txt" || fail "goroutine: the hot thread's stack lacks live_hot_spin"
grep -q 'main+0x' "$TMP/gor.txt" || fail "goroutine: the main thread's stack lacks main"
grep -qE '	(lk_|ct_|trampoline)[a-z_]*\+0x' "$TMP/gor.txt" && fail "goroutine: the agent's own frames are listed"
curl -s "$URL/goroutine?debug=2" | grep -q '^thread [0-9]* "hot" \[' || fail "goroutine?debug=2: no hot thread block"
go tool pprof -traces "$URL/goroutine" > "$TMP/gor.traces" 2>&1 || fail "go tool pprof /goroutine failed"
grep -q live_lock_holder "$TMP/gor.traces" || fail "goroutine profile lacks live_lock_holder"
ok "goroutine lists every program thread with its stack (debug=1, debug=2, proto)"

# A trace of the next second, complete; a second trace meanwhile is refused like Go's.
# seconds=0x2 is no number to Go's ParseFloat (hex wants an exponent): 1 s, as absent.
curl -s -D "$TMP/trace.head" -o "$TMP/win.ctr" "$URL/trace?seconds=0x2" &
TRACE=$!
sleep 0.3
curl -s -D "$TMP/busyt.head" "$URL/trace?seconds=1" > "$TMP/busyt.body"
grep -q '^HTTP/1.1 500' "$TMP/busyt.head" &&
	grep -qx 'Could not enable tracing: tracing is already enabled' "$TMP/busyt.body" ||
	fail "second trace: not Go's 500: $(cat "$TMP/busyt.body")"
wait $TRACE || fail "curl /trace failed"
grep -qi '^Content-Disposition: attachment; filename="trace"' "$TMP/trace.head" || fail "trace: disposition"
grep -qi '^Content-Type: application/octet-stream' "$TMP/trace.head" || fail "trace: content type"
live_server_sched "$TMP/win.ctr" "$TMP/win.sched"
span=$(sed -n 's/^trace: .*; engine [a-z]*; \([0-9.]*\)\(m*\)s; .*/\1 \2/p' "$TMP/win.sched")
awk -v s="$span" 'BEGIN { split(s, a, " "); v = a[2] == "m" ? a[1] / 1000 : a[1]; exit !(v >= 0.9 && v < 1.6) }' ||
	fail "served trace spans '$span' s, not ~1 s"
grep -q live_lock_holder "$TMP/win.sched" || fail "served trace: no wait stack names live_lock_holder"
"$CTRACE" report --timeline "$TMP/win.html" "$TMP/win.ctr" 2> "$TMP/win.err" || fail "report --timeline on the served trace"
ok "/trace?seconds=0x2 (1 s, as Go): a complete trace.ctr of the next second (report --sched, --timeline); a second one gets Go's 500"

addr=$(awk -F'\t' '$3 ~ /^live_hot_spin\+/ {print $2; exit}' "$TMP/gor.txt")
[ -n "$addr" ] || fail "no live_hot_spin address to ask /symbol about"
curl -s "$URL/symbol" | grep -qx 'num_symbols: 1' || fail "GET /symbol"
curl -s --data "$addr+0x1" "$URL/symbol" | grep -qx "$addr live_hot_spin" || fail "POST /symbol $addr"
curl -s "$URL/cmdline" | tr '\0' ' ' | grep -q "live_server 90 $TMP/stop" || fail "cmdline"
raw_request "$PORT" 'HEAD /debug/pprof/cmdline HTTP/1.1\r\n\r\n' > "$TMP/head.out"
grep -q '^HTTP/1.1 200' "$TMP/head.out" && grep -q '^Content-Length: [1-9]' "$TMP/head.out" ||
	fail "HEAD /cmdline: $(head -3 "$TMP/head.out")"
[ "$(tail -c 4 "$TMP/head.out" | od -An -tx1 | tr -d ' \n')" = 0d0a0d0a ] ||
	fail "HEAD /cmdline: a body after the headers"
ok "/symbol (GET, POST), /cmdline, HEAD without a body"

# Abuse: none of it may disturb the program.
raw_request "$PORT" 'GARBAGE\r\n\r\n' | head -1 | grep -q '^HTTP/1.1 400' || fail "malformed: not 400"
raw_request "$PORT" 'GET /debug/pprof/ HTTP/1.1\nHost: x\n\n' | head -1 | grep -q '^HTTP/1.1 400' || fail "bare LF: not 400"
big=$(head -c 9000 /dev/zero | tr '\0' a)
raw_request "$PORT" "GET /debug/pprof/ HTTP/1.1\\r\\nX: $big\\r\\n\\r\\n" | head -1 | grep -q '^HTTP/1.1 431' ||
	fail "huge header: not 431"
raw_request "$PORT" 'GET /debug/pprof/heap?seconds=x HTTP/1.1\r\n\r\n' > "$TMP/bad.out"
grep -q '^HTTP/1.1 400' "$TMP/bad.out" && grep -q 'invalid value for "seconds" - must be a positive integer' "$TMP/bad.out" ||
	fail "seconds=x: not Go's 400"
raw_request "$PORT" 'GET /debug/pprof/nosuch HTTP/1.1\r\n\r\n' > "$TMP/nf.out"
grep -q '^HTTP/1.1 404' "$TMP/nf.out" && grep -q '^Unknown profile' "$TMP/nf.out" || fail "unknown profile: not 404"
# A client that never finishes its head is cut off after the 5 s header timeout.
python3 - "$PORT" > "$TMP/slow.out" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=9)
t = time.time()
s.sendall(b"GET /debug/pp")
try:
    got = s.recv(100)
    print("closed" if not got else "answered", round(time.time() - t))
except socket.timeout:
    print("timeout")
PY
read what took < "$TMP/slow.out"
[ "$what" = closed ] && [ "$took" -ge 4 ] && [ "$took" -le 7 ] ||
	fail "slow client: $(cat "$TMP/slow.out"), wanted closed after ~5 s"
curl -s "$URL/" | grep -q '<title>/debug/pprof/</title>' || fail "index after abuse"
ok "malformed 400, bare LF 400, huge header 431, bad seconds 400, unknown 404, slow client closed"

touch "$TMP/stop"
wait $REC || fail "record exited non-zero"
[ "$(cat "$TMP/prog.out")" = "live_server: done, kept blocks" ] || fail "program output changed: $(cat "$TMP/prog.out")"
grep -q "^http=serving http://127.0.0.1:$PORT/debug/pprof/" "$TMP/rec/summary.txt" || fail "summary lacks http="
[ -s "$TMP/rec/cpu.pb.gz" ] || fail "no cpu.pb.gz at exit"
ok "program output unchanged; files written at exit as usual"

# Unix socket, mode 0600; removed at exit.
SOCK=$TMP/pprof.sock
CTRACE_HTTP=unix:$SOCK CTRACE_OUT=$TMP/unix LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$PROG" 3 > "$TMP/unix.out" &
UPID=$!
wait_up http://x/debug/pprof/ --unix-socket "$SOCK"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "unix socket mode $(stat -c %a "$SOCK")"
curl -s --unix-socket "$SOCK" "http://x/debug/pprof/goroutine?debug=1" | grep -q '"thread":"hot"' || fail "unix socket: goroutine"
wait $UPID
[ ! -e "$SOCK" ] || fail "unix socket left behind"
ok "unix socket: 0600, serves, removed at exit"

# A unix socket another server listens on is refused, and left to it; a stale one (its
# server gone) is replaced.
SOCKL=$TMP/other.sock
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4); time.sleep(20)' "$SOCKL" &
OTHER=$!
for i in $(seq 1 100); do [ -S "$SOCKL" ] && break; sleep 0.05; done
CTRACE_HTTP=unix:$SOCKL CTRACE_OUT=$TMP/otherout LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$PROG" 0.2 > /dev/null
grep -q "^http=not serving unix:$SOCKL: Address already in use" "$TMP/otherout/summary.txt" ||
	{ kill $OTHER; fail "a live unix socket: $(grep http "$TMP/otherout/summary.txt")"; }
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$SOCKL" ||
	{ kill $OTHER; fail "the other server's unix socket was taken or removed"; }
# ctrace record says so once (as the agent starts), not again with the summary.
"$CT_BUILD/bin/ctrace" record -o "$TMP/otherrec" --http "unix:$SOCKL" -- "$PROG" 0.2 \
	> /dev/null 2> "$TMP/otherrec.err"
[ "$(grep -c 'not serving' "$TMP/otherrec.err")" = 1 ] ||
	{ kill $OTHER; fail "record: not one 'not serving' line: $(cat "$TMP/otherrec.err")"; }
kill $OTHER
wait $OTHER 2>/dev/null || true
CTRACE_HTTP=unix:$SOCKL CTRACE_OUT=$TMP/staleout LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$PROG" 0.2 > /dev/null
grep -q "^http=serving unix:$SOCKL" "$TMP/staleout/summary.txt" || fail "a stale unix socket not replaced"
ok "unix socket: one a server listens on is refused and left alone; a stale one is replaced"

# The capture signal is hidden from the program's sigaction, and moves when it takes it.
SYNC=$TMP/sigs
mkdir -p "$SYNC"
SOCK2=$TMP/sigs.sock
CTRACE_HTTP=unix:$SOCK2 CTRACE_OUT=$TMP/sigsout LD_PRELOAD=$CT_BUILD/lib/libctrace.so \
	"$CT_BUILD/tests/progs/live_sigs" "$SYNC" > "$TMP/sigs.out" &
SPID=$!
wait_up http://x/debug/pprof/ --unix-socket "$SOCK2"
curl -s --unix-socket "$SOCK2" "http://x/debug/pprof/goroutine?debug=1" > "$TMP/sigs1.txt"
grep -q 'sigs_worker_wait' "$TMP/sigs1.txt" || { cat "$TMP/sigs1.txt"; fail "live_sigs: no worker stack"; }
touch "$SYNC/go1"
for i in $(seq 1 100); do [ -e "$SYNC/ready2" ] && break; sleep 0.05; done
curl -s --unix-socket "$SOCK2" "http://x/debug/pprof/goroutine?debug=1" > "$TMP/sigs2.txt"
touch "$SYNC/go2"
wait $SPID || fail "live_sigs exited non-zero"
grep -qx 'real-time signals with an action: 0' "$TMP/sigs.out" ||
	fail "the capture signal shows in the program's sigaction: $(cat "$TMP/sigs.out")"
grep -qx 'own handler calls: 4' "$TMP/sigs.out" || fail "the program's handlers: $(cat "$TMP/sigs.out")"
grep -qx 'own handler calls at the end: 4' "$TMP/sigs.out" ||
	fail "a capture reached the program's handler: $(cat "$TMP/sigs.out")"
grep -q 'sigs_worker_wait' "$TMP/sigs2.txt" || { cat "$TMP/sigs2.txt"; fail "no stacks after the program took the signal"; }
ok "the capture signal: hidden from sigaction, the program's own handler gets its signals, captures move on"

# Stack dumps leave sleeping threads and threads that block every signal alone
# (tests/progs/live_quiet.c): their calls run their full time, no signal is left pending,
# and their stacks come from the wait registry or, for an unhooked raw syscall, from
# /proc/self/task/TID/syscall with the stack copied while the thread sleeps.
SOCKQ=$TMP/quiet.sock
CTRACE_HTTP=unix:$SOCKQ CTRACE_OUT=$TMP/quietout LD_PRELOAD=$CT_BUILD/lib/libctrace.so \
	"$CT_BUILD/tests/progs/live_quiet" 3 > "$TMP/quiet.out" &
QPID=$!
wait_up http://x/debug/pprof/ --unix-socket "$SOCKQ"
sleep 0.3 # every thread asleep
curl -s --unix-socket "$SOCKQ" "http://x/debug/pprof/goroutine?debug=1" > "$TMP/quiet1.txt"
curl -s --unix-socket "$SOCKQ" "http://x/debug/pprof/goroutine?debug=2" > "$TMP/quiet2.txt"
curl -s --unix-socket "$SOCKQ" -o "$TMP/quiet.pb.gz" "http://x/debug/pprof/goroutine"
curl -s --unix-socket "$SOCKQ" -o "$TMP/quiettc.pb.gz" "http://x/debug/pprof/threadcreate"
wait $QPID || fail "live_quiet exited non-zero"
for line in 'nanosleep ok' 'poll ok' 'epoll_wait ok' 'raw nanosleep ok' 'no signal'; do
	grep -qx "$line" "$TMP/quiet.out" || fail "live_quiet disturbed by stack dumps: $(cat "$TMP/quiet.out")"
done
for fn in quiet_nanosleep quiet_poll quiet_epoll quiet_raw_sleep 'main+'; do
	grep -q "	$fn" "$TMP/quiet1.txt" || { cat "$TMP/quiet1.txt"; fail "goroutine: no $fn in a sleeping thread's stack"; }
done
grep -q '^thread [0-9]* "live_quiet" \[sleeping\]' "$TMP/quiet2.txt" || fail "goroutine?debug=2: no sleeping thread"
ok "stack dumps: sleeping and signal-blocking threads undisturbed, stacks read without a signal"

# C++ names are served demangled (the mangled symbol kept as the function's system name).
SOCK3=$TMP/cxx.sock
CTRACE_HTTP=unix:$SOCK3 CTRACE_OUT=$TMP/cxxout LD_PRELOAD=$CT_BUILD/lib/libctrace.so \
	"$CT_BUILD/tests/progs/live_cxx" 4 > "$TMP/cxx.out" &
CPID=$!
wait_up http://x/debug/pprof/ --unix-socket "$SOCK3"
curl -s --unix-socket "$SOCK3" "http://x/debug/pprof/goroutine?debug=1" > "$TMP/cxx.txt"
grep -q '	live::Spinner::spin(int)+0x' "$TMP/cxx.txt" || { cat "$TMP/cxx.txt"; fail "goroutine: live::Spinner::spin(int) not demangled"; }
curl -s --unix-socket "$SOCK3" -o "$TMP/cxx.pb.gz" "http://x/debug/pprof/profile?seconds=1"
go tool pprof -raw "$TMP/cxx.pb.gz" > "$TMP/cxx.raw" 2>&1 || { cat "$TMP/cxx.raw"; fail "C++ CPU profile unreadable"; }
grep -q 'live::Spinner::spin(int) :0 s=0(_ZN4live7Spinner4spinEi)' "$TMP/cxx.raw" ||
	{ grep -i spin "$TMP/cxx.raw"; fail "CPU profile: live::Spinner::spin(int) not demangled"; }
wait $CPID || fail "live_cxx exited non-zero"
ok "C++ frames served demangled: live::Spinner::spin(int) (goroutine?debug=1, CPU profile)"

# A port in use: reported, recording goes on.
PORT2=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1); time.sleep(20)' "$PORT2" &
HOLD=$!
for i in $(seq 1 100); do
	ss -ltn | grep -q "127.0.0.1:$PORT2 " && break
	sleep 0.1
done
CTRACE_VERBOSE=1 CTRACE_HTTP=127.0.0.1:$PORT2 CTRACE_OUT=$TMP/busy LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$PROG" 1 > "$TMP/inuse.out" 2> "$TMP/inuse.err"
"$CTRACE" record -q -o "$TMP/busyrec" --http "127.0.0.1:$PORT2" -- "$PROG" 0.3 > /dev/null 2> "$TMP/busyrec.err"
kill $HOLD 2>/dev/null || true
grep -q 'Address already in use' "$TMP/inuse.err" || fail "port in use: not on stderr with CTRACE_VERBOSE"
grep -q "^http=not serving 127.0.0.1:$PORT2: Address already in use" "$TMP/busy/summary.txt" || fail "port in use: not in summary.txt"
[ -s "$TMP/busy/cpu.pb.gz" ] && grep -q done "$TMP/inuse.out" || fail "port in use: recording stopped"
# A remote address is refused without CTRACE_HTTP_ALLOW_REMOTE=1.
CTRACE_HTTP=0.0.0.0:$PORT2 CTRACE_OUT=$TMP/remote LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$PROG" 0.2 > /dev/null
grep -q '^http=not serving 0.0.0.0:.*not a loopback address' "$TMP/remote/summary.txt" || fail "0.0.0.0 was not refused"
ok "port in use and non-loopback address reported in summary.txt; recording goes on"

# record --http says what the agent made of the address: a port in use (above) is a warning,
# not "serving"; with port 0 the port the agent got.
grep -q "warning: --http: not serving 127.0.0.1:$PORT2: Address already in use" "$TMP/busyrec.err" ||
	{ cat "$TMP/busyrec.err"; fail "record --http: a port in use not reported"; }
! grep -q "serving http://" "$TMP/busyrec.err" || fail "record --http: a port in use announced as served"
"$CTRACE" record -q -o "$TMP/zero" --http 127.0.0.1:0 -- "$PROG" 20 "$TMP/stop0" > /dev/null 2> "$TMP/zero.err" &
ZREC=$!
ZPORT=$(announced_port "$TMP/zero.err")
[ -n "$ZPORT" ] && [ "$ZPORT" -gt 0 ] || { cat "$TMP/zero.err"; fail "record --http 127.0.0.1:0: no port announced"; }
wait_up "http://127.0.0.1:$ZPORT/debug/pprof/"
touch "$TMP/stop0"
wait $ZREC || fail "record --http 127.0.0.1:0 failed"
ok "record --http: a port in use is a warning; port 0 announced as the port the agent got ($ZPORT)"
# A wrapper that execs the server, port 0: the port record announced (the wrapper's) is the
# one the server listens on after the exec.
"$CTRACE" record -q -o "$TMP/zexec" --http 127.0.0.1:0 -- sh -c "sleep 0.5; exec $PROG 20 $TMP/stop1" \
	> /dev/null 2> "$TMP/zexec.err" &
ZREC=$!
ZPORT=$(announced_port "$TMP/zexec.err")
[ -n "$ZPORT" ] || { cat "$TMP/zexec.err"; fail "record --http 127.0.0.1:0 (exec): no port announced"; }
got=""
for i in $(seq 1 100); do
	got=$(curl -s --max-time 2 "http://127.0.0.1:$ZPORT/debug/pprof/cmdline" | tr '\0' ' ')
	case "$got" in "$PROG "*) break ;; esac # the server's, not the wrapper's (sh -c ...)
	sleep 0.1
done
touch "$TMP/stop1"
wait $ZREC || fail "record --http 127.0.0.1:0 (exec) failed"
case "$got" in "$PROG "*) ;; *) fail "after the exec the announced port $ZPORT does not serve the program ($got)" ;; esac
ok "record --http 127.0.0.1:0 through a wrapper's exec: the announced port serves the exec'd program"
# The wrapper's `sleep` (a child process, recorded in DIR/<pid>/) inherited CTRACE_HTTP and
# served on a port of its own; only the run's first process serves now.
child=$(grep -l "^cmd=sleep 0.5" "$TMP"/zexec/*/summary.txt 2> /dev/null | head -1)
child=${child%/summary.txt}
[ -f "$child/summary.txt" ] || { ls -R "$TMP/zexec"; fail "no summary of the wrapper's child"; }
grep -qx 'http=not serving 127.0.0.1:0: a child process (the run.s first process serves)' \
	"$child/summary.txt" || fail "the wrapper's child: $(grep '^http=' "$child/summary.txt")"
# A child forked without exec (a prefork server's worker) serves nothing either, and its
# summary said "serving" (the parent's status, copied by the fork).
"$CTRACE" record -q -o "$TMP/zfork" --http 127.0.0.1:0 -- "$CT_BUILD/tests/progs/fork_work" \
	> "$TMP/zfork.out" 2> "$TMP/zfork.err" || { cat "$TMP/zfork.err"; fail "fork_work --http failed"; }
child=$TMP/zfork/$(cat "$TMP/zfork.out")
grep -qx 'http=not serving 127.0.0.1:0: a child process (the run.s first process serves)' \
	"$child/summary.txt" || fail "forked child: $(grep '^http=' "$child/summary.txt" 2>&1)"
ok "a child process of the run does not serve (exec'd or forked), and says so"

# A thread waiting under the program's labels (annotate.h) shows them in /goroutine, as Go's
# goroutine profile shows pprof labels (only thread and tid were there).
cat > "$TMP/lbl.c" <<'C'
#include <time.h>
#include "ctrace/annotate.h"
int main(void)
{
	ctrace_label_push("job", "42");
	struct timespec ts = {2, 0};
	nanosleep(&ts, 0);
	ctrace_label_pop();
	return 0;
}
C
${CC:-cc} -O1 -I"$CT_ROOT/include" -o "$TMP/lbl" "$TMP/lbl.c" || fail "cannot build lbl"
SOCKB=$TMP/lbl.sock
"$CTRACE" record -q -o "$TMP/lblrec" --http "unix:$SOCKB" -- "$TMP/lbl" > /dev/null 2>&1 &
LPID=$!
wait_up http://x/debug/pprof/ --unix-socket "$SOCKB"
sleep 0.3 # into the sleep
curl -s --unix-socket "$SOCKB" "http://x/debug/pprof/goroutine?debug=1" > "$TMP/lbl.txt"
curl -s --unix-socket "$SOCKB" "http://x/debug/pprof/goroutine" > "$TMP/lbl.pb.gz"
wait $LPID
grep -q '^# labels: {"thread":"lbl", "tid":"[0-9]*", "job":"42"}$' "$TMP/lbl.txt" ||
	{ cat "$TMP/lbl.txt"; fail "goroutine?debug=1: the waiting thread's labels are missing"; }
go tool pprof -tags "$TMP/lbl.pb.gz" 2> /dev/null | grep -Eq '\( *100(\.00)?%\): 42$' ||
	fail "goroutine (proto): no job label"
ok "/goroutine shows a waiting thread's program labels (debug=1 and proto)"
