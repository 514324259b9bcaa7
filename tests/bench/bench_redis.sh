#!/bin/sh
# bench_redis.sh BUILD — what the agent costs a real event-loop server: Debian's
# redis-server on a unix socket under redis-benchmark (50 clients, GET and SET), bare and
# with the agent preloaded with every mode on (CTRACE_HZ=999 for a finer share), each at
# two run lengths (N and 2N requests, N = CT_BENCH_REQUESTS, default 200000) so that start-up
# and exit (writing and symbolizing nothing: the agent alone) cancel out of the per-request
# figures. CPU times are the server process's own (user + system, its agent's collector
# thread included). The whole set is repeated CT_BENCH_REPS times (default 3), bare and
# traced alternating. The agent's share is a count of samples: a 2N run's profile holds
# ~2,400 samples at the default N, the agent's a few dozen, so one run's share moves by
# about 0.3 point by chance alone (at 50000 requests, by more than a point); the share
# printed pools the samples of every repetition's 2N run (~7,000, about ±0.17 point), and
# stderr gives each repetition's and their median. Prints, with the load average on stderr:
#   bench redis_agent_share         N %   the [ctrace] frame's share of the server's CPU
#                                          profile (its own view of what the agent costs;
#                                          target <= 2), pooled over the 2N runs; stderr
#                                          splits it by the server's frame that called the
#                                          agent (top five)
#   bench redis_agent_share_slope   N %   the same share of the samples the N more
#                                          requests of the 2N runs added: without the fixed
#                                          costs (start-up, each thread's first stack)
#   bench redis_agent_share_cpu_only N %  the same share with only CPU sampling on
#                                          (CTRACE_MODES=cpu): the hooks are there, each
#                                          a test and the call, and record nothing
#   bench redis_interposer_share    N %   what any interposer of these calls costs here:
#                                          interposer_nop.c, which only calls the next
#                                          definition, as its share of `perf record`'s
#                                          user-mode samples of the server (needs perf);
#                                          the floor under the agent's share on this VM,
#                                          where every system call empties the TLB
#   bench redis_collector_cpu_share N %   what the share leaves out: the agent's collector
#                                          thread, which carries no perf event (it starts
#                                          before the sampler), so it is in no CPU profile;
#                                          its CPU (summary.txt's collector_cpu_ms) / the
#                                          server's CPU, in the 2N runs
#   bench redis_cpu_per_request     N ns  server CPU per request, bare (slope, median)
#   bench redis_added_cpu_per_request N ns  added by the agent (slope, median)
#   bench redis_added_cpu_ratio     N %   the added CPU / the bare CPU
#   bench redis_block_kept          N %   waits the block profile's coin kept, of those
#                                          they stand for (CTRACE_BLOCK_RATE default)
# Skipped (a message, exit 0) when redis-server or redis-benchmark is missing.
set -eu
build=$(cd "${1:-build}" && pwd)
agent=$build/lib/libctrace.so
ctrace=$build/bin/ctrace
n=${CT_BENCH_REQUESTS:-200000}
for c in redis-server redis-benchmark redis-cli; do
	command -v "$c" > /dev/null 2>&1 || { echo "bench_redis: $c not installed; skipped" >&2; exit 0; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# serve NAME REQUESTS [ENV...] — one server run: appends its CPU ms to $tmp/NAME.cpu.
# $wrap, when set, is a command the server runs under (perf record).
wrap=
serve() {
	name=$1 reqs=$2; shift 2
	sock=$tmp/r.sock
	rm -f "$sock"
	/usr/bin/time -f "%U %S" -o "$tmp/time" env "$@" $wrap redis-server --port 0 --unixsocket "$sock" \
		--save '' --appendonly no --daemonize no > "$tmp/$name.log" 2>&1 &
	pid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	redis-benchmark -s "$sock" -c 50 -n "$reqs" -q -t get,set > /dev/null 2>&1
	redis-cli -s "$sock" shutdown nosave > /dev/null 2>&1 || true
	wait $pid
	awk '{printf "%.0f\n", ($1 + $2) * 1000}' "$tmp/time" >> "$tmp/$name.cpu"
}

# The do-nothing interposer, when perf can profile a process here.
nop=
if command -v perf > /dev/null 2>&1 && perf record -q -o "$tmp/probe.data" true > /dev/null 2>&1 &&
	${CC:-cc} -O2 -shared -fPIC -o "$tmp/nop.so" "$(dirname "$0")/interposer_nop.c" -ldl; then
	nop=$tmp/nop.so
fi

echo "bench_redis: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
reps=${CT_BENCH_REPS:-3}
: > "$tmp/f.txt"
: > "$tmp/f.short.txt"
: > "$tmp/f.cpu_only.txt"
: > "$tmp/nop.counts"
: > "$tmp/collector"
r=1
while [ "$r" -le "$reps" ]; do
	for reqs in "$n" $((2 * n)); do
		serve bare "$reqs"
		rm -rf "$tmp/out"
		serve ct "$reqs" LD_PRELOAD="$agent" CTRACE_OUT="$tmp/out" CTRACE_HZ=999
		"$ctrace" report --folded "$tmp/f.$r.$reqs.txt" "$tmp/out/cpu.pb.gz" > /dev/null 2>&1
	done
	rm -rf "$tmp/outc"
	serve ctcpu $((2 * n)) LD_PRELOAD="$agent" CTRACE_OUT="$tmp/outc" CTRACE_HZ=999 CTRACE_MODES=cpu
	"$ctrace" report --folded "$tmp/fc.txt" "$tmp/outc/cpu.pb.gz" > /dev/null 2>&1
	cat "$tmp/fc.txt" >> "$tmp/f.cpu_only.txt"
	if [ -n "$nop" ]; then
		wrap="perf record -q -F 999 -e cpu-clock:u -o $tmp/nop.data --"
		serve nop $((2 * n)) LD_PRELOAD="$nop"
		wrap=
		perf script -i "$tmp/nop.data" -F ip,dso 2> /dev/null |
			awk '{ n++ } /\/nop\.so\)$/ { c++ } END { print c + 0, n + 0 }' >> "$tmp/nop.counts"
	fi
	cat "$tmp/f.$r.$n.txt" >> "$tmp/f.short.txt"
	cat "$tmp/f.$r.$((2 * n)).txt" >> "$tmp/f.txt"
	sed -n 's/^collector_cpu_ms=//p' "$tmp/out/summary.txt" >> "$tmp/collector"
	r=$((r + 1))
done
echo "bench_redis: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$ctrace" report "$tmp/out/block.pb.gz" > "$tmp/block.txt" 2>&1
# counts FILE — "[ctrace] total" sample weights of a folded profile.
counts() { awk '{ n += $NF } $0 ~ /\[ctrace\] [0-9]+$/ { c += $NF } END { print c + 0, n + 0 }' "$1"; }
r=1
while [ "$r" -le "$reps" ]; do
	counts "$tmp/f.$r.$((2 * n)).txt" | awk -v r="$r" '$2 > 0 {
		printf "bench_redis: repetition %d: [ctrace] %.1f %% of %d samples\n", r, 100 * $1 / $2,
			$2 / 1001001 }' >&2
	r=$((r + 1))
