# bench_lib.sh — sourced by the drivers (bench_X.sh) of benchmark programs run under the
# agent. `bench_setup NAME DEFAULT_REPS BUILD` sets:
#   build, root  the build and source directories (absolute)
#   bin          $build/tests/bench/NAME, built when missing
#   agent        the agent measured: CT_BENCH_AGENT, else the build's libctrace.so
#   reps         repetitions: CT_BENCH_REPS, else DEFAULT_REPS
#   tmp          a private temporary directory, removed at exit
#   pin          "taskset -c CPU" pinning to the last CPU allowed, or "" without taskset
bench_setup() {
	build=$(cd "${3:-build}" && pwd)
	root=$(cd "$(dirname "$0")/../.." && pwd)
	bin=$build/tests/bench/$1
	agent=${CT_BENCH_AGENT:-$build/lib/libctrace.so}
	reps=${CT_BENCH_REPS:-$2}
	[ -x "$bin" ] || make -s -C "$root" BUILD="$build" "$bin" > /dev/null
	[ -e "$agent" ] || { echo "$1: $agent missing (run make)" >&2; exit 1; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-bench.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	pin=""
	if command -v taskset > /dev/null 2>&1; then
		cpu=$(taskset -cp $$ | sed 's/.*: *//; s/.*[,-]//')
		pin="taskset -c $cpu"
	fi
}
