# test_timeline.sh — the trace views of issue 12 on synthetic traces (tests/tools/trace_synth:
# every state and wait reason, unblock edges, samples with real symbolized stacks):
# --timeline loads in headless Chromium with no errors and no network requests, names a
# lane per thread in the DOM, and passes its scripted zoom, pan, click-on-a-wait (wait
# stack and waker shown) and range selection (aggregates shown) — screenshots in
# build/tests/integration/timeline*.png; 20,000 short-lived threads render grouped within
# the size budget; every --trace-pprof kind opens in go tool pprof with the synthetic
# functions; --perfetto writes a file smaller than a fifth of the timeline's events as
# JSON would be; a directory holding trace.ctr works; bad arguments exit 2. With program
# annotations (trace_synth -r): the page draws regions and its selftest clicks one (its
# details shown); --sched has a regions table; --focus-region restricts it, and an
# unknown region name is an error.
. "$(dirname "$0")/lib.sh"

SYNTH=$CT_BUILD/tests/tools/trace_synth
[ -x "$CTRACE" ] && [ -x "$SYNTH" ] || fail "build first (no $CTRACE or $SYNTH)"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "chromium not installed (Debian chromium)"
SHOTS=$CT_BUILD/tests/integration
mkdir -p "$SHOTS"

chrome() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--user-data-dir="$TMP/chromium" --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
		--window-size=1400,900 "$@" 2>>"$TMP/chromium.log"
}

selftest() { # HTML NAME — the page's selftest must pass; saves a screenshot
	chrome --dump-dom "file://$1#selftest" > "$TMP/$2.dom" || fail "chromium on $1"
	# the page's result is in its title (the page's own comment mentions "selftest: PASS"
	# too, so a page whose script failed must not match that)
	result=$(grep -o '<title>selftest: [^<]*' "$TMP/$2.dom" | head -1 | sed 's/^<title>//')
	echo "$2: $result"
	case "$result" in "selftest: PASS"*) ;; *) fail "$2 selftest: $result" ;; esac
	chrome --screenshot="$SHOTS/$2.png" "file://$1#selftest" >/dev/null || fail "screenshot"
	[ -s "$SHOTS/$2.png" ] || fail "no screenshot $2.png"
}

# --- the timeline ---------------------------------------------------------------------------
"$SYNTH" -t 8 -e 30000 -s 40 "$TMP/t.ctr" > "$TMP/synth.txt"
cat "$TMP/synth.txt"
"$CTRACE" report --timeline "$TMP/t.html" "$TMP/t.ctr" || fail "--timeline"
grep -Eq 'https?:' "$TMP/t.html" && fail "the timeline names a URL"
grep -Eiq '<(link|img|iframe)|<script[^>]* src=|@import|url\(' "$TMP/t.html" &&
	fail "the timeline loads something from outside"
for fn in lock_queue wait_work poll_socket read_file compute_hash release_lock; do
	grep -q "\"$fn\"" "$TMP/t.html" || fail "timeline lacks the symbolized function $fn"
done
selftest "$TMP/t.html" timeline
grep -q 'data-tid="1003"' "$TMP/timeline.dom" || fail "no lane for tid 1003 in the DOM"
grep -q '>worker-5<' "$TMP/timeline.dom" || fail "no lane label worker-5 in the DOM"
grep -q 'conn-handler ×40' "$TMP/timeline.dom" || fail "short-lived threads not grouped"
ok "timeline: lanes, zoom, pan, click on a wait (stack, waker), range selection; no errors or requests"

# --- annotations: regions, tasks, logs (trace_synth -r) --------------------------------------
"$SYNTH" -t 6 -e 20000 -r "$TMP/ann.ctr" > /dev/null || fail "trace_synth -r"
"$CTRACE" report --timeline "$TMP/ann.html" "$TMP/ann.ctr" || fail "--timeline (regions)"
selftest "$TMP/ann.html" timeline_regions
regions=$(grep -o 'regions [0-9]*)' "$TMP/timeline_regions.dom" | head -1 | tr -dc 0-9)
[ "${regions:-0}" -gt 1000 ] || fail "the page decoded ${regions:-no} regions"
ok "timeline: $regions regions drawn under their lanes, a click on one shows its details"
"$CTRACE" report --sched "$TMP/ann.ctr" > "$TMP/ann.txt" || fail "--sched (regions)"
grep -Eq '^  handle +[0-9]+ ' "$TMP/ann.txt" || fail "--sched has no regions row for handle"
"$CTRACE" report --sched --focus-region parse "$TMP/ann.ctr" > "$TMP/focus.txt" ||
	fail "--focus-region parse"
grep -q '^focus: only the time threads spent inside regions named "parse"' "$TMP/focus.txt" ||
	fail "--focus-region: no focus line"