done
# The CPU ms of the runs: line 2k-1 the N run, 2k the 2N run of repetition k. slopes NAME
# — each repetition's 2N run less its N run.
slopes() { awk 'NR % 2 { a = $1; next } { print $1 - a }' "$tmp/$1.cpu"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
bare=$(slopes bare | median) ct=$(slopes ct | median)
echo "bench_redis: server CPU ms at $n and $((2 * n)) requests, each repetition: bare" \
	"$(tr '\n' ' ' < "$tmp/bare.cpu"), agent $(tr '\n' ' ' < "$tmp/ct.cpu")" >&2
r=1
while [ "$r" -le "$reps" ]; do
	counts "$tmp/f.$r.$((2 * n)).txt" | awk '$2 > 0 { print 100 * $1 / $2 }'
	r=$((r + 1))
done | median | awk 'NF { printf "bench_redis: median of the repetitions: [ctrace] %.1f %%\n", $1 }' >&2
counts "$tmp/f.txt" | awk '$2 > 0 { printf "bench redis_agent_share %.1f %%\n", 100 * $1 / $2 }'
echo "$(counts "$tmp/f.short.txt") $(counts "$tmp/f.txt")" | awk '$4 > $2 {
	printf "bench redis_agent_share_slope %.1f %%\n", 100 * ($3 - $1) / ($4 - $2) }'
counts "$tmp/f.cpu_only.txt" | awk '$2 > 0 {
	printf "bench redis_agent_share_cpu_only %.1f %%\n", 100 * $1 / $2 }'
awk '{ c += $1; n += $2 } END { if (n > 0) printf "bench redis_interposer_share %.1f %%\n", 100 * c / n }' \
	"$tmp/nop.counts"
awk -v c="$(awk '{ s += $1 } END { print s }' "$tmp/collector")" \
	-v t="$(awk 'NR % 2 == 0 { s += $1 } END { print s }' "$tmp/ct.cpu")" 'BEGIN {
	if (c != "" && t > 0) printf "bench redis_collector_cpu_share %.1f %%\n", 100 * c / t }'
# Where the [ctrace] frame sits: the server's frame that called into the agent (stderr).
awk '{ n += $NF } $0 ~ /\[ctrace\] [0-9]+$/ { s = $0; sub(/;\[ctrace\] [0-9]+$/, "", s)
	k = split(s, f, ";"); c[f[k]] += $NF }
	END { for (p in c) printf "bench_redis: [ctrace] under %s: %.2f %%\n", p, 100 * c[p] / n }' \
	"$tmp/f.txt" | sort -t: -k3 -rn | head -n 5 >&2
echo "bench redis_cpu_per_request $(awk -v b="$bare" -v n="$n" 'BEGIN{printf "%.0f", b * 1e6 / n}') ns"
echo "bench redis_added_cpu_per_request $(awk -v b="$bare" -v c="$ct" -v n="$n" \
	'BEGIN{printf "%.0f", (c - b) * 1e6 / n}') ns"
[ "$bare" -gt 0 ] && echo "bench redis_added_cpu_ratio $(awk -v b="$bare" -v c="$ct" \
	'BEGIN{printf "%.1f", 100 * (c - b) / b}') %"
sed -n 's/.*sampled at rate [0-9]* ns; \([0-9]*\) waits kept, standing for \([0-9]*\).*/\1 \2/p' \
	"$tmp/block.txt" | awk '$2 > 0 {printf "bench redis_block_kept %.1f %%\n", 100 * $1 / $2}'
exit 0
