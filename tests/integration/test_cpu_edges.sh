# test_cpu_edges — exit paths and failure modes of `ctrace record`: a program that exits
# in under 10 ms, one that calls _exit, 64 threads, SIGINT through ctrace, a command that
# does not exist, and the agent staying out of the C++ exception ABI.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

# Exits at once: still a valid (empty) CPU profile and status 0.
"$CTRACE" record -o "$TMP/quick" -- true 2> "$TMP/quick.err" || fail "record true: status $?"
pprof -raw "$TMP/quick/cpu.pb.gz" > /dev/null 2>&1 || fail "profile of 'true' does not parse"
ok "a program that exits at once"

# _exit skips atexit: profile still written, status kept.
set +e
"$CTRACE" record -o "$TMP/qe" -- "$PROGS/quick_exit" 2> "$TMP/qe.err"
st=$?
set -e
[ "$st" -eq 3 ] || fail "_exit(3) came back as status $st"
pprof_top "$TMP/qe/cpu.pb.gz" > "$TMP/qe.top"
v=$(share "$TMP/qe.top" busy_then_exit cum)
near "$v" 100 15 || { cat "$TMP/qe.top"; fail "_exit: busy_then_exit has $v%"; }
ok "_exit: status 3 and busy_then_exit on top"

# 64 threads: every thread's samples land, with its tid label.
"$CTRACE" record -o "$TMP/mt" -F 999 -- "$PROGS/many_threads" > /dev/null 2> "$TMP/mt.err" ||
	fail "many_threads failed"
pprof_top "$TMP/mt/cpu.pb.gz" > "$TMP/mt.top"
v=$(share "$TMP/mt.top" thread_work cum)
near "$v" 100 10 || fail "64 threads: thread_work has $v%"
tids=$(go tool pprof -tags "$TMP/mt/cpu.pb.gz" 2>/dev/null | awk '/^ *tid:/ {on=1; next} on && /^ *[a-z]+:/ {on=0} on && NF' | wc -l)
[ "$tids" -ge 48 ] || fail "64 threads: only $tids distinct tids sampled"
ok "64 threads: $tids tids sampled"

# SIGINT sent to ctrace reaches the program, which dies of it after the agent flushed.
"$PROGS/sigdfl" "$CTRACE" record -o "$TMP/int" -- "$PROGS/spin" 2> "$TMP/int.err" &
pid=$!
sleep 1
kill -INT "$pid"
set +e
wait "$pid"
st=$?
set -e
[ "$st" -eq 130 ] || { cat "$TMP/int.err"; fail "SIGINT: status $st, want 130"; }
grep -q "signal 2" "$TMP/int.err" || fail "SIGINT: not reported"
pprof_top "$TMP/int/cpu.pb.gz" > "$TMP/int.top"
v=$(share "$TMP/int.top" spin_forever flat)
near "$v" 100 10 || fail "SIGINT: spin_forever has $v%"
ok "SIGINT: status 130, profile flushed"

# A command that does not exist: one clear line, status 127.
set +e
"$CTRACE" record -o "$TMP/nf" -- /nonexistent/program 2> "$TMP/nf.err"
st=$?
set -e
[ "$st" -eq 127 ] || fail "missing command: status $st, want 127"
grep -q "cannot run '/nonexistent/program'" "$TMP/nf.err" || fail "missing command: no clear error"
[ "$(wc -l < "$TMP/nf.err")" -eq 1 ] || fail "missing command: more than one line"
[ ! -e "$TMP/nf" ] || fail "missing command: left its empty output directory"
ok "missing command: 127, no output directory left"

