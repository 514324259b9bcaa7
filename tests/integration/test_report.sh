# test_report.sh — `ctrace report` on real Go profiles: the text table, SVG and HTML
# flame graphs (SVG checked by xmllint, HTML driven in headless Chromium through its
# "#selftest" hook: click-to-zoom, reset, search, sample-type switch, table sort, no
# script errors), folded stacks, filters, diffs, a directory summary, and error exits.
. "$(dirname "$0")/lib.sh"

[ -x "$CTRACE" ] || fail "no $CTRACE (build it first)"
command -v go >/dev/null || fail "go not installed (Debian golang-go)"
command -v xmllint >/dev/null || fail "xmllint not installed (Debian libxml2-utils)"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "chromium not installed (Debian chromium)"

# A Go program whose CPU goes to main.hotLoop (directly and through main.coldLoop, which
# runs under the pprof label phase=cold), and that writes its CPU and heap profiles. No network, no modules: GOPATH mode in $TMP.
mkdir -p "$TMP/go"
cat > "$TMP/go/main.go" <<'EOF'
package main

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
)

var sink uint64
var keep [][]byte

//go:noinline
func hotLoop(n int) uint64 {
	var s uint64
	for i := 0; i < n; i++ {
		s += uint64(i) * 2654435761 >> 3
	}
	return s
}

//go:noinline
func coldLoop(n int) uint64 { return hotLoop(n / 4) }

//go:noinline
func allocate() { keep = append(keep, make([]byte, 1<<20)) }

func main() {
	runtime.MemProfileRate = 1 // every allocation: the heap checks below are exact
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	pprof.StartCPUProfile(f)
	cold := pprof.Labels("phase", "cold")
	for i := 0; i < 600; i++ { // a fixed amount of work: about 0.6s of CPU
		sink += hotLoop(1 << 20)
		pprof.Do(context.Background(), cold, func(context.Context) {
			sink += coldLoop(1 << 20)
		})
	}
	pprof.StopCPUProfile()
	f.Close()
	for i := 0; i < 8; i++ {
		allocate()
	}
	h, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	runtime.GC() // the heap profile shows the state as of the last completed GC
	pprof.WriteHeapProfile(h)
	h.Close()
}
EOF
(
	cd "$TMP/go"
	export GOCACHE="$TMP/go/cache" GOPATH="$TMP/go/path" HOME="$TMP/go" GO111MODULE=off \
		GOFLAGS= GOPROXY=off CGO_ENABLED=0
	go build -o prog main.go
	./prog "$TMP/cpu.pb.gz" "$TMP/heap.pb.gz"
) || fail "building or running the Go program"
ok "Go CPU and heap profiles written"

# --- text table -----------------------------------------------------------------------
"$CTRACE" report "$TMP/cpu.pb.gz" > "$TMP/top.txt" || fail "report exited $?"
cat "$TMP/top.txt"
grep -q '^Kind: cpu profile' "$TMP/top.txt" || fail "no kind line"
grep -q '^Type: cpu (nanoseconds)' "$TMP/top.txt" || fail "no sample type line"
grep -Eq '^Total: [0-9.]+m?s in [0-9]+ records' "$TMP/top.txt" || fail "no total line"
grep -q 'flat  flat%   sum%        cum   cum%  function' "$TMP/top.txt" || fail "no table header"
grep -q ' main\.hotLoop$' "$TMP/top.txt" || fail "main.hotLoop not in the table"
grep -q ' main\.main$' "$TMP/top.txt" || fail "main.main not in the table"
first=$(sed -n '/flat  flat%/{n;p;q}' "$TMP/top.txt")
case "$first" in *main.hotLoop*|*runtime.asyncPreempt*) ;; *) fail "top row is not the hot function: $first" ;; esac
ok "text table names Go functions, hottest first"

