#!/bin/sh
# bench_timeline.sh BUILD — the trace views on a synthetic 1M-event trace
# (tests/tools/trace_synth: 16 threads on 8 CPUs, every state and wait reason, 12-frame
# stacks, symbolized). Prints:
#   bench timeline_1m_events              N events  raw events in the trace
#   bench timeline_1m_report_s            N s    `ctrace report --timeline` wall time, read,
#                                                symbolize and model included (target <= 2)
#   bench timeline_1m_report_cpu_s        N s    its CPU time (user + system): what the wall
#                                                time is on an idle machine
#   bench timeline_1m_bytes_per_event     N B    page size per event (target <= 40)
#   bench timeline_1m_first_paint_ms      N ms   headless Chromium: navigation start (the 5 MB
#                                                page parsed included) to the first canvas
#                                                paint (thread lanes), as the page measures it
#                                                (target <= 3000; CPU-bound, so noisy on a
#                                                loaded machine)
#   bench timeline_1m_complete_ms         N ms   page script start to CPU lanes and counters
#                                                drawn too
#   bench timeline_1m_perfetto_vs_json    N x    Chrome JSON size / Perfetto size (target >= 5)
#   bench timeline_1m_perfetto_bytes_per_event  N B
#   bench timeline_20k_threads_bytes_per_event  N B  20,000 short-lived threads' page
set -eu
build=$(cd "${1:-build}" && pwd)
tools=$build/tests/tools
ctrace=$build/bin/ctrace
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench-timeline.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

"$tools/trace_synth" -q -t 16 -c 8 -d 12 -e 1000000 "$tmp/t.ctr"
events=$("$tools/trace_export" timeline "$tmp/t.ctr" "$tmp/x.html" | awk '{print $10}')
echo "bench timeline_1m_events $events events"
best=999
for i in 1 2 3; do
	s=$(date +%s.%N)
	"$ctrace" report --timeline "$tmp/t.html" "$tmp/t.ctr" 2>/dev/null
	e=$(date +%s.%N)
	best=$(awk -v a="$s" -v b="$e" -v m="$best" 'BEGIN { d = b - a; print (d < m ? d : m) }')
done
echo "bench timeline_1m_report_s $best s"
cpu=$( { /usr/bin/time -f '%U %S' "$ctrace" report --timeline "$tmp/t.html" "$tmp/t.ctr" \
	2>&1 >/dev/null; } | tail -1 | awk '{print $1 + $2}')
echo "bench timeline_1m_report_cpu_s $cpu s"
size=$(stat -c %s "$tmp/t.html")
awk -v s="$size" -v n="$events" 'BEGIN { printf "bench timeline_1m_bytes_per_event %.1f B\n", s / n }'

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chromium" ]; then
	timeout 300 "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/chr" \
		--disable-background-networking --disable-component-update --disable-sync \
		--no-first-run --disable-dev-shm-usage --window-size=1400,900 \
		--dump-dom "file://$tmp/t.html#selftest" > "$tmp/dom" 2>/dev/null || true
	grep -o 'selftest: [^<]*' "$tmp/dom" | head -1 || true
	paint=$(grep -o 'first paint [0-9]*' "$tmp/dom" | head -1 | awk '{print $3}')
	echo "bench timeline_1m_first_paint_ms ${paint:-FAILED} ms"
	full=$(grep -o 'complete [0-9]*' "$tmp/dom" | head -1 | awk '{print $2}')
	echo "bench timeline_1m_complete_ms ${full:-FAILED} ms"
fi

"$tools/trace_export" chrome "$tmp/t.ctr" "$tmp/t.json" > /dev/null
"$ctrace" report --perfetto "$tmp/t.pftrace" "$tmp/t.ctr" 2>/dev/null
json=$(stat -c %s "$tmp/t.json")
pf=$(stat -c %s "$tmp/t.pftrace")
awk -v j="$json" -v p="$pf" -v n="$events" 'BEGIN {
	printf "bench timeline_1m_perfetto_vs_json %.1f x\n", j / p
	printf "bench timeline_1m_perfetto_bytes_per_event %.1f B\n", p / n }'

"$tools/trace_synth" -q -t 6 -e 200000 -s 20000 "$tmp/many.ctr"
"$ctrace" report --timeline "$tmp/many.html" "$tmp/many.ctr" 2>/dev/null
awk -v s="$(stat -c %s "$tmp/many.html")" 'BEGIN {
	printf "bench timeline_20k_threads_bytes_per_event %.1f B\n", s / 200000 }'