# A program that exists, but whose interpreter does not: exec's ENOENT named for what it is.
printf '#!/nonexistent/interp -x\necho hi\n' > "$TMP/noint.sh"
chmod +x "$TMP/noint.sh"
python3 -c 'import sys; d = bytearray(open("/bin/true", "rb").read())
i = d.find(b"/lib64/ld-linux-x86-64.so.2"); d[i:i + 27] = b"/lib64/ld-none-x86-64.so.2\0"
open(sys.argv[1], "wb").write(d)' "$TMP/noldso"
chmod +x "$TMP/noldso"
for p in noint.sh noldso; do
	set +e
	"$CTRACE" record -o "$TMP/ni" -- "$TMP/$p" 2> "$TMP/ni.err"
	st=$?
	set -e
	[ "$st" -eq 127 ] || fail "$p: status $st, want 127"
done # $TMP/ni.err: noldso's
grep -qx "ctrace: cannot run '$TMP/noldso': its dynamic loader '/lib64/ld-none-x86-64.so.2' (PT_INTERP) does not exist" "$TMP/ni.err" ||
	fail "missing dynamic loader: $(cat "$TMP/ni.err")"
"$CTRACE" record -o "$TMP/ni" -- "$TMP/noint.sh" 2>&1 | grep -qx "ctrace: cannot run '$TMP/noint.sh': its interpreter '/nonexistent/interp' (from its #! line) does not exist" ||
	fail "missing #! interpreter: not named"
ok "a missing #! interpreter or dynamic loader is named, not the program"

# Footprint: libstdc++ of a library dlopened later still binds the exception ABI to
# libgcc_s, not to the libunwind the agent loaded privately.
LD_DEBUG=bindings LD_DEBUG_OUTPUT="$TMP/bind" "$CTRACE" record -o "$TMP/cxx" -- \
	"$PROGS/dlopen_cxx" "$PROGS/libthrower.so" > "$TMP/cxx.out" 2>/dev/null ||
	fail "dlopen_cxx failed under ctrace"
grep -q "caught 100" "$TMP/cxx.out" || fail "C++ exceptions broken under ctrace"
grep -h "binding file .*libstdc++.so.6.*_Unwind_RaiseException" "$TMP"/bind.* > "$TMP/bind.txt" ||
	fail "no binding of _Unwind_RaiseException from libstdc++ seen"
grep -q "to /.*libgcc_s.so.1" "$TMP/bind.txt" || { cat "$TMP/bind.txt"; fail "libstdc++ binds _Unwind_RaiseException elsewhere"; }
if grep -h "_Unwind_" "$TMP"/bind.* | grep -v "binding file /.*libunwind" | grep -q "to /.*libunwind"; then
	fail "some library binds _Unwind_* to libunwind"
fi
ok "C++ exception ABI untouched"

# Only the hooks are exported by the agent: every symbol it defines for others is one
# that libc also defines (an interposition), nothing of its own but the annotation entry
# table that include/ctrace/annotate.h looks up (docs/annotate.md).
libc=$(ldd "$PROGS/spin" | awk '/libc\.so/ {print $3}')
nm -D --defined-only "$libc" | awk '{sub(/@.*/, "", $3); print $3}' | sort -u > "$TMP/libc.syms"
nm -D --defined-only "$CT_BUILD/lib/libctrace.so" | awk '{print $3}' | sort -u > "$TMP/agent.syms"
[ -s "$TMP/agent.syms" ] || fail "libctrace.so exports nothing (the hooks are missing)"
grep -qx ctrace_annotate_v1 "$TMP/agent.syms" || fail "libctrace.so does not export ctrace_annotate_v1"
extra=$(comm -23 "$TMP/agent.syms" "$TMP/libc.syms" | sed "/^ctrace_annotate_v1$/d")
[ -z "$extra" ] || fail "libctrace.so exports symbols that are not interpositions: $extra"
grep -qx malloc "$TMP/agent.syms" && grep -qx pthread_mutex_lock "$TMP/agent.syms" ||
	fail "libctrace.so does not export its hooks"
ok "agent exports only its hooks ($(wc -l < "$TMP/agent.syms") interposed functions)"

