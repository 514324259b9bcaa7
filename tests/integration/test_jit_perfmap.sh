#!/bin/sh
# test_jit_perfmap.sh — JIT code named from the perf map its process wrote
# (/tmp/perf-<pid>.map): the agent gives anonymous executable memory a "//anon" mapping,
# `record` and `report` name its addresses (the agent copies the map into DIR). A tiny C JIT with both engines, and Node's
# --perf-basic-prof when node is installed.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

for engine in perf timer; do
	"$CTRACE" record -o "$TMP/jit-$engine" -e cpu --sampler $engine -- "$PROGS/jit_map" \
		> "$TMP/jit.out" 2> "$TMP/jit.err" || { cat "$TMP/jit.err"; fail "jit_map failed"; }
	rm -f "/tmp/perf-$(cat "$TMP/jit.out").map"
	pprof_top "$TMP/jit-$engine/cpu.pb.gz" > "$TMP/jit.top"
	v=$(share "$TMP/jit.top" jit_hot_loop flat)
	near "$v" 100 25 || { cat "$TMP/jit.top"; fail "$engine: jit_hot_loop has $v%, want ~100%"; }
	"$CTRACE" report "$TMP/jit-$engine" > "$TMP/jit.rep" 2>&1 || fail "report failed"
	grep -q jit_hot_loop "$TMP/jit.rep" || { cat "$TMP/jit.rep"; fail "report does not name jit_hot_loop"; }
done
ok "JIT code named from the perf map, perf and timer engines"

# Agent only: the map is copied into DIR at exit, so `report` names the code after the
# process's own /tmp file is gone.
CTRACE_OUT="$TMP/agent" CTRACE_MODES=cpu LD_PRELOAD="$CT_BUILD/lib/libctrace.so" \
	"$PROGS/jit_map" > "$TMP/jit.out" || fail "jit_map failed under the agent"
pid=$(cat "$TMP/jit.out")
rm -f "/tmp/perf-$pid.map"
[ -f "$TMP/agent/perf-$pid.map" ] || { ls "$TMP/agent"; fail "perf map not copied into DIR"; }
"$CTRACE" report "$TMP/agent" > "$TMP/agent.rep" 2>&1 || { cat "$TMP/agent.rep"; fail "report failed"; }
grep -q jit_hot_loop "$TMP/agent.rep" || { cat "$TMP/agent.rep"; fail "report does not name jit_hot_loop from DIR's copy"; }
ok "perf map copied into DIR; report names JIT code without /tmp's file"

command -v node > /dev/null || { echo "skip: node not installed"; exit 0; }
cat > "$TMP/hot.js" << 'JS'
function hotFunction(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) % 7; return s; }
let t = 0;
for (let k = 0; k < 60; k++) t += hotFunction(1000000);
console.log(t > 0 ? "done" : "bad");
JS
# In $TMP: --perf-basic-prof also writes isolate-*-v8.log into the current directory.
(cd "$TMP" && "$CTRACE" record -o "$TMP/node" -e cpu -- node --perf-basic-prof "$TMP/hot.js" \
	> "$TMP/node.out" 2> "$TMP/node.err") || { cat "$TMP/node.err"; fail "node failed"; }
rm -f "/tmp/perf-$(sed -n 's/^pid=//p' "$TMP/node/summary.txt").map"
grep -qx done "$TMP/node.out" || fail "node's output changed"
pprof_top "$TMP/node/cpu.pb.gz" > "$TMP/node.top"
v=$(awk '$3 ~ /hotFunction/ { s += $1 } END { print s + 0 }' "$TMP/node.top")
near "$v" 70 30 || { cat "$TMP/node.top"; fail "node: hotFunction has $v% flat, want most"; }
ok "node --perf-basic-prof: hotFunction named ($v% flat)"
