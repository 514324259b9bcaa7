# test_checkpoint — programs that never reach the agent's final write (issue 9 #4): a
# SIGKILLed C program and a cgo-linked Go binary (raw exit_group) leave readable profiles
# rebuilt from the agent's last checkpoint, with the hot function on top, and `ctrace
# record` says they came from a checkpoint. Also: a normal exit leaves no journal, stale
# temporary files are removed (#3), and the children that wrote nothing are named (#13).
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

# from_checkpoint DIR ERRFILE — DIR's profiles were rebuilt from a checkpoint and say so.
from_checkpoint() {
	grep -q '^checkpoint=profiles rebuilt from the last checkpoint' "$1/summary.txt" ||
		{ cat "$1/summary.txt"; fail "$1/summary.txt does not say it came from a checkpoint"; }
	grep -q 'ended without the agent.s final write: profiles rebuilt' "$2" ||
		{ cat "$2"; fail "record's summary does not say the profiles came from a checkpoint"; }
	[ ! -e "$1/checkpoint.ctk" ] || fail "the journal was left in $1"
	[ -z "$(find "$1" -name '*.tmp.*')" ] || fail "temporary files left in $1"
}

# self_kill_shares DIR WHAT — DIR (a run of self_kill) has hot_spot >= 50% of its CPU
# profile (cum) and keep_blocks >= 90% of its in-use heap; sets $hot and $kept.
self_kill_shares() {
	pprof_top "$1/cpu.pb.gz" -cum > "$1.cpu"
	hot=$(share "$1.cpu" hot_spot cum)
	awk -v h="$hot" 'BEGIN { exit !(h >= 50) }' || { cat "$1.cpu"; fail "$2: hot_spot has $hot% of the CPU profile"; }
	pprof_top "$1/heap.pb.gz" -sample_index=inuse_space > "$1.heap"
	kept=$(share "$1.heap" keep_blocks flat)
	awk -v h="$kept" 'BEGIN { exit !(h >= 90) }' || { cat "$1.heap"; fail "$2: keep_blocks has $kept% of the in-use heap"; }
}

# A C program that SIGKILLs itself after ~2.5 s: cpu, heap, mutex and block profiles.
set +e
"$CTRACE" record -o "$TMP/k" -- "$PROGS/self_kill" 2.5 2> "$TMP/k.err"
st=$?
set -e
[ "$st" -eq 137 ] || { cat "$TMP/k.err"; fail "self_kill: status $st, not 137 (SIGKILL)"; }
from_checkpoint "$TMP/k" "$TMP/k.err"
self_kill_shares "$TMP/k" SIGKILLed
pprof_top "$TMP/k/mutex.pb.gz" -cum > "$TMP/k.mutex"
[ "$(share "$TMP/k.mutex" lock_fight cum)" != 0 ] || { cat "$TMP/k.mutex"; fail "no lock_fight in the mutex profile"; }
pprof -raw "$TMP/k/block.pb.gz" > /dev/null 2>&1 || fail "block.pb.gz does not parse"
grep -q '^samples=[1-9]' "$TMP/k/summary.txt" || fail "the rebuilt summary counts no samples"
ok "SIGKILLed C program: profiles from its checkpoint (hot_spot $hot%, keep_blocks $kept% in use)"

# A cgo-linked Go binary: Go's runtime leaves with a raw exit_group, never through libc.
if command -v go > /dev/null; then
	mkdir -p "$TMP/gosrc"
	cat > "$TMP/gosrc/main.go" <<'GO'
package main

// #include <stdlib.h>
import "C"

import (
	"os"
	"time"
)

var sink uint64

//go:noinline
func hotGoLoop(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 100000; i++ {
			sink = sink*31 + uint64(i)
		}
	}
}