# A library dlclosed before exit is still in the profile, with its function's name.
"$CTRACE" record -o "$TMP/dlc" -F 999 -- "$PROGS/dlclose_work" "$PROGS/libclosed.so" 2> "$TMP/dlc.err" ||
	{ cat "$TMP/dlc.err"; fail "dlclose_work failed"; }
pprof_top "$TMP/dlc/cpu.pb.gz" > "$TMP/dlc.top"
v=$(share "$TMP/dlc.top" closed_work cum)
near "$v" 80 12 || { cat "$TMP/dlc.top"; fail "dlclosed library: closed_work has $v%, want ~80%"; }
ok "dlclosed library symbolized ($v%)"

# Two plugins loaded in turn at the same addresses (dlclose, then dlopen of the other): a
# sample's pc cannot say which one it was in; summary.txt says so instead of naming one
# library's time after the other's in silence.
for n in 1 2; do
	printf '__attribute__((noinline)) void spin_%s(void) { for (volatile long i = 0; i < 20000000; i++); }\nvoid plugin_run(void) { spin_%s(); }\n' $n $n > "$TMP/plug$n.c"
	${CC:-cc} -O1 -shared -fPIC -o "$TMP/plug$n.so" "$TMP/plug$n.c" || fail "cannot build plug$n.so"
done
cat > "$TMP/plugins.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	(void)argc;
	for (int k = 0; k < 16; k++) {
		void *h = dlopen(argv[1 + (k & 1)], RTLD_NOW);
		if (!h)
			return 1;
		((void (*)(void))dlsym(h, "plugin_run"))();
		dlclose(h);
	}
	printf("plugins done\n");
	return 0;
}
C
${CC:-cc} -O1 -o "$TMP/plugins" "$TMP/plugins.c" -ldl || fail "cannot build plugins"
"$CTRACE" record -q -o "$TMP/plug" -e cpu -F 999 -- "$TMP/plugins" "$TMP/plug1.so" "$TMP/plug2.so" > /dev/null ||
	fail "plugins failed"
grep -q "^warning=.*module(s) loaded at the addresses of one dlclosed before (.*plug.\.so after .*plug.\.so)" \
	"$TMP/plug/summary.txt" || { cat "$TMP/plug/summary.txt"; fail "reused plugin addresses not said"; }
ok "a plugin loaded where a dlclosed one was: summary.txt says samples there may be named from either"

# dlclose on four threads while library constructors (which hold the loader's lock)
# dlopen and dlclose: the agent's dlclose hook once held its module lock exclusively across
# the real dlclose, and a constructor's dlclose waited for it forever (every run hung).
timeout -k 5 60 "$CTRACE" record -q -o "$TMP/dlr" -F 999 -- "$PROGS/dl_race" \
	"$PROGS/libctor_dl.so" "$PROGS/libclosed.so" 4 60 > "$TMP/dlr.out" 2> "$TMP/dlr.err" ||
	{ cat "$TMP/dlr.err"; fail "dl_race hung (killed after 60 s) or failed"; }
grep -qx 'done 240' "$TMP/dlr.out" || fail "dl_race: $(cat "$TMP/dlr.out")"
pprof_top "$TMP/dlr/cpu.pb.gz" > "$TMP/dlr.top"
grep -q closed_work "$TMP/dlr.top" || { cat "$TMP/dlr.top"; fail "dl_race: no closed_work"; }
ok "dlclose on threads against constructors that dlclose: no deadlock"
# Eight threads dlclose in a loop: some thread nearly always holds the module lock shared,
# and the collector must still get it (it once waited for seconds: a third of the
# samples lost to full rings).
for i in 0 1 2 3 4 5 6 7; do cp "$PROGS/libclosed.so" "$TMP/libclosed$i.so"; done
"$CTRACE" record -q -o "$TMP/dll" --sampler perf -- "$PROGS/dl_loop" "$TMP/libclosed%d.so" 8 3 \
	> "$TMP/dll.out" 2> "$TMP/dll.err" || { cat "$TMP/dll.err"; fail "dl_loop failed"; }