# Focused, a thread's LIFETIME is its time inside the regions: what its states add up to
# (it stayed the whole life). Counted from the row's end: names may hold spaces.
awk 'function ns(x) { return x ~ /ms$/ ? x * 1e6 : x ~ /us$/ ? x * 1e3 : x ~ /ns$/ ? x + 0 : x ~ /s$/ ? x * 1e9 : x + 0 }
	/^threads \(by/ { on = 1; getline; next } /^total/ { on = 0 }
	on && NF >= 11 { n = NF; while ($n !~ /^[0-9]+$/ || $(n - 1) !~ /^[0-9]+$/) n--
		life = ns($(n - 8)); sum = ns($(n - 7)) + ns($(n - 6)) + ns($(n - 2))
		d = life - sum; if (d < 0) d = -d; if (d > 0.01 * life + 20000) bad = bad " " $1 }
	END { if (bad) { print "rows" bad; exit 1 } }' "$TMP/focus.txt" ||
	{ cat "$TMP/focus.txt"; fail "--focus-region: a LIFETIME is not the time inside the regions"; }
"$CTRACE" report --sched --focus-region nosuch "$TMP/ann.ctr" > /dev/null 2> "$TMP/err.txt" &&
	fail "--focus-region of an unknown name succeeded"
grep -q 'has no region of that name' "$TMP/err.txt" || fail "--focus-region: unclear error"
ok "--sched regions table; --focus-region restricts it and refuses an unknown name"
# Sample filters with only trace views are refused, not silently ignored.
for v in "--sched" "--timeline $TMP/f.html" "--chrome $TMP/f.json" "--trace-pprof wall $TMP/f.pb.gz"; do
	for f in "--tag a=b" "--focus parse" "--ignore parse"; do
		# shellcheck disable=SC2086 # $v and $f are an option and its argument
		st=0 && "$CTRACE" report $v $f "$TMP/ann.ctr" > /dev/null 2> "$TMP/err.txt" || st=$?
		[ "$st" = 2 ] || fail "$v $f: status $st, want 2"
		grep -q "^ctrace: ${f%% *} filters a profile's samples; ${v%% *} renders a trace" \
			"$TMP/err.txt" || fail "$v $f: $(cat "$TMP/err.txt")"
	done
done
ok "--tag, --focus and --ignore with only trace views: refused (status 2)"

# a directory holding the trace
mkdir -p "$TMP/dir" && cp "$TMP/t.ctr" "$TMP/dir/trace.ctr"
"$CTRACE" report --timeline "$TMP/dir.html" "$TMP/dir" || fail "--timeline DIR"
cmp -s "$TMP/t.html" "$TMP/dir.html" || fail "DIR and its trace.ctr give different pages"
ok "a directory's trace.ctr"
# --focus-region with views of profiles (the default text view of a directory, or a
# profile): refused, status 2 (it once dereferenced the trace model a directory lacks).
cp "$TMP/ann.ctr" "$TMP/dir/trace.ctr"
st=0 && "$CTRACE" report --focus-region parse "$TMP/dir" > /dev/null 2> "$TMP/err.txt" || st=$?
[ "$st" = 2 ] && grep -q "restricts views of a trace.* is a directory" "$TMP/err.txt" ||
	fail "--focus-region DIR: status $st: $(cat "$TMP/err.txt")"
ok "--focus-region with the text view of a directory: refused (status 2)"

# --- 20,000 short-lived threads --------------------------------------------------------------
"$SYNTH" -t 6 -e 200000 -s 20000 "$TMP/many.ctr" > "$TMP/many.txt"
cat "$TMP/many.txt"
events=$(awk '{print $2}' "$TMP/many.txt")
"$CTRACE" report --timeline "$TMP/many.html" "$TMP/many.ctr" || fail "--timeline (20k threads)"
size=$(stat -c %s "$TMP/many.html")
echo "20,000 threads: $size bytes, $events events"
[ "$size" -le $((events * 40)) ] || fail "20k-thread page is $size bytes for $events events (> 40 per event)"
selftest "$TMP/many.html" timeline_20k_threads
grep -q 'conn-handler ×20000' "$TMP/timeline_20k_threads.dom" || fail "20k threads not grouped"
ok "20,000 short-lived threads: grouped, $size bytes"

# --- trace-derived profiles ------------------------------------------------------------------
for k in sched sync net io sleep wall; do
	"$CTRACE" report --trace-pprof $k "$TMP/$k.pb.gz" "$TMP/t.ctr" || fail "--trace-pprof $k"
	pprof_top "$TMP/$k.pb.gz" > "$TMP/$k.top"
done
# KIND:FUNCTION — the function each trace-derived profile must hold (the wall profile: a
# CPU samples' function and a wait site).
for want in sync:lock_queue net:poll_socket io:read_file sleep:backoff_sleep \
	wall:compute_hash wall:lock_queue; do
	grep -q "${want#*:}" "$TMP/${want%%:*}.top" || fail "${want%%:*} profile lacks ${want#*:}"
done
grep -q 'poll_socket' "$TMP/sync.top" && fail "sync profile holds a net wait"
go tool pprof -raw "$TMP/wall.pb.gz" 2>/dev/null | grep -q 'state:\[waiting\]' ||
	fail "wall profile: no state label"
run_status "$CTRACE" report --trace-pprof cpu "$TMP/x.pb.gz" "$TMP/t.ctr"
[ "$st" = 2 ] || fail "--trace-pprof cpu: exit $st, wanted 2"
ok "--trace-pprof sched, sync, net, io, sleep, wall open in go tool pprof"

# --- Perfetto --------------------------------------------------------------------------------
"$CTRACE" report --perfetto "$TMP/t.pftrace" "$TMP/t.ctr" || fail "--perfetto"
[ -s "$TMP/t.pftrace" ] || fail "empty Perfetto file"
ok "--perfetto: $(stat -c %s "$TMP/t.pftrace") bytes"