func main() {
	C.free(C.malloc(16))
	hotGoLoop(2500 * time.Millisecond)
	os.Exit(3)
}
GO
	(cd "$TMP/gosrc" && go build -o "$TMP/cgo_hot" main.go) || fail "cannot build the cgo program"
	set +e
	"$CTRACE" record -o "$TMP/g" -- "$TMP/cgo_hot" 2> "$TMP/g.err"
	st=$?
	set -e
	[ "$st" -eq 3 ] || { cat "$TMP/g.err"; fail "cgo program: status $st, not 3"; }
	from_checkpoint "$TMP/g" "$TMP/g.err"
	pprof_top "$TMP/g/cpu.pb.gz" > "$TMP/g.cpu"
	top=$(head -1 "$TMP/g.cpu" | cut -d' ' -f3-)
	[ "$top" = main.hotGoLoop ] || { cat "$TMP/g.cpu"; fail "top of the Go profile is '$top'"; }
	# Its .debug_aranges lists the cgo C files alone, which libdwfl stretches over the Go
	# code after them: every Go frame's line once read gcc_*.c.
	go tool pprof -raw "$TMP/g/cpu.pb.gz" 2> /dev/null | grep ' main\.hotGoLoop ' > "$TMP/g.loc"
	grep -q ' main\.hotGoLoop [^ ]*/main\.go:[0-9]' "$TMP/g.loc" && ! grep -q '\.c:[0-9]' "$TMP/g.loc" ||
		{ cat "$TMP/g.loc"; fail "cgo program: main.hotGoLoop's lines are not main.go's"; }
	ok "cgo Go binary (raw exit_group): profiles from its checkpoint, main.hotGoLoop on top, at main.go lines"
else
	echo "skip: go not installed"
fi

# A journal rewritten in full again and again (a tiny compaction threshold, a checkpoint
# every 50 ms) still rebuilds the same profiles.
set +e
CTRACE_CHECKPOINT=50ms CTRACE_CHECKPOINT_COMPACT=4096 "$CTRACE" record -o "$TMP/cp" -- \
	"$PROGS/self_kill" 1.5 2> "$TMP/cp.err"
set -e
from_checkpoint "$TMP/cp" "$TMP/cp.err"
self_kill_shares "$TMP/cp" compacted
ok "compacted journal: the same profiles (hot_spot $hot%, keep_blocks $kept% in use)"

# A normal exit: the final write came, the journal is gone. CTRACE_CHECKPOINT=0 and a
# SIGKILL: nothing to rebuild, and record says the agent wrote no summary.
"$CTRACE" record -o "$TMP/n" -- "$PROGS/spin" 1.2 2> "$TMP/n.err"
[ -f "$TMP/n/summary.txt" ] && [ ! -e "$TMP/n/checkpoint.ctk" ] || fail "a normal exit left the journal"
grep -q '^checkpoint=' "$TMP/n/summary.txt" && fail "a normal exit's summary says it came from a checkpoint"
grep -q 'last checkpoint' "$TMP/n.err" && fail "a normal exit is reported as rebuilt from a checkpoint"
set +e
CTRACE_CHECKPOINT=0 "$CTRACE" record -o "$TMP/off" -- "$PROGS/self_kill" 1.2 2> "$TMP/off.err"
set -e
[ ! -e "$TMP/off/cpu.pb.gz" ] && [ ! -e "$TMP/off/checkpoint.ctk" ] ||
	fail "CTRACE_CHECKPOINT=0 still checkpointed"
grep -q 'wrote no summary' "$TMP/off.err" || { cat "$TMP/off.err"; fail "no word about the missing summary"; }
ok "normal exit: no journal left; CTRACE_CHECKPOINT=0: no checkpoint"

# Temporary files a killed writer left (here planted by the program) are removed.
"$CTRACE" record -o "$TMP/t" -- sh -c 'mkdir -p "$CTRACE_OUT/4242" &&
	: > "$CTRACE_OUT/heap.pb.gz.tmp.77.0" && : > "$CTRACE_OUT/4242/cpu.pb.gz.tmp.78.1"' \
	2> "$TMP/t.err"
[ -z "$(find "$TMP/t" -name '*.tmp.*')" ] || fail "stale temporary files kept"
grep -q 'removed 2 temporary files' "$TMP/t.err" || { cat "$TMP/t.err"; fail "removal not reported"; }
ok "stale NAME.tmp.* files removed and reported"

# Children: one SIGKILLed after a checkpoint (rebuilt), one before any (named, with why).
"$CTRACE" record -o "$TMP/c" -- "$PROGS/self_kill" children > "$TMP/c.out" 2> "$TMP/c.err"
read -r late early < "$TMP/c.out"
from_checkpoint "$TMP/c/$late" "$TMP/c.err"
pprof_top "$TMP/c/$late/cpu.pb.gz" -cum > "$TMP/c.cpu"
[ "$(share "$TMP/c.cpu" child_spot cum)" != 0 ] || { cat "$TMP/c.cpu"; fail "no child_spot in the child's profile"; }
grep -q "child $early (.*self_kill children) wrote nothing: .*SIGKILL" "$TMP/c.err" ||
	{ cat "$TMP/c.err"; fail "the child killed before any checkpoint is not named with a reason"; }
ok "children: one rebuilt from its checkpoint, one that wrote nothing named with why"