grep -qx 'cycles>0 1' "$TMP/dll.out" || fail "dl_loop: $(cat "$TMP/dll.out")"
s=$(sed -n 's/^samples=//p' "$TMP/dll/summary.txt")
l=$(sed -n 's/^lost=//p' "$TMP/dll/summary.txt")
[ -n "$s" ] && [ -n "$l" ] && [ $((l * 50)) -le "$s" ] ||
	fail "dl_loop: $l CPU samples lost of $s (want under 2%)"
ok "threads dlclosing in a loop: the collector keeps up ($s samples, $l lost)"

# fork without exec: the child records into DIR/<pid>/, the parent's profile keeps only
# the parent's work. Both engines.
for engine in perf timer; do
	"$CTRACE" record -o "$TMP/fork-$engine" --sampler $engine -- "$PROGS/fork_work" \
		> "$TMP/fork.out" 2> "$TMP/fork.err" || { cat "$TMP/fork.err"; fail "fork_work failed"; }
	child=$(cat "$TMP/fork.out")
	[ -f "$TMP/fork-$engine/$child/cpu.pb.gz" ] || { ls -R "$TMP/fork-$engine"; fail "$engine: no profile for child $child"; }
	pprof_top "$TMP/fork-$engine/cpu.pb.gz" > "$TMP/fp.top"
	v=$(share "$TMP/fp.top" parent_work cum)
	near "$v" 100 10 || { cat "$TMP/fp.top"; fail "$engine: parent profile has parent_work at $v%"; }
	pprof_top "$TMP/fork-$engine/$child/cpu.pb.gz" > "$TMP/fc.top"
	v=$(share "$TMP/fc.top" child_work cum)
	near "$v" 100 10 || { cat "$TMP/fc.top"; fail "$engine: child profile has child_work at $v%"; }
	if [ $engine = perf ]; then # the child's unwinding counts are its own, not the parent's too
		"$CTRACE" report -n 1 "$TMP/fork-$engine/$child/cpu.pb.gz" > "$TMP/fc.txt"
		s=$(sed -n 's/^Totals: samples \([0-9]*\).*/\1/p' "$TMP/fc.txt")
		u=$(sed -n 's/.*unwound \([0-9]*\) samples from cached rows, \([0-9]*\) with.*/\1 \2/p' "$TMP/fc.txt")
		[ -n "$s" ] && [ -n "$u" ] && [ $(( ${u% *} + ${u#* } )) -le "$s" ] ||
			{ cat "$TMP/fc.txt"; fail "child's comment counts $u unwound samples of $s"; }
	fi
	grep -q "1 child process" "$TMP/fork.err" || { cat "$TMP/fork.err"; fail "summary does not mention the child"; }
done
ok "forked child recorded in DIR/<pid>/"

# A thread that blocks every signal and jumps back out of the block (siglongjmp to a
# sigsetjmp(env, 1), setcontext to a getcontext): the timer engine pauses the thread's
# timer while it blocks the signal, and must resume it when the jump restores the mask
# (it did not: the run's profile had no sample at all). Both engines.
for engine in timer perf; do
	"$CTRACE" record -q -o "$TMP/mj-$engine" --sampler $engine -- "$PROGS/mask_jump" \
		> "$TMP/mj.out" 2> "$TMP/mj.err" || { cat "$TMP/mj.err"; fail "mask_jump failed"; }
	grep -qx 'jumps 2' "$TMP/mj.out" || fail "mask_jump: $(cat "$TMP/mj.out")"
	pprof_top "$TMP/mj-$engine/cpu.pb.gz" > "$TMP/mj.top"
	for fn in after_longjmp after_setcontext; do
		v=$(share "$TMP/mj.top" $fn cum)
		near "$v" 50 12 || { cat "$TMP/mj.top"; fail "$engine: $fn has $v%, want ~50%"; }
	done
done
ok "sampling goes on after siglongjmp and setcontext restore an unblocking mask"

# A coroutine's stack (makecontext, on the heap): its samples unwind through co_mid and
# co_top under both engines (the timer engine cut them to the leaf: it copied only the
# thread's own stack, and now reads another with process_vm_readv).
for engine in timer perf; do
	"$CTRACE" record -q -o "$TMP/co-$engine" -e cpu --sampler $engine -- "$PROGS/coroutine" \
		> /dev/null 2> "$TMP/co.err" || { cat "$TMP/co.err"; fail "coroutine ($engine)"; }
	"$CTRACE" report --folded - "$TMP/co-$engine/cpu.pb.gz" > "$TMP/co.folded" 2> /dev/null
	all=$(awk '{t += $NF} END {print t + 0}' "$TMP/co.folded")
	co=$(awk '/co_top;co_mid;co_leaf/ {t += $NF} END {print t + 0}' "$TMP/co.folded")
	v=$(awk -v c="$co" -v a="$all" 'BEGIN {printf "%.0f", a ? 100 * c / a : 0}')
	near "$v" 50 15 || { cat "$TMP/co.folded"; fail "$engine: co_top;co_mid;co_leaf has $v% of the samples, want ~50%"; }
	# The coroutine's root, glibc's __start_context, is entered by a jump: its return
	# address is its first byte, and address - 1 fell before it (shown as [libc.so.6]).
	! grep -q '^\[[^]]*\];co_entry' "$TMP/co.folded" || { cat "$TMP/co.folded"; fail "$engine: the coroutine's root frame is unnamed"; }
done
ok "samples on a coroutine's stack unwind through it under both engines"

# A program that installs a seccomp filter (on every thread, or with prctl on its own):
# the agent writes its files just before and makes no system call after (a filter may
# kill the process for one: the old agent's exit turned `exit 7` into SIGSYS). The work
# before the filter is in the profile, the work after is not, summary.txt says why.
for mode in tsync prctl syscall-prctl; do
	for engine in perf timer; do
		rm -rf "$TMP/sc"
		rc=0
		"$CTRACE" record -q -o "$TMP/sc" --sampler $engine --http 127.0.0.1:0 -- \
			"$PROGS/seccomp_exit" $mode > "$TMP/sc.out" 2> "$TMP/sc.err" || rc=$?
		[ $rc = 7 ] || { cat "$TMP/sc.err"; fail "seccomp_exit $mode ($engine): exit $rc, want 7"; }
		grep -qx 'sigsys 0' "$TMP/sc.out" ||
			fail "seccomp_exit $mode ($engine): the agent made system calls past the filter: $(cat "$TMP/sc.out")"
		grep -q '^warning=.*the recording ends where the program installed a seccomp filter' \
			"$TMP/sc/summary.txt" || fail "seccomp_exit $mode ($engine): no warning in summary.txt"
		pprof_top "$TMP/sc/cpu.pb.gz" > "$TMP/sc.top"
		grep -q before_filter "$TMP/sc.top" && ! grep -q after_filter "$TMP/sc.top" ||
			{ cat "$TMP/sc.top"; fail "seccomp_exit $mode ($engine): want before_filter, not after_filter"; }
	done
done
ok "seccomp filter: the recording ends before it, no system call past it, exit status kept"

# vfork + failed exec + _exit(127) in the child: the parent keeps recording.
"$CTRACE" record -o "$TMP/vf" -F 999 -- "$PROGS/vfork_exit" > "$TMP/vf.out" 2> "$TMP/vf.err" ||
	{ cat "$TMP/vf.err"; fail "vfork_exit failed"; }
grep -q "child status 127" "$TMP/vf.out" || fail "vfork child status changed"
pprof_top "$TMP/vf/cpu.pb.gz" > "$TMP/vf.top"
for f in before_vfork after_vfork; do
	v=$(share "$TMP/vf.top" $f cum)
	near "$v" 50 15 || { cat "$TMP/vf.top"; fail "vfork: $f has $v%, want ~50%"; }
done
ok "vfork child's _exit leaves the parent's recording alone"

# Lock profiling follows a forked child too: its contention lands in DIR/<pid>/.
"$CTRACE" record -o "$TMP/fl" -e lock,block -- "$PROGS/fork_locks" > "$TMP/fl.out" 2> "$TMP/fl.err" ||
	{ cat "$TMP/fl.err"; fail "fork_locks failed"; }
child=$(cat "$TMP/fl.out")
# The holder is charged at its unlock, in worker(), after child_critical() returned.
pprof_top "$TMP/fl/$child/mutex.pb.gz" -sample_index=delay > "$TMP/flc.top"
v=$(share "$TMP/flc.top" worker flat)
near "$v" 100 1 || { cat "$TMP/flc.top"; fail "child's mutex profile: worker has $v%"; }
pprof_top "$TMP/fl/mutex.pb.gz" -sample_index=delay > "$TMP/flp.top"
[ ! -s "$TMP/flp.top" ] || { cat "$TMP/flp.top"; fail "the parent's mutex profile has the child's contention"; }
ok "lock profiles of a forked child in DIR/<pid>/"

# The disk refuses our files (a 1 KiB file size limit stands in for a full disk): the
# program is unaffected and ctrace says which file is missing and why.
(trap '' XFSZ; ulimit -f 1; "$CTRACE" record -o "$TMP/full" -e cpu -- "$SAMPLES/cpu_hot" 0.3 \
	> "$TMP/full.out" 2> "$TMP/full.err") || fail "record with a full disk: status $?"
grep -q "cpu_hot done" "$TMP/full.out" || fail "program output lost when the disk is full"
grep -q "ctrace: agent: cannot write cpu.pb.gz: File too large" "$TMP/full.err" ||
	{ cat "$TMP/full.err"; fail "full disk not reported"; }
[ ! -e "$TMP/full/cpu.pb.gz" ] || fail "a partial cpu.pb.gz was left behind"
ls "$TMP/full" | grep -q tmp && fail "temporary files left behind"
ok "full disk: reported, no partial files"
# A file system really full (a 20 KiB tmpfs, where mounting one is allowed): record names
# it as the reason summary.txt is missing, and report DIR does not take the lone trace for
# a recording made with -e sched.
mkdir "$TMP/tiny"
"$CTRACE" record -q -o "$TMP/tv" -- "$SAMPLES/cpu_hot" 0.2 > /dev/null || fail "record cpu_hot"
if mount -t tmpfs -o size=20k tmpfs "$TMP/tiny" 2> /dev/null; then
	"$CTRACE" record -o "$TMP/tiny/r" -- "$SAMPLES/cpu_hot" 0.3 > /dev/null 2> "$TMP/tiny.err" ||
		true
	"$CTRACE" report "$TMP/tiny/r" > "$TMP/tiny.rep" 2>&1 || true
	# A view's write error says ENOSPC (the HTML flame graph's once said EIO).
	"$CTRACE" report --flame "$TMP/tiny/f.html" "$TMP/tv/cpu.pb.gz" 2> "$TMP/tv.err" || true
	"$CTRACE" report --chrome "$TMP/tiny/c.json" "$TMP/tv" 2>> "$TMP/tv.err" || true
	umount "$TMP/tiny"
	[ "$(grep -c 'No space left on device' "$TMP/tv.err")" = 2 ] ||
		{ cat "$TMP/tv.err"; fail "tiny tmpfs: a view's write error is not ENOSPC"; }
	grep -q "no summary.*file system is full" "$TMP/tiny.err" ||
		{ cat "$TMP/tiny.err"; fail "tiny tmpfs: the full disk not named"; }
	! grep -q "recorded with -e sched" "$TMP/tiny.rep" ||
		{ cat "$TMP/tiny.rep"; fail "tiny tmpfs: report took the lone trace for -e sched"; }
	ok "a full file system: named by record and by report's views; report DIR does not guess -e sched"
fi
