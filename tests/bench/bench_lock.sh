#!/bin/sh
# bench_lock.sh BUILD — what the lock hooks cost, measured bare and with the agent
# preloaded (lock and block profiles on), alternately in the same run, on one CPU. The
# uncontended cost is measured inside each process: rounds of pairs through the program's
# calls alternate with rounds calling libc directly (bench_lock interposed), and the bare
# run's difference (a PLT call against a pointer call) is subtracted; each figure is the
# median over the repetitions, with the 10th and 90th percentiles as its spread. Prints:
#   bench lock_uncontended_bare          N ns   one uncontended lock+unlock pair, no agent
#   bench lock_uncontended_added         N ns   added by the hooks to that pair (target <= 5)
#   bench lock_uncontended_added_p10     N ns   \ spread of the above over the
#   bench lock_uncontended_added_p90     N ns   / repetitions
#   bench lock_uncontended_added_whole   N ns   the traced program's pair against the bare
#                                               program's (two processes): the hooks, plus
#                                               glibc's multi-threaded paths, which the
#                                               agent's collector thread brings
#   bench lock_uncontended_many_added    N ns   added, the pairs taking 4096 mutexes in turn
#   bench lock_uncontended_added_instructions N instructions   added to the pair, counted
#                                               by callgrind (deterministic; needs valgrind)
#   bench lock_contention_record         N ns   added per recorded contention: a timed-out
#                                               timedlock, waiter side (target <= 2000)
#   bench lock_contended4_cpu_added      N %    4 threads on one mutex: extra CPU time of
#                                               the whole process, agent included
#   bench lock_contended4_recorded       N contentions   recorded in the last traced run
# CT_BENCH_AGENT=PATH measures another build of the agent; CT_BENCH_BASE_AGENT=PATH also
# runs that build in every uncontended repetition, for a before/after comparison in the
# same run (lock_uncontended_added_base, lock_uncontended_added_base_instructions);
# CT_BENCH_REPS=N sets the number of uncontended repetitions (default 11).
set -eu
. "$(dirname "$0")/bench_lib.sh"
bench_setup bench_lock 11 "${1:-build}"

# `bench_lock interposed` binds its measuring thread to one CPU itself (the agent's
# collector thread stays free to run on another); the other modes run pinned to the last
# CPU allowed (taskset), bare and traced alike.

# run_bare / run_traced / run_base ARGS... — bench_lock's output line, bare or with the
# agent (the base build) preloaded.
run_bare() { "$bin" "$@"; }
run_traced() {
	rm -rf "$tmp/out"
	CTRACE_OUT=$tmp/out CTRACE_MODES=lock,block LD_PRELOAD=$agent "$bin" "$@"
}
base=${CT_BENCH_BASE_AGENT:-}
run_base() { CTRACE_OUT=$tmp/base CTRACE_MODES=lock,block LD_PRELOAD=$base "$bin" "$@"; }
# bare / traced ARGS... — the value of bench_lock's output, pinned.
bare() { $pin "$bin" "$@" | awk '{print $2}'; }
traced() {
	rm -rf "$tmp/out"
	CTRACE_OUT=$tmp/out CTRACE_MODES=lock,block LD_PRELOAD=$agent $pin "$bin" "$@" |
		awk '{print $2}'
}

# quantile Q FILE — the Q-quantile (0..1, nearest rank) of the numbers in FILE.
quantile() {
	sort -g "$2" | awk -v q="$1" '{v[NR] = $1} END {
		i = int(q * (NR - 1) + 0.5) + 1; printf "%.2f\n", v[i] }'
}

# field N LINE — the value after the Nth label of a bench_lock output line.
field() { echo "$2" | awk -v n="$1" '{print $(2 * n)}'; }

# Alternating repetitions of `bench_lock MODE`: the bare best round in $tmp/bare, the
# hooks' cost in $tmp/added (the base build's in $tmp/added_base), the traced best round
# less the bare one in $tmp/whole.
uncontended() {
	: > "$tmp/bare" ; : > "$tmp/added" ; : > "$tmp/whole" ; : > "$tmp/added_base"
	i=0
	while [ "$i" -lt "$2" ]; do
		b=$(run_bare "$1" 4000000)
		t=$(run_traced "$1" 4000000)
		echo "$1 rep $i: bare [$b], traced [$t]" >&2
		field 2 "$b" >> "$tmp/bare"
		awk "BEGIN{print $(field 1 "$t") - $(field 1 "$b")}" >> "$tmp/added"
		awk "BEGIN{print $(field 2 "$t") - $(field 2 "$b")}" >> "$tmp/whole"
		if [ -n "$base" ]; then
			o=$(run_base "$1" 4000000)
			echo "$1 rep $i: base [$o]" >&2
			awk "BEGIN{print $(field 1 "$o") - $(field 1 "$b")}" >> "$tmp/added_base"
		fi
		i=$((i + 1))
	done
}

