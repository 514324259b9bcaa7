#!/bin/sh
# bench_children.sh BUILD — what a child process costs under the agent (every process a
# traced program starts runs the agent too), bare and traced alternately in the same run.
# Per child, as the slope between 100 and 300 children (start-up and exit of the parent
# cancel out), median of CT_BENCH_REPS (default 3) repetitions; CPU of the parent and all
# its children (agent threads included), and wall. Prints:
#   bench children_exit_bare_us       N us  CPU per forked child that _exits at once
#   bench children_exit_all_ratio     N x   that with the agent, all modes, against bare
#   bench children_exec_bare_us       N us  per forked child that execs /bin/true
#   bench children_exec_all_ratio     N x
#   bench children_sh_bare_us         N us  per /bin/true a /bin/sh loop runs
#   bench children_sh_all_ratio       N x
#   bench children_MODE_wall_all_ms   N ms  wall per child with the agent (MODE: exit,
#   bench children_MODE_wall_bare_ms  N ms  exec, sh), and bare
#   bench children_loadavg            N     1-minute load average at the end
# CT_BENCH_AGENT=PATH measures another build of the agent.
set -eu
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/tests/bench/bench_children
agent=${CT_BENCH_AGENT:-$build/lib/libctrace.so}
reps=${CT_BENCH_REPS:-3}
[ -x "$bin" ] || make -s -C "$root" BUILD="$build" "$bin" >/dev/null
[ -e "$agent" ] || { echo "bench_children: $agent missing (run make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

run() { # bare|all MODE N → "children N wall_ns cpu_ns"
	if [ "$1" = bare ]; then
		"$bin" "$2" "$3"
	else
		rm -rf "$tmp/out"
		CTRACE_OUT=$tmp/out LD_PRELOAD=$agent "$bin" "$2" "$3"
	fi
}
median() { sort -g "$1" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

i=0
while [ "$i" -lt "$reps" ]; do
	for mode in exit exec sh; do
		for m in bare all; do
			s=$(run "$m" "$mode" 100) l=$(run "$m" "$mode" 300)
			echo "$mode $m: short [$s] long [$l]" >&2
			echo "$s $l" | awk '{ printf "%.1f\n", ($8 - $4) / 200 / 1000 }' >> "$tmp/$mode.$m"
			echo "$s $l" | awk '{ printf "%.3f\n", ($7 - $3) / 200 / 1e6 }' >> "$tmp/$mode.$m.wall"
		done
	done
	i=$((i + 1))
done

for mode in exit exec sh; do
	echo "bench children_${mode}_bare_us $(median "$tmp/$mode.bare") us"
	echo "bench children_${mode}_all_ratio $(awk -v t="$(median "$tmp/$mode.all")" \
		-v b="$(median "$tmp/$mode.bare")" 'BEGIN { printf "%.2f", (b > 0 ? t / b : 0) }') x"
	echo "bench children_${mode}_wall_all_ms $(median "$tmp/$mode.all.wall") ms"
	echo "bench children_${mode}_wall_bare_ms $(median "$tmp/$mode.bare.wall") ms"
done
echo "bench children_loadavg $(cut -d' ' -f1 /proc/loadavg)"