"$CTRACE" report --top 1 "$TMP/cpu.pb.gz" | grep -q '^Showing 1 of ' || fail "--top 1"
"$CTRACE" report -i samples "$TMP/cpu.pb.gz" | grep -q '^Type: samples (count)' ||
	fail "--sample-index samples"
"$CTRACE" report "$TMP/heap.pb.gz" > "$TMP/heap.txt" || fail "heap report"
grep -q '^Kind: heap profile' "$TMP/heap.txt" || fail "heap kind"
grep -q '^Type: inuse_space (bytes)' "$TMP/heap.txt" || fail "heap default sample type"
grep -Eq '^Total: [0-9.]+(B|KB|MB|GB)' "$TMP/heap.txt" || fail "heap total in bytes"
grep -q 'main\.allocate' "$TMP/heap.txt" || fail "main.allocate not in the heap table"
ok "--top, --sample-index, heap units"

# --- filters ------------------------------------------------------------------------------
"$CTRACE" report --focus 'main\.coldLoop' "$TMP/cpu.pb.gz" > "$TMP/focus.txt" || fail "--focus"
grep -q '^Kept by filters: ' "$TMP/focus.txt" || fail "--focus: no kept line"
grep -q ' main\.coldLoop$' "$TMP/focus.txt" || fail "--focus lost the focused function"
"$CTRACE" report --ignore 'main\.hotLoop' --top 0 "$TMP/cpu.pb.gz" > "$TMP/ignore.txt" ||
	fail "--ignore"
grep -q ' main\.hotLoop$' "$TMP/ignore.txt" && fail "--ignore kept main.hotLoop"
ok "--focus and --ignore"

"$CTRACE" report --tag phase=cold "$TMP/cpu.pb.gz" > "$TMP/tag.txt" || fail "--tag"
grep -q '^Kept by filters: ' "$TMP/tag.txt" || fail "--tag: no kept line"
grep -q ' main\.coldLoop$' "$TMP/tag.txt" || fail "--tag lost the labelled function"
"$CTRACE" report --tag phase=hot "$TMP/cpu.pb.gz" | grep -q '^No samples kept by the filters' ||
	fail "--tag phase=hot kept samples"
ok "--tag (pprof labels)"

# --- folded stacks: shape, and the sum equals the profile's sample count ---------------
"$CTRACE" report -i samples --folded "$TMP/cpu.folded" "$TMP/cpu.pb.gz" || fail "--folded"
grep -q '^runtime\.main;main\.main;main\.hotLoop' "$TMP/cpu.folded" ||
	fail "folded stacks are not root first"
grep -Ev '^[^ ]+( [^ ]+)* [0-9]+$' "$TMP/cpu.folded" && fail "malformed folded line"
sum=$(awk '{ s += $NF } END { print s }' "$TMP/cpu.folded")
total=$("$CTRACE" report -i samples "$TMP/cpu.pb.gz" | sed -n 's/^Total: \([0-9]*\) in .*/\1/p')
[ "$sum" = "$total" ] || fail "folded sum $sum != total $total"
ok "folded stacks round-trip the total ($sum samples)"

# --- SVG flame graph ----------------------------------------------------------------------
"$CTRACE" report --flame "$TMP/cpu.svg" --title 'Go <cpu> & "friends"' "$TMP/cpu.pb.gz" ||
	fail "--flame svg"
xmllint --noout "$TMP/cpu.svg" || fail "SVG is not well-formed XML"
grep -q '<title>main\.hotLoop' "$TMP/cpu.svg" || fail "SVG lacks main.hotLoop"
grep -q 'Go &lt;cpu&gt; &amp; &quot;friends&quot;' "$TMP/cpu.svg" || fail "SVG title not escaped"
"$CTRACE" report --flame "$TMP/icicle.svg" --icicle --min-width 2 "$TMP/heap.pb.gz" ||
	fail "--icicle svg"
