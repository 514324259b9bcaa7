#!/bin/sh
# bench_live BUILD — what the live server (docs/live.md) costs the program: CPU time of
# samples/cpu_hot recorded with and without an idle `--http` server (median of RUNS
# alternating runs; target: no measurable difference, within ±0.5%), the idle server
# thread's own CPU time over 5 s (from /proc, 10 ms ticks), and the CPU that
# serving one 30 s CPU profile costs (the handler thread plus the collector's snapshots, as
# the agent logs it under CTRACE_VERBOSE; target ≤ 20 ms), from tests/progs/live_server.
# Prints "bench live_<name> <value> <unit>".
set -eu
build=$(cd "${1:-build}" && pwd)
RUNS=${RUNS:-5}
SCALE=${SCALE:-3}
SECONDS_PROFILE=${SECONDS_PROFILE:-30}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cputime() { "$build/tests/progs/cputime" "$@" 2>&1 > /dev/null | tail -1 | cut -d' ' -f2; }

for i in $(seq "$RUNS"); do
	cputime "$build/bin/ctrace" record -q --no-symbolize -o "$tmp/a" -e cpu -- \
		"$build/samples/cpu_hot" "$SCALE" >> "$tmp/plain"
	cputime "$build/bin/ctrace" record -q --no-symbolize -o "$tmp/b" -e cpu \
		--http 127.0.0.1:0 -- "$build/samples/cpu_hot" "$SCALE" >> "$tmp/http" 2> /dev/null
done
grep -q '^http=serving' "$tmp/b/summary.txt" || { echo "the server did not start" >&2; exit 1; }
p=$(median < "$tmp/plain") h=$(median < "$tmp/http")
awk -v p="$p" -v h="$h" 'BEGIN {
	printf "bench live_cpu_hot_cputime %.3f s\n", p / 1e9
	printf "bench live_idle_server_cputime_overhead %.2f %%\n", (h - p) * 100 / p }'
echo "bench live_idle_server_target 0.5 %"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CTRACE_VERBOSE=1 CTRACE_HTTP=127.0.0.1:$port CTRACE_OUT=$tmp/live \
	LD_PRELOAD=$build/lib/libctrace.so "$build/tests/progs/live_server" 600 "$tmp/stop" \
	> /dev/null 2> "$tmp/live.err" &
pid=$!
for i in $(seq 1 100); do
	curl -s -o /dev/null "http://127.0.0.1:$port/debug/pprof/" && break
	sleep 0.1
done
# The idle server thread's own CPU time after 5 s of its life (exact, unlike the A/B above,
# which a loaded machine blurs by a few percent): /proc's utime + stime, in clock ticks.
sleep 5
idle=$(for t in /proc/$pid/task/*; do
	[ "$(cat "$t/comm")" != ctrace-http ] || awk '{print ($14 + $15) * 1000 / 100}' "$t/stat"
done)
echo "bench live_idle_server_thread_cpu_5s ${idle:-?} ms"
curl -s -o "$tmp/cpu.pb.gz" "http://127.0.0.1:$port/debug/pprof/profile?seconds=$SECONDS_PROFILE"
touch "$tmp/stop"
wait $pid
sed -n 's|.*http: GET /debug/pprof/profile: 200, \([0-9]*\) bytes, \([0-9.]*\) ms CPU (handler \([0-9.]*\), collector \([0-9.]*\)).*|\1 \2 \3 \4|p' \
	"$tmp/live.err" > "$tmp/cost"
[ -s "$tmp/cost" ] || { cat "$tmp/live.err" >&2; exit 1; }
read -r bytes total handler collector < "$tmp/cost"
echo "bench live_serve_cpu_profile_${SECONDS_PROFILE}s_cpu $total ms"
echo "bench live_serve_cpu_profile_handler_cpu $handler ms"
echo "bench live_serve_cpu_profile_collector_cpu $collector ms"
echo "bench live_serve_cpu_profile_bytes $bytes bytes"
echo "bench live_serve_cpu_profile_target 20 ms"
