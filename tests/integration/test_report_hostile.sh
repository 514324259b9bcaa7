# test_report_hostile.sh — `ctrace report` on hostile inputs (tests/tools/pprof_hostile.c):
# control characters in every name reach no terminal raw, a flame graph of a profile with
# more than 16 sample types, the lock report's reason table under --top and with many
# distinct rows, and a small gzip of millions of identical samples read in bounded memory.
. "$(dirname "$0")/lib.sh"

[ -x "$CTRACE" ] || fail "no $CTRACE (build it first)"
GEN=$CT_BUILD/tests/tools/pprof_hostile
[ -x "$GEN" ] || fail "no $GEN (make all builds it)"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "chromium not installed (Debian chromium)"

# --- control characters in names ---------------------------------------------------------
# Every name of names.pb.gz carries ESC sequences (colour, title, clear screen), BEL, CR,
# DEL or a raw 0x9b (CSI to 8-bit terminals), next to valid UTF-8. Whatever report prints
# — tables, warnings, folded stacks — shows them as \xNN; the UTF-8 stays as it is.
"$GEN" names "$TMP/names.pb.gz"
"$GEN" lock-names "$TMP/locknames.pb.gz"
mkdir -p "$TMP/lk" "$TMP/lkm"
cp "$TMP/locknames.pb.gz" "$TMP/lk/block.pb.gz"
cp "$TMP/locknames.pb.gz" "$TMP/lkm/mutex.pb.gz" # read as a mutex profile: its name says so
CTL=$(printf '[\001-\010\013-\037\177]') # C0 but line feed (and tab), DEL
# no_ctl FILE WHAT — fails when FILE holds a raw control character or 0x9b
no_ctl() {
	if LC_ALL=C grep -n "$CTL" "$1" > "$TMP/ctl.hits" ||
		LC_ALL=C grep -n "$(printf 'ue\233')" "$1" >> "$TMP/ctl.hits"; then
		od -c "$TMP/ctl.hits" | head -20
		fail "$2: raw control characters"
	fi
}
run() { # run NAME ARGS... — report with ARGS into $TMP/NAME.out and .err, status 0
	n=$1; shift
	"$CTRACE" report "$@" > "$TMP/$n.out" 2> "$TMP/$n.err" ||
		{ cat "$TMP/$n.err"; fail "report $*: status $?"; }
	no_ctl "$TMP/$n.out" "report $* (stdout)"
	no_ctl "$TMP/$n.err" "report $* (stderr)"
}
run top "$TMP/names.pb.gz"
run locks --locks "$TMP/lk"
run mutex --locks "$TMP/lkm"
# A profile that is not a lock profile (its values are CPU time) is refused, in one line.
run_status "$CTRACE" report --locks "$TMP/names.pb.gz" > "$TMP/notlock.out" 2> "$TMP/notlock.err"
[ "$st" = 1 ] && grep -q 'not a mutex or block profile' "$TMP/notlock.err" ||
	{ cat "$TMP/notlock.err"; fail "report --locks of a CPU profile: status $st"; }
no_ctl "$TMP/notlock.err" "report --locks of a CPU profile (stderr)"
run diff --diff "$TMP/names.pb.gz" "$TMP/names.pb.gz"
run folded --folded - "$TMP/names.pb.gz"
run tagged --tag 'reason=val' "$TMP/names.pb.gz"
for want in 'evil\x1b[31mRED\x1b[0m\x1b]0;pwned\x07' '\x1b[5mlibevil\x7f.so+0x900' \
	'ns::καλημέρα<世界>' 'Type: cpu\x1b[7m (nanoseconds)' 'Comment: comment \x1b[8mhidden'; do
	grep -qF "$want" "$TMP/top.out" || { cat "$TMP/top.out"; fail "text table lacks $want"; }
done
grep -qF 'cannot open /lib/\x1b[5mlibevil\x7f.so' "$TMP/top.err" ||
	{ cat "$TMP/top.err"; fail "the warning does not escape the module's name"; }
grep -qF '  reason val\x1b[1mue\x9b31m' "$TMP/locks.out" &&
	grep -qF '(\x1b[2Jfile\x0d.c:10)' "$TMP/locks.out" &&
	grep -qF 'lock 0x1\x1b[31m' "$TMP/mutex.out" ||
	{ cat "$TMP/locks.out" "$TMP/mutex.out"; fail "--locks does not escape labels and files"; }
grep -qF 'evil\x1b[31mRED' "$TMP/diff.out" || fail "--diff does not escape names"
# Folded stacks stay one stack a line, "frames count": ';' in a name is ':', a line break
# \x0a.
[ "$(wc -l < "$TMP/folded.out")" -eq 2 ] &&
	grep -qxF 'main;ns::καλημέρα<世界>;semi:colon\x0anewline;evil\x1b[31mRED\x1b[0m\x1b]0:pwned\x07 50000000' \
		"$TMP/folded.out" ||
	{ cat "$TMP/folded.out"; fail "folded stacks of odd names"; }
