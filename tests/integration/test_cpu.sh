# test_cpu — `ctrace record` on samples/cpu_hot, both engines: the profile parses in
# go tool pprof without warnings, the designed work split shows within ±10 points, and
# inlined and shared-library functions carry their own names and lines.
. "$(dirname "$0")/lib.sh"

check_split() { # DIR ENGINE
	dir=$1 eng=$2
	grep -q "engine $eng" "$TMP/$eng.err" || { cat "$TMP/$eng.err"; fail "$eng: summary does not name engine $eng"; }
	pprof_top "$dir/cpu.pb.gz" > "$TMP/$eng.top"
	head -12 "$TMP/$eng.top"
	for spec in "hot_loop 50" "lib_work 15" "cool_loop 10"; do
		set -- $spec
		v=$(share "$TMP/$eng.top" "$1" flat)
		near "$v" "$2" 10 || fail "$eng: $1 has $v% flat, designed $2%"
	done
	set -- "$dir" "$eng"
	# warm_inner is inlined into warm_loop: pprof lists it as its own (inline) function.
	v=$(share "$TMP/$2.top" "warm_inner (inline)" flat)
	near "$v" 25 10 || fail "$2: warm_inner (inline) has $v% flat, designed 25%"
	v=$(share "$TMP/$2.top" warm_loop cum)
	near "$v" 25 10 || fail "$2: warm_loop has $v% cum, designed 25%"
	# Lines: inlined frame and shared library function carry file:line.
	go tool pprof -traces "$dir/cpu.pb.gz" > "$TMP/$2.traces" 2>/dev/null
	grep -qE 'warm_inner .*cpu_hot\.c:[0-9]+' "$TMP/$2.traces" ||
		go tool pprof -list 'warm_inner' "$dir/cpu.pb.gz" 2>/dev/null | grep -q 'cpu_hot.c' ||
		fail "$2: no source line for warm_inner"
	go tool pprof -top -lines "$dir/cpu.pb.gz" 2>/dev/null | grep -qE 'lib_work .*cpu_hot_lib\.c:[0-9]+' ||
		fail "$2: lib_work has no cpu_hot_lib.c line"
	# Thread labels work with -tagfocus.
	go tool pprof -tags "$dir/cpu.pb.gz" 2>/dev/null | grep -q 'thread' || fail "$2: no thread label"
	ok "$2 engine: split within ±10 points"
}

for engine in perf timer; do
	# 499 Hz: ~500 samples, so that sampling noise (±2 points) stays far inside ±10.
	"$CTRACE" record -o "$TMP/$engine" -F 499 --sampler "$engine" -- "$SAMPLES/cpu_hot" \
		> "$TMP/$engine.out" 2> "$TMP/$engine.err" || { cat "$TMP/$engine.err"; fail "record ($engine) failed"; }
	grep -q "cpu_hot done" "$TMP/$engine.out" || fail "program output lost"
	check_split "$TMP/$engine" "$engine"
done

# The text report agrees: hot_loop is on top.
"$CTRACE" report "$TMP/perf/cpu.pb.gz" > "$TMP/report.txt" || fail "report failed"
grep -m1 -E '^ *[0-9.]+[a-zµ]*s? +[0-9.]+%' "$TMP/report.txt" | grep -q hot_loop ||
	{ cat "$TMP/report.txt"; fail "report: hot_loop is not the top row"; }
ok "report lists hot_loop first"

# perf_event_open refused (a seccomp filter, as in containers): the agent falls back to
# the timer engine by itself, says why, and the profile is still right.
"$CT_BUILD/tests/progs/noperf" "$CTRACE" record -o "$TMP/fallback" -F 499 -- "$SAMPLES/cpu_hot" \
	> /dev/null 2> "$TMP/fallback.err" || { cat "$TMP/fallback.err"; fail "record under seccomp failed"; }
grep -q "engine timer" "$TMP/fallback.err" || { cat "$TMP/fallback.err"; fail "no fallback to timer"; }
grep -q "fallback: perf_event_open.*Permission denied" "$TMP/fallback.err" ||
	{ cat "$TMP/fallback.err"; fail "fallback reason not given"; }
go tool pprof -comments "$TMP/fallback/cpu.pb.gz" 2>/dev/null | grep -q "engine timer" ||
	fail "profile comments do not name the engine"
pprof_top "$TMP/fallback/cpu.pb.gz" > "$TMP/fallback.top"
v=$(share "$TMP/fallback.top" hot_loop flat)
near "$v" 50 10 || fail "fallback: hot_loop has $v%"
ok "automatic fallback to the timer engine"

# Above the scheduler tick rate one timer signal stands for several periods: the timer
# engine must weigh samples by the overrun, so both engines account the same CPU time.
total_ms() { go tool pprof -top -unit=ms "$1" 2>/dev/null | sed -n 's/.*Total samples = \([0-9.]*\)ms.*/\1/p'; }
for engine in perf timer; do
	"$CTRACE" record -q -o "$TMP/hz-$engine" -F 999 -e cpu --sampler $engine -- "$SAMPLES/cpu_hot" \
		> /dev/null 2>&1 || fail "record -F 999 --sampler $engine failed"
done
p=$(total_ms "$TMP/hz-perf/cpu.pb.gz"); t=$(total_ms "$TMP/hz-timer/cpu.pb.gz")
awk -v p="$p" -v t="$t" 'BEGIN { exit !(p > 0 && t > 0.8 * p && t < 1.2 * p) }' ||
	fail "999 Hz: timer engine accounts ${t}ms of CPU, perf ${p}ms"
ok "999 Hz: timer ${t}ms vs perf ${p}ms of CPU"
