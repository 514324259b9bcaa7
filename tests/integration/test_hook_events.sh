# test_hook_events — the scheduler trace's hook records (tests/progs/hook_events), logged
# by the agent's hookstats source under CTRACE_VERBOSE: unblock edges of a join, a cond
# signal, a sem_post and a mutex hand-over (the join's with the woken tid); a start record
# with the creator's stack per thread created, an end record per thread that ended; names
# set with pthread_setname_np (own and another thread's) and prctl; and the thread left
# blocked forever in pthread_cond_wait listed at exit with reason cond and its stack
# (leaf stuck_forever, then stuck), the one blocked in read(2) of a pipe with reason io
# and its call site (stuck_reader), and the one blocked in epoll_wait with reason net and
# its whole stack (poll_forever, then stuck_poller: a readiness wait takes no stack at its
# entry, so the exit path unwinds the sleeping thread's stack). With the block mode alone
# the open wait is still listed but no trace records are made. A signal handler's sem_posts
# on a fresh thread record their edges without calling malloc (tests/progs/sig_sem_post).
. "$(dirname "$0")/lib.sh"

prog=$CT_BUILD/tests/progs/hook_events
agent=$CT_BUILD/lib/libctrace.so

run() { # NAME MODES
	CTRACE_OUT=$TMP/$1 CTRACE_MODES=$2 CTRACE_VERBOSE=1 LD_PRELOAD=$agent "$prog" \
		> "$TMP/$1.out" 2> "$TMP/$1.err" || { cat "$TMP/$1.err"; fail "$2: run failed"; }
	grep -q 'hook_events done' "$TMP/$1.out" || fail "$2: program output changed"
}
num() { # ERRFILE WHAT — the number before WHAT on the "hooks:" line
	sed -n 's/.*hooks: //p' "$1" | tr ',()' '\n\n\n' |
		awk -v w="$2" 'index($0, w) {print $1; found=1; exit} END {if (!found) print -1}'
}

run s block,sched
unb=$(num "$TMP/s.err" ' unblock') woken=$(num "$TMP/s.err" 'with woken tid')
starts=$(num "$TMP/s.err" 'thread start') cst=$(num "$TMP/s.err" 'with creator stack')
ends=$(num "$TMP/s.err" 'thread end') names=$(num "$TMP/s.err" 'thread name')
# 5 joins (each thread still running when main joins, but maybe not the last ones: >= 1),
# 1 cond signal, 1 sem_post, >= 1 mutex hand-over.
[ "$unb" -ge 4 ] || { cat "$TMP/s.err"; fail "unblock edges: $unb, want >= 4"; }
[ "$woken" -ge 1 ] || fail "no join edge with the woken tid ($woken)"
[ $((unb - woken)) -ge 3 ] || fail "cond/sem/mutex edges: $((unb - woken)), want >= 3"
ok "unblock edges: $unb ($woken joins with the woken tid)"
[ "$starts" -eq 7 ] && [ "$cst" -eq 7 ] || fail "thread starts: $starts ($cst with creator stack), want 7"
[ "$ends" -eq 4 ] || fail "thread ends: $ends, want 4 (the stuck threads never end)"
ok "lifecycle: $starts starts with the creator's stack, $ends ends"
[ "$names" -eq 3 ] || fail "names: $names, want 3"
for n in exiter stuck renamed; do
	grep -q "thread name: tid=[0-9]* name=$n\$" "$TMP/s.err" || fail "name $n not recorded"
done
ok "names from pthread_setname_np (own, other thread) and prctl"

# The stuck thread: reason cond, the stack at entry, leaf stuck_forever.
[ "$(grep -c 'open wait:' "$TMP/s.err")" -eq 3 ] || fail "open waits: $(grep 'open wait:' "$TMP/s.err")"
line=$(grep 'open wait: .*reason=cond' "$TMP/s.err") || fail "no cond wait listed at exit"
frames=$(echo "$line" | sed 's/.*stack://' | tr ' ' '\n' | grep '^hook_events+' |
	sed 's/.*+//' | head -2)
[ -n "$frames" ] || fail "open wait without the program's frames: $line"
fns=$(for f in $frames; do addr2line -f -e "$prog" "$(printf '0x%x' $((f - 1)))" | head -1; done |
	tr '\n' ' ')
[ "$fns" = "stuck_forever stuck " ] || fail "open wait stack: $fns (want stuck_forever stuck)"
ok "thread blocked at exit: $(echo "$line" | sed 's/.*open wait: //; s/ stack:.*//'), stack $fns"

# The reader: reason io (a pipe), its call site in stuck_reader (read registers no stack).
line=$(grep 'open wait: .*reason=io' "$TMP/s.err") || fail "no io wait listed at exit"
f=$(echo "$line" | sed 's/.*stack://' | tr ' ' '\n' | grep '^hook_events+' | sed 's/.*+//')
fn=$(addr2line -f -e "$prog" "$(printf '0x%x' $((f - 1)))" | head -1)
[ "$fn" = stuck_reader ] || fail "io open wait at $fn: $line"
ok "thread blocked in read(2) at exit: reason io, call site $fn"

# The poller: reason net, its stack unwound at exit from the sleeping thread's stack.
line=$(grep 'open wait: .*reason=net' "$TMP/s.err") || fail "no net wait listed at exit"
frames=$(echo "$line" | sed 's/.*stack://' | tr ' ' '\n' | grep '^hook_events+' |
	sed 's/.*+//' | head -2)