# SVG and HTML escape for XML and JSON: both parse.
"$CTRACE" report --flame "$TMP/names.svg" "$TMP/names.pb.gz" 2> /dev/null
xmllint --noout "$TMP/names.svg" || fail "the SVG of odd names is not well-formed"
"$CTRACE" report --flame "$TMP/names.html" "$TMP/names.pb.gz" 2> /dev/null
no_ctl "$TMP/names.html" "the HTML flame graph"
# A trace: trace_synth's thread 3 is named "we\"ird <b>&\x01\x1b[31m".
"$CT_BUILD/tests/tools/trace_synth" -q -t 5 -e 3000 "$TMP/t.ctr"
run sched --sched "$TMP/t.ctr"
grep -qF 'we"ird <b>&\x01\x1b[31m' "$TMP/sched.out" ||
	{ cat "$TMP/sched.out"; fail "--sched does not escape thread names"; }
ok "text, --locks, --diff, --folded, --sched, warnings: control characters shown as \\xNN"

# --- a flame graph of more than 16 sample types --------------------------------------------
# The HTML page carries every type; its tree string's masks were one 16-bit number a node
# ("Argument list too long" past 16 types). Decoded here as the page does (flame_html.c),
# then loaded by the page itself.
"$GEN" types 40 "$TMP/t40.pb.gz"
"$CTRACE" report --flame "$TMP/t40.html" "$TMP/t40.pb.gz" 2> "$TMP/t40.err" ||
	{ cat "$TMP/t40.err"; fail "--flame of a profile with 40 sample types"; }
python3 - "$TMP/t40.html" 40 <<'PY' || fail "the tree string of 40 types does not decode"
import json, re, sys
page, nc = open(sys.argv[1]).read(), int(sys.argv[2])
d = json.loads(re.search(r'<script[^>]*id="ct-data"[^>]*>(.*?)</script>', page, re.S).group(1))
S, pos = d["tree"], 0
digit = {c: i for i, c in enumerate(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
def num():
    global pos
    v, mul = 0, 1
    while True:
        c = digit[S[pos]]; pos += 1
        v += (c & 31) * mul; mul *= 32
        if not c & 32:
            return v
w = min(nc, 16)
totals = [0] * nc
for n in range(d["nodes"]):
    masks = [num() % (1 << w)]
    if n:
        num()
    masks += [num() for _ in range(1, (nc + 15) // 16)]
    for k in range(nc):
        if masks[k // 16] >> (k % 16) & 1:
            z = num()
            totals[k] += (-(z + 1) // 2 if z % 2 else z // 2) * d["scale"][k]
assert pos == len(S), "characters left over"
want = [sum((k + 1) * (j + 1) for j in range(3) if (j + k) % 3) for k in range(nc)]
assert totals == want, (totals, want)
PY
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/chromium" \
	--disable-background-networking --disable-component-update --disable-sync --no-first-run \
	--disable-dev-shm-usage --window-size=1400,900 --dump-dom "file://$TMP/t40.html#selftest" \
	> "$TMP/t40.dom" 2>> "$TMP/chromium.log" || fail "chromium on t40.html"
grep -q 'selftest: PASS' "$TMP/t40.dom" ||
	fail "t40.html selftest: $(grep -o 'selftest: [^<]*' "$TMP/t40.dom")"
ok "HTML flame graph of 40 sample types: every column decodes, the page passes its selftest"

# --- the lock report's reason table: --top, and many distinct rows ------------------------
# 50000 reasons: the table printed every one with its sites (a scan of all samples per
# row, and a linear search per label: 25 s and 250000 lines), ignoring --top.
mkdir -p "$TMP/locks"
"$GEN" reasons 50000 "$TMP/locks/block.pb.gz"
timeout 20 "$CTRACE" report --locks -n 3 "$TMP/locks" > "$TMP/locks.out" ||
	fail "--locks of 50000 reasons: status $?"
grep -q '^Blocking by reason: 50000 (top 3 by wait' "$TMP/locks.out" ||
	{ cat "$TMP/locks.out"; fail "the reason table does not say how many rows it has"; }
[ "$(grep -c '^  reason[0-9]' "$TMP/locks.out")" -eq 3 ] &&
	[ "$(grep -c '^  reason reason' "$TMP/locks.out")" -eq 3 ] &&
	grep -q '^  reason49999 ' "$TMP/locks.out" ||
	{ head -30 "$TMP/locks.out"; fail "--top 3 does not bound the reason table"; }
ok "--locks -n 3: the reason table shows the 3 heaviest of 50000 reasons"

# --- memory: a small gzip of millions of identical samples ------------------------------
# 10 million identical 14-byte records gzip to about 270 KB. Each was a sample of its own
# (and an 8-byte offset besides): about 1.1 GB to report, so under a 600 MB address-space
# limit the report failed with "out of memory". Merged as they are read, they are one
# sample; what remains is the decompressed message (140 MB).
"$GEN" repeat 10000000 "$TMP/repeat.pb.gz"
run_status sh -c 'ulimit -v 600000 && exec "$1" report "$2" > "$3" 2> "$4"' sh \
	"$CTRACE" "$TMP/repeat.pb.gz" "$TMP/repeat.out" "$TMP/repeat.err"
[ "$st" -eq 0 ] || { cat "$TMP/repeat.err"; fail "report of 10M identical samples: status $st"; }
grep -q '^Total: 10000000 in 1 records$' "$TMP/repeat.out" ||
	{ cat "$TMP/repeat.out"; fail "10M identical samples are not one record of 10M"; }
ok "a 270 KB gzip of 10M identical samples reports in 600 MB of address space"
