#!/bin/sh
# test_small_stack.sh — the agent's work on the program's threads must fit in small stacks
# (tests/progs/small_stack.c). Writing the profiles at exit took ~80 KiB of the thread that
# called exit(): on a 32 or 64 KiB stack without a guard page below it (a program's own
# stacks), it wrote tens of KiB into the memory below; on a thread with a guard page, or
# the main thread under `ulimit -s 64`, the process died of SIGSEGV. The hooks' captures
# (libunwind, ~6 KiB) crashed 16 KiB threads that ran fine bare. Now the exit path runs
# on the agent's own stack, and a capture with too little room left takes no stack, which
# summary.txt's warning counts.
. "$(dirname "$0")/lib.sh"

prog=$CT_BUILD/tests/progs/small_stack
for kib in 32 64; do
	run_status "$CTRACE" record -q -o "$TMP/exit$kib" -- "$prog" exit $kib "$TMP/stack$kib" \
		> "$TMP/exit$kib.out" 2> "$TMP/exit$kib.err"
	[ "$st" = 7 ] || { cat "$TMP/exit$kib.err" >&2; fail "exit on a $kib KiB stack: status $st, want 7"; }
	grep -qx 'thread calls exit(7)' "$TMP/exit$kib.out" || fail "exit on a $kib KiB stack: output lost"
	"$prog" check $kib "$TMP/stack$kib" > "$TMP/check$kib" ||
		fail "exit on a $kib KiB stack: $(cat "$TMP/check$kib")"
	[ -s "$TMP/exit$kib/summary.txt" ] || fail "exit on a $kib KiB stack: no summary.txt"
done
ok "exit() from a thread on a 32 and a 64 KiB stack: status 7, no byte below the stack written"

# The main thread's stack limited to 64 KiB (the agent alone: the CLI keeps its own limit).
run_status sh -c 'ulimit -s 64 && exec env LD_PRELOAD="$1" CTRACE_OUT="$2" "$3" hooks 64 0' sh \
	"$CT_BUILD/lib/libctrace.so" "$TMP/main64" "$prog" > "$TMP/main64.out" 2> "$TMP/main64.err"
[ "$st" = 0 ] || { cat "$TMP/main64.err" >&2; fail "ulimit -s 64: status $st"; }
[ -s "$TMP/main64/summary.txt" ] || fail "ulimit -s 64: no summary.txt"
ok "main thread under ulimit -s 64: exits 0, files written"

# 16 KiB threads (PTHREAD_STACK_MIN) 12 frames deep: heap rate 1, contended locks, sleeps.
for sampler in perf timer; do
	run_status "$CTRACE" record -q --sampler $sampler -F 999 --heap-rate 1 -o "$TMP/h$sampler" \
		-- "$prog" hooks 16 12 > "$TMP/h$sampler.out" 2> "$TMP/h$sampler.err"
	[ "$st" = 0 ] || { cat "$TMP/h$sampler.err" >&2; fail "16 KiB threads ($sampler): status $st"; }
	grep -qx ok "$TMP/h$sampler.out" || fail "16 KiB threads ($sampler): no ok"
	grep -q '^warning=.*event(s) recorded without their stack' "$TMP/h$sampler/summary.txt" ||
		fail "16 KiB threads ($sampler): no warning of stackless events"
	"$CTRACE" report "$TMP/h$sampler/heap.pb.gz" > "$TMP/h$sampler.heap" 2>&1 ||
		fail "16 KiB threads ($sampler): heap profile unreadable"
done
ok "16 KiB threads with every capturing hook: no crash, stackless events counted"