fns=$(for f in $frames; do addr2line -f -e "$prog" "$(printf '0x%x' $((f - 1)))" | head -1; done |
	tr '\n' ' ')
[ "$fns" = "poll_forever stuck_poller " ] || fail "net open wait stack: $fns (want poll_forever stuck_poller): $line"
ok "thread blocked in epoll_wait at exit: reason net, stack $fns"

# Block alone: the registry still lists the wait; no trace records.
run b block
grep -q 'open wait: .*reason=cond' "$TMP/b.err" || fail "block only: open wait not listed"
[ "$(num "$TMP/b.err" ' unblock')" -eq 0 ] && [ "$(num "$TMP/b.err" 'thread start')" -eq 0 ] ||
	fail "block only made trace records: $(grep hooks: "$TMP/b.err")"
ok "block only: open wait listed, no trace records"

# A program's signal handler that sem_posts to waiters, on a thread that has made no hooked
# call before: the agent takes the unblock edges' stacks inside the handler, and must not
# call malloc there (the signal may have interrupted malloc). libunwind's thread-local
# block was allocated with malloc at unw_backtrace's first call on a thread, here the
# handler's ninth capture; a thread now allocates it as it starts.
CTRACE_OUT=$TMP/sig CTRACE_MODES=sched LD_PRELOAD=$agent "$CT_BUILD/tests/progs/sig_sem_post" \
	> "$TMP/sig.out" 2> "$TMP/sig.err" || { cat "$TMP/sig.err"; fail "sig_sem_post failed"; }
grep -qx 'posted 12' "$TMP/sig.out" || fail "sig_sem_post: $(cat "$TMP/sig.out")"
grep -qx 'handler mallocs 0' "$TMP/sig.out" ||
	fail "the agent called malloc in a signal handler: $(cat "$TMP/sig.out")"
ok "sem_post in a signal handler: unblock edges taken without malloc"

# The same, on a thread whose TLS vector went out of date (a library it used dlclosed, 16
# more with thread-local data dlopened): libunwind's first access in the handler has glibc
# grow the vector and free the closed library's block there, with the program's allocator
# (a realloc and a free, counted by libcount_alloc.so below the agent's hooks). Inside a
# capture the agent serves them from its arena and puts the frees aside.
for i in $(seq 0 20); do cp "$CT_BUILD/tests/progs/libtls_mod.so" "$TMP/libtls$i.so"; done
CTRACE_OUT=$TMP/sigtls CTRACE_MODES=sched CTRACE_VERBOSE=1 \
	LD_PRELOAD=$agent:$CT_BUILD/tests/progs/libcount_alloc.so \
	"$CT_BUILD/tests/progs/sig_tls" "$TMP/libtls16.so" "$TMP/libtls%d.so" 16 \
	> "$TMP/sigtls.out" 2> "$TMP/sigtls.err" || { cat "$TMP/sigtls.err"; fail "sig_tls failed"; }
grep -qx 'posted 12' "$TMP/sigtls.out" || fail "sig_tls: $(cat "$TMP/sigtls.out")"
grep -qx 'handler allocator calls 0' "$TMP/sigtls.out" ||
	fail "the TLS update in a signal handler reached the allocator: $(cat "$TMP/sigtls.out")"
grep -q 'stack captures: [1-9][0-9]* allocations from the arena, [1-9][0-9]* frees put aside' \
	"$TMP/sigtls.err" || fail "sig_tls: no update seen inside a capture: $(grep captures "$TMP/sigtls.err")"
ok "out-of-date TLS vector in a signal handler: updated without the allocator"

# Only the calls of the loader, the C library and libunwind are diverted: a program's
# handler that runs while the thread captures a lock wait's stack gets its own allocator
# (memalign(4, 32) is valid for glibc; the arena refused it, and served the handler's
# malloc).
CTRACE_VERBOSE=1 "$CT_BUILD/bin/ctrace" record -q -o "$TMP/hc" -- \
	"$CT_BUILD/tests/progs/handler_capture" > "$TMP/hc.out" 2> "$TMP/hc.err" ||
	{ cat "$TMP/hc.err"; fail "handler_capture failed"; }
grep -q '^handled [1-9][0-9]* memalign_null 0 aligned_null 0 other_usable 0$' "$TMP/hc.out" ||
	fail "handler_capture: a handler's allocations were diverted: $(cat "$TMP/hc.out")"
ok "a handler inside a capture: $(cat "$TMP/hc.out"), its own allocator"

# The loader's realloc of a TLS vector is never sampled: at heap rate 1 its capture
# re-entered the loader's update (libunwind's TLS access) and the program crashed.
rc=0
CTRACE_OUT=$TMP/tlsr CTRACE_MODES=heap CTRACE_HEAP_RATE=1 LD_PRELOAD=$agent \
	"$CT_BUILD/tests/progs/tls_resize" "$TMP/libtls%d.so" 20 > "$TMP/tlsr.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && grep -qx 'touched 1' "$TMP/tlsr.out" ||
	fail "tls_resize at heap rate 1: exit $rc, $(cat "$TMP/tlsr.out")"
ok "a TLS vector grown at heap rate 1: the loader's realloc not sampled"