uncontended interposed "$reps"
echo "bench lock_uncontended_bare $(quantile 0.5 "$tmp/bare") ns"
echo "bench lock_uncontended_added $(quantile 0.5 "$tmp/added") ns"
echo "bench lock_uncontended_added_p10 $(quantile 0.1 "$tmp/added") ns"
echo "bench lock_uncontended_added_p90 $(quantile 0.9 "$tmp/added") ns"
echo "bench lock_uncontended_added_whole $(quantile 0.5 "$tmp/whole") ns"
[ -z "$base" ] ||
	echo "bench lock_uncontended_added_base $(quantile 0.5 "$tmp/added_base") ns"
uncontended interposed_many 5
echo "bench lock_uncontended_many_added $(quantile 0.5 "$tmp/added") ns"

# Instructions per pair: callgrind counts lock_pairs() alone (the agent's collector
# thread is not counted); two lengths cancel the first call's lazy binding.
if command -v valgrind >/dev/null 2>&1; then
	ir() {
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" --trace-children=yes \
			--toggle-collect=lock_pairs env "$@" 2>&1 >/dev/null |
			sed -n 's/.*Collected : *//p'
	}
	b1=$(ir "$bin" pairs 1000) b2=$(ir "$bin" pairs 3000)
	pre="CTRACE_OUT=$tmp/out CTRACE_MODES=lock,block LD_PRELOAD=$agent"
	t1=$(ir $pre "$bin" pairs 1000) t2=$(ir $pre "$bin" pairs 3000)
	echo "callgrind: bare $b1 / $b2, traced $t1 / $t2 instructions for 1000 / 3000 pairs" >&2
	echo "bench lock_uncontended_added_instructions" \
		"$(awk "BEGIN{printf \"%.1f\", (($t2 - $t1) - ($b2 - $b1)) / 2000}") instructions"
	if [ -n "$base" ]; then
		pre="CTRACE_OUT=$tmp/base CTRACE_MODES=lock,block LD_PRELOAD=$base"
		o1=$(ir $pre "$bin" pairs 1000) o2=$(ir $pre "$bin" pairs 3000)
		echo "bench lock_uncontended_added_base_instructions" \
			"$(awk "BEGIN{printf \"%.1f\", (($o2 - $o1) - ($b2 - $b1)) / 2000}") instructions"
	fi
else
	echo "bench_lock: valgrind not installed: no instruction count" >&2
fi

# compare N ARGS... — N alternating runs of each side: medians in b and t.
compare() {
	n=$1; shift
	: > "$tmp/cb" ; : > "$tmp/ct"
	for _ in $(seq "$n"); do
		bare "$@" >> "$tmp/cb"
		traced "$@" >> "$tmp/ct"
	done
	b=$(quantile 0.5 "$tmp/cb")
	t=$(quantile 0.5 "$tmp/ct")
}

compare 11 timedout 20000
echo "bench lock_contention_record $(awk "BEGIN{printf \"%.0f\", $t - $b}") ns"

# Contended: 4 threads on one mutex. The per-contention cost is the figure above (a
# difference of CPU times here drowns in scheduling noise on a shared machine); this
# reports the whole process's extra CPU time, agent included, and how many contentions
# the profile recorded (its block profile, reason mutex). Not pinned: the threads must
# run in parallel to contend.
pin=""
compare 5 contended 4 20000
echo "bench lock_contended4_cpu_added $(awk "BEGIN{printf \"%.1f\", ($t - $b) * 100 / $b}") %"
if command -v go >/dev/null 2>&1; then
	n=$(go tool pprof -raw -tagfocus reason=mutex "$tmp/out/block.pb.gz" 2>/dev/null |
		awk '/^Samples:/{s=1; next} /^Locations/{s=0} s && $2 ~ /:$/ {n += $1} END{print n+0}')
	echo "bench lock_contended4_recorded $n contentions"
fi
exit 0