xmllint --noout "$TMP/icicle.svg" || fail "icicle SVG is not well-formed XML"
grep -q 'Icicle Graph' "$TMP/icicle.svg" || fail "icicle title"
for w in nan inf -1 ''; do # strtod takes nan and inf: an SVG of NaN widths
	run_status "$CTRACE" report --flame "$TMP/bad.svg" --min-width "$w" "$TMP/cpu.pb.gz" 2> /dev/null
	[ "$st" -eq 2 ] && [ ! -e "$TMP/bad.svg" ] || fail "--min-width '$w': status $st"
done
ok "SVG flame graphs are well-formed and name Go functions; --min-width nan, inf refused"

chrome() {
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--user-data-dir="$TMP/chromium" --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
		--window-size=1400,900 \
		"$@" 2>>"$TMP/chromium.log"
}

chrome --dump-dom "file://$TMP/cpu.svg#selftest" > "$TMP/svg.dom" || fail "chromium on the SVG"
grep -q 'selftest: PASS' "$TMP/svg.dom" ||
	fail "SVG selftest: $(grep -o 'selftest: [^<]*' "$TMP/svg.dom")"
ok "SVG zoom and search work in Chromium"

# --- HTML flame graph ---------------------------------------------------------------------
"$CTRACE" report --flame "$TMP/heap.html" "$TMP/heap.pb.gz" || fail "--flame html"
"$CTRACE" report --flame "$TMP/cpu.html" "$TMP/cpu.pb.gz" || fail "--flame html (cpu)"
for f in "$TMP/heap.html" "$TMP/cpu.html"; do
	grep -Eq 'https?:' "$f" && fail "$f names a URL"
	grep -Eiq '<(link|img|iframe)|<script[^>]* src=|@import|url\(' "$f" &&
		fail "$f loads something from outside"
	grep -q 'main\.' "$f" || fail "$f lacks Go function names"
done
for f in heap cpu; do
	chrome --dump-dom "file://$TMP/$f.html#selftest" > "$TMP/$f.dom" ||
		fail "chromium on $f.html"
	result=$(grep -o 'selftest: [^<]*' "$TMP/$f.dom" | head -1)
	echo "$f.html: $result"
	case "$result" in "selftest: PASS"*) ;; *) fail "$f.html selftest: $result" ;; esac
done
mkdir -p "$CT_BUILD/tests/integration"
chrome --screenshot="$CT_BUILD/tests/integration/report_flame.png" \
	"file://$TMP/cpu.html#selftest" >/dev/null || fail "screenshot"
[ -s "$CT_BUILD/tests/integration/report_flame.png" ] || fail "no screenshot"
ok "HTML flame graphs pass their selftest (screenshot: tests/integration/report_flame.png)"

# --- diff -----------------------------------------------------------------------------------
"$CTRACE" report --diff "$TMP/cpu.pb.gz" "$TMP/cpu.pb.gz" > "$TMP/diff.txt" || fail "--diff text"
grep -q '^Diff: ' "$TMP/diff.txt" || fail "diff header"
grep -q '+0.00%  main\.hotLoop$' "$TMP/diff.txt" || fail "self-diff is not zero"
"$CTRACE" report --diff "$TMP/cpu.pb.gz" --flame "$TMP/diff.svg" "$TMP/cpu.pb.gz" ||
	fail "--diff --flame svg"
xmllint --noout "$TMP/diff.svg" || fail "diff SVG is not well-formed XML"
grep -q 'Differential Flame Graph' "$TMP/diff.svg" || fail "diff SVG title"
"$CTRACE" report --diff "$TMP/cpu.pb.gz" --flame "$TMP/diff.html" "$TMP/cpu.pb.gz" ||
	fail "--diff --flame html"
chrome --dump-dom "file://$TMP/diff.html#selftest" | grep -q 'selftest: PASS' ||
	fail "diff HTML selftest"
ok "diff table and differential flame graphs"

# --- a directory ----------------------------------------------------------------------------
mkdir -p "$TMP/out"
cp "$TMP/cpu.pb.gz" "$TMP/heap.pb.gz" "$TMP/out/"
"$CTRACE" report "$TMP/out" > "$TMP/dir.txt" || fail "directory report"
cat "$TMP/dir.txt"
grep -q '^== cpu.pb.gz ==' "$TMP/dir.txt" || fail "directory: no cpu section"
grep -q '^== heap.pb.gz ==' "$TMP/dir.txt" || fail "directory: no heap section"
grep -q -- '--flame OUT.svg|OUT.html' "$TMP/dir.txt" || fail "directory: views not listed"
"$CTRACE" report -p heap --flame "$TMP/dirheap.svg" "$TMP/out" || fail "directory -p heap"
grep -q 'inuse_space' "$TMP/dirheap.svg" || fail "directory -p heap drew another profile"
# getopt's own errors name the command as the user typed it.
run_status "$CTRACE" report --bogus "$TMP/out" > /dev/null 2> "$TMP/opt.err"
[ "$st" -eq 2 ] && grep -q "^ctrace report: unrecognized option '--bogus'" "$TMP/opt.err" ||
	{ cat "$TMP/opt.err"; fail "report --bogus: status $st"; }
# A view whose OUT was left out took the input as its output: said so.
run_status "$CTRACE" report --trace-pprof wall "$TMP/out" > /dev/null 2> "$TMP/opt.err"
[ "$st" -eq 2 ] && grep -q "^ctrace: --trace-pprof took $TMP/out as its output, leaving nothing to read" "$TMP/opt.err" ||
	{ cat "$TMP/opt.err"; fail "report --trace-pprof wall DIR: status $st"; }
# Options that would be ignored are refused: -p with a profile file (it showed the file's
# own profile), flame-graph options without --flame.
for opt in "-p heap $TMP/out/cpu.pb.gz" "--icicle $TMP/out" "--title T $TMP/out" "--min-width 1 $TMP/out"; do
	# shellcheck disable=SC2086 # $opt is options and the input
	run_status "$CTRACE" report $opt > /dev/null 2> "$TMP/opt.err"
	[ "$st" -eq 2 ] && [ "$(wc -l < "$TMP/opt.err")" -eq 1 ] ||
		{ cat "$TMP/opt.err"; fail "report $opt: status $st, want 2 and one line"; }
done
ok "directory summary"

# --- errors -----------------------------------------------------------------------------------
set +e
"$CTRACE" report "$TMP/nonexistent.pb.gz" 2> "$TMP/err.txt"
rc=$?
set -e
[ $rc -eq 1 ] || fail "missing file: exit $rc, want 1"
grep -q "^ctrace: cannot read $TMP/nonexistent.pb.gz: " "$TMP/err.txt" || fail "missing file message"
[ "$(wc -l < "$TMP/err.txt")" -eq 1 ] || fail "missing file: more than one line"
printf 'not a profile' > "$TMP/bad.pb.gz"
set +e
"$CTRACE" report "$TMP/bad.pb.gz" 2> "$TMP/err.txt"
rc=$?
"$CTRACE" report --bogus "$TMP/cpu.pb.gz" 2> "$TMP/usage.txt"
rc2=$?
"$CTRACE" report --flame "$TMP/x.png" "$TMP/cpu.pb.gz" 2> /dev/null
rc3=$?
set -e
[ $rc -eq 1 ] || fail "bad file: exit $rc, want 1"
grep -q "^ctrace: cannot read $TMP/bad.pb.gz: " "$TMP/err.txt" || fail "bad file message"
[ $rc2 -eq 2 ] || fail "unknown option: exit $rc2, want 2"
grep -q '^usage: ctrace report' "$TMP/usage.txt" || fail "unknown option: no usage line"
[ $rc3 -eq 2 ] || fail "--flame x.png: exit $rc3, want 2"
ok "errors: one line, exit 1; usage: exit 2"
