# test_annotate — include/ctrace/annotate.h (docs/annotate.md): the header compiles as C99,
# C11 and C++11 and links nothing; programs print the same without the agent, under
# CTRACE_DISABLE=1 and recorded; CPU under two labels gets per-label shares within 5
# points of the program's own thread-CPU measurement (go tool pprof -tags and
# `ctrace report --tag`), both engines; a sampled allocation carries the label active at
# malloc, a mutex wait the waiter's labels and its delay the holder's; misuse
# is survived, counted in summary.txt and printed by `record`.
. "$(dirname "$0")/lib.sh"

PROGS=$CT_BUILD/tests/progs
INC="-I$CT_ROOT/include"

# ---- the header alone: C99, C11, C++11, gcc and clang, -Wall -Wextra -Werror ----------
for std in c99 c11; do
	cc -std=$std -Wall -Wextra -Werror -pthread $INC -o "$TMP/misuse_$std" \
		"$CT_ROOT/tests/progs/annot_misuse.c" || fail "annotate.h does not compile as $std"
done
if command -v clang > /dev/null; then
	clang -std=c99 -Wall -Wextra -Werror -pthread $INC -o "$TMP/misuse_clang" \
		"$CT_ROOT/tests/progs/annot_misuse.c" || fail "annotate.h does not compile with clang"
fi
g++ -std=c++11 -Wall -Wextra -Werror $INC -o "$TMP/cxx" "$CT_ROOT/tests/progs/annot_cxx.cpp" ||
	fail "annotate.h does not compile as C++11"
# Links nothing of ours: no libctrace, no libtrace.
if ldd "$TMP/misuse_c99" "$TMP/cxx" | grep -qE 'libc?trace'; then fail "linked against ctrace"; fi
ok "header compiles as C99, C11 (gcc, clang) and C++11 and links nothing"

# ---- same output without the agent, disabled, recorded --------------------------------
"$TMP/misuse_c99" > "$TMP/plain.out" || fail "misuse program failed without the agent"
grep -q "annot_misuse done, child exit 0" "$TMP/plain.out" || fail "misuse program output: $(cat "$TMP/plain.out")"
CTRACE_DISABLE=1 LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$TMP/misuse_c99" > "$TMP/disabled.out" ||
	fail "misuse program failed under CTRACE_DISABLE=1"
cmp "$TMP/plain.out" "$TMP/disabled.out" || fail "output differs under CTRACE_DISABLE=1"
"$CTRACE" record -o "$TMP/misuse" -- "$PROGS/annot_misuse" > "$TMP/rec.out" 2> "$TMP/rec.err" ||
	{ cat "$TMP/rec.err"; fail "misuse program failed under the agent"; }
cmp "$TMP/plain.out" "$TMP/rec.out" || fail "output differs under the agent: $(cat "$TMP/rec.out")"
"$TMP/cxx" > "$TMP/cxx.plain" && "$CTRACE" record -o "$TMP/cxx.d" -- "$TMP/cxx" > "$TMP/cxx.rec" 2> /dev/null ||
	fail "C++ program failed"
cmp "$TMP/cxx.plain" "$TMP/cxx.rec" || fail "C++ output differs under the agent"
ok "same output without the agent, under CTRACE_DISABLE=1 and recorded"

# ---- misuse counted, reported once -----------------------------------------------------
line=$(grep '^annotate_misuse=' "$TMP/misuse/summary.txt") || fail "no annotate_misuse in summary.txt"
for kind in label_pop_without_push=1 region_end_without_begin=1 label_too_deep=36 \
	region_too_deep=36 task_end_unknown=2 null_argument=5 truncated= label_table_full=; do
	echo "$line" | grep -q " *$kind" || fail "summary misses $kind: $line"
done
grep -q "annotation calls ignored or truncated: " "$TMP/rec.err" || { cat "$TMP/rec.err"; fail "record does not print the misuse"; }
# The forked child inherited an open region and ended it, then one more.
child=$(ls "$TMP/misuse" | grep -E '^[0-9]+$' | head -1)
[ -n "$child" ] || fail "no child directory"
grep '^annotate_misuse=' "$TMP/misuse/$child/summary.txt" | grep -q 'region_end_without_begin=1 .*fork_inherited=1' ||
	fail "child summary: $(grep annotate "$TMP/misuse/$child/summary.txt")"
ok "misuse survived and counted: ${line#annotate_misuse=}"

# ---- CPU shares per label ---------------------------------------------------------------
# ms VALUE — pprof's "571.1ms" / "1.20s" / "950us" as milliseconds.
ms() { echo "$1" | awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v += 0;
	else if ($1 ~ /s$/) v *= 1000; print v }'; }
# kept REPORT_ARGS... — the share `ctrace report` keeps with those filters.
kept() {
	"$CTRACE" report "$@" "$TMP/cpu/cpu.pb.gz" > "$TMP/kept.txt" || fail "report $* failed"
	sed -n 's/^Kept by filters: [^ ]* (\([0-9.]*\)%).*/\1/p' "$TMP/kept.txt"
}
# Both engines, and each way the perf engine learns a sample's labels:
# - perf: the program includes annotate.h (its ELF note), so the kernel signals each
#   sample and the agent's SIGTRAP handler reads the thread's labels;
# - perf-records: CTRACE_LABELS=records, every change stamped and matched by time;
# - perf-blocked: the threads block every signal, so their changes are stamped instead
#   (and the summary says so);
# - perf-trap: the program has its own SIGTRAP handler and raises SIGTRAP 252 times: it
#   must see exactly those, and its own handler in a sigaction query;
# - timer: the timer's handler reads the labels. Its CPU timers fire on the kernel's ticks,
#   a quarter of the samples asked for: a run 4 times as long, or the shares' spread (the
#   parse share read 57.8% for 63.7% on a loaded machine) is as wide as the tolerance.
for variant in perf perf-records perf-blocked perf-trap timer; do
	engine=${variant%%-*} labels=auto arg=
	rounds=126
	[ "$variant" = timer ] && rounds=504
	case $variant in
	perf-records) labels=records ;;
	perf-blocked) arg=blocked ;;
	perf-trap) arg=trap ;;
	esac
	rm -rf "$TMP/cpu"
	ANNOT_ROUNDS=$rounds CTRACE_LABELS=$labels "$CTRACE" record -o "$TMP/cpu" -F 999 --sampler "$engine" -- "$PROGS/annot_labels" $arg > "$TMP/labels.out" 2> "$TMP/labels.err" ||
		{ cat "$TMP/labels.err"; fail "$variant: record annot_labels failed"; }
	cat "$TMP/labels.out"
	reason=$(sed -n 's/^reason=//p' "$TMP/cpu/summary.txt")
	case $variant in
	perf | perf-blocked | perf-trap)
		echo "$reason" | grep -q 'labels read at each sample' ||
			fail "$variant: the perf engine does not read labels at samples: $reason" ;;
	perf-records)
		echo "$reason" | grep -q 'labels read' && fail "$variant: CTRACE_LABELS=records ignored: $reason" ;;
	esac
	if [ "$variant" = perf ] && grep -q 'block SIGTRAP' "$TMP/cpu/summary.txt"; then
		fail "perf: threads that never block SIGTRAP were counted as blocking it: $(grep warning "$TMP/cpu/summary.txt")"
	fi
	if [ "$variant" = perf-blocked ]; then
		grep -q '^warning=.*2 thread(s) block SIGTRAP' "$TMP/cpu/summary.txt" ||
			fail "perf-blocked: no warning in summary.txt: $(grep warning "$TMP/cpu/summary.txt")"
	fi
	if [ "$variant" = perf-trap ]; then
		grep -q '^traps=252 handler=mine$' "$TMP/labels.out" ||
			fail "perf-trap: the program's SIGTRAP handler saw $(grep traps= "$TMP/labels.out") (want 252, its own)"
	fi
	set -- $(sed -n 's/^cpu_ms parse=\([0-9]*\) render=\([0-9]*\) none=\([0-9]*\)$/\1 \2 \3/p' "$TMP/labels.out")
	[ $# -eq 3 ] || fail "annot_labels printed no measurement"
	total=$(($1 + $2 + $3))
	want_parse=$(awk -v a="$1" -v t="$total" 'BEGIN { print 100 * a / t }')
	want_render=$(awk -v a="$2" -v t="$total" 'BEGIN { print 100 * a / t }')
	pprof -tags "$TMP/cpu/cpu.pb.gz" > "$TMP/tags" 2> /dev/null || fail "go tool pprof -tags failed"
	cat "$TMP/tags"
	# The whole (pprof rounds section totals to 2 digits): the sum of the per-thread rows.
	all=0
	for v in $(awk '/^ *tid:/ { on = 1; next } on && NF == 0 { on = 0 } on { print $1 }' "$TMP/tags"); do
		all=$(awk -v a="$all" -v b="$(ms "$v")" 'BEGIN { print a + b }')
	done
	parse=$(ms "$(awk '/^ *phase:/ { on = 1; next } on && /: parse$/ { print $1; exit }' "$TMP/tags")")
	got_parse=$(awk -v a="$parse" -v t="$all" 'BEGIN { print 100 * a / t }')
	near "$got_parse" "$want_parse" 5 || fail "$variant: phase=parse has $got_parse% of CPU (pprof -tags), measured $want_parse%"
	got_acme=$(kept --tag tenant=acme)
	want_acme=$(awk -v a="$1" -v b="$2" -v t="$total" 'BEGIN { print 100 * (a + b) / t }')
	near "$got_acme" "$want_acme" 5 || fail "$variant: tenant=acme has $got_acme% of CPU, measured $want_acme%"
	got_render=$(kept --tag phase=render)
	[ -n "$got_render" ] || { cat "$TMP/kept.txt"; fail "report --tag printed no share"; }
	near "$got_render" "$want_render" 5 || fail "$variant: phase=render has $got_render% of CPU (report --tag), measured $want_render%"
	pprof -tagfocus=phase=render -top "$TMP/cpu/cpu.pb.gz" 2> /dev/null | grep -q burn || fail "-tagfocus selects nothing"
	# Each sample has its own thread's labels at that instant, not a neighbour's: the
	# samples in burn_parse carry phase=parse (a sample matched to the one before it, or
	# to a stale change, would carry render at every render-to-parse switch: ~7% of them).
	in_parse=$(kept --focus burn_parse)
	wrong=$(kept --focus burn_parse --tag phase=render)
	awk -v w="${wrong:-0}" -v a="$in_parse" 'BEGIN { exit !(a > 30 && w * 100 / a < 2) }' ||
		fail "$variant: ${wrong:-0}% of CPU in burn_parse has phase=render (of $in_parse%)"
	ok "$variant, CPU per label: parse $got_parse% (measured $want_parse%), render $got_render% (measured $want_render%), tenant $got_acme% (measured $want_acme%); burn_parse with render: ${wrong:-0}%"
done

# A program without annotate.h gets no SIGTRAP per sample (nor a SIGTRAP handler).
"$CTRACE" record -o "$TMP/plain" -- /bin/true > /dev/null 2>&1 || fail "record true failed"
grep -q '^reason=perf_event cpu-clock' "$TMP/plain/summary.txt" &&
	grep '^reason=' "$TMP/plain/summary.txt" | grep -q 'labels read' &&
	fail "a program without annotate.h has its labels read at each sample"
ok "labels are read at samples only for programs that include annotate.h"

# ---- a sampled allocation carries the label active at malloc ---------------------------
CTRACE_HEAP_RATE=1 "$CTRACE" record -o "$TMP/heap" -e heap -- "$PROGS/annot_labels" alloc > /dev/null 2>&1 ||
	fail "record annot_labels alloc failed"
pprof -sample_index=alloc_space -tagfocus=phase=alloc_here -raw "$TMP/heap/heap.pb.gz" > "$TMP/heap.raw" 2> /dev/null ||
	fail "pprof -tagfocus on the heap profile failed"
# Samples section: only the 12345-byte block is labelled.
awk '/^Samples:/ { on = 1; next } /^Locations/ { on = 0 } on && /^ *[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+:/ { print $2 }' "$TMP/heap.raw" > "$TMP/heap.sizes"
[ "$(cat "$TMP/heap.sizes")" = 12345 ] || { cat "$TMP/heap.raw"; fail "labelled allocations: $(cat "$TMP/heap.sizes")"; }
pprof -sample_index=alloc_space -tagfocus=phase=alloc_here -traces "$TMP/heap/heap.pb.gz" 2> /dev/null | grep -q main ||
	fail "the labelled allocation has no stack"
ok "the sampled allocation carries phase=alloc_here, the unlabelled one does not"

# ---- mutex and block records carry the labels of their thread ----------------------------
"$CTRACE" record -o "$TMP/lock" -e lock,block -- "$PROGS/annot_labels" lock > /dev/null 2>&1 ||
	fail "record annot_labels lock failed"
pprof -tagfocus=reason=mutex -tags "$TMP/lock/block.pb.gz" > "$TMP/block.tags" 2> /dev/null || fail "pprof -tags on block.pb.gz failed"
awk '/^ *who:/ { on = 1; next } on && NF == 0 { on = 0 } on' "$TMP/block.tags" > "$TMP/block.who"
grep -q ': waiter$' "$TMP/block.who" && ! grep -q ': holder$' "$TMP/block.who" ||
	{ cat "$TMP/block.tags"; fail "the mutex wait does not carry who=waiter (alone)"; }
pprof -tags "$TMP/lock/mutex.pb.gz" 2> /dev/null | awk '/^ *who:/ { on = 1; next } on && NF == 0 { on = 0 } on' > "$TMP/mutex.who"
grep -q ': holder$' "$TMP/mutex.who" ||
	{ cat "$TMP/mutex.who"; fail "the mutex profile does not charge who=holder"; }
ok "block records carry the waiter's labels, mutex records the holder's"

# A wait under a pushed label: its stack in trace.ctr ends at the program's frames. The
# label set's mark word (a non-canonical address) was written as a frame,
# 0xc7a1000000000001, in every view of the trace (--sched, --chrome, --timeline).
cat > "$TMP/labelwait.c" <<'C'
#include <time.h>
#include "ctrace/annotate.h"
__attribute__((noinline)) static void nap(void)
{
	struct timespec ts = {0, 150000000};
	nanosleep(&ts, 0);
}
int main(void)
{
	ctrace_label_push("k", "v");
	nap();
	ctrace_label_pop();
	return 0;
}
C
# shellcheck disable=SC2086 # $INC is one -I option
${CC:-cc} -O1 -g $INC -o "$TMP/labelwait" "$TMP/labelwait.c" || fail "cannot build labelwait"
"$CTRACE" record -q -o "$TMP/lw" -- "$TMP/labelwait" || fail "labelwait"
"$CTRACE" report --sched "$TMP/lw" > "$TMP/lw.sched" 2>&1 || fail "--sched labelwait"
grep -q 'nap' "$TMP/lw.sched" || { cat "$TMP/lw.sched"; fail "labelwait: the sleep's stack lacks nap"; }
! grep -q '0xc7a1' "$TMP/lw.sched" || { cat "$TMP/lw.sched"; fail "a label set's mark shown as a frame"; }
ok "trace stacks taken under labels end at the program's frames"

# A label pushed first thing: every CPU sample under it carries it, the first collector
# drain's too (perf rings are drained before the threads' label records: those samples
# went unlabelled, 25-50 ms of a short run or a forked child).
cat > "$TMP/early.c" <<'C'
#include <time.h>
#include "ctrace/annotate.h"
static volatile unsigned long sink;
int main(void)
{
	ctrace_label_push("k", "m");
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int i = 0; i < 200; i++)
			sink += i;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 150000000L);
	ctrace_label_pop();
	return 0;
}
C
# shellcheck disable=SC2086 # $INC is one -I option
${CC:-cc} -O1 $INC -o "$TMP/early" "$TMP/early.c" || fail "cannot build early"
"$CTRACE" record -q -o "$TMP/earlyrec" -e cpu -F 997 -- "$TMP/early" || fail "early"
kept=$("$CTRACE" report --tag k=m "$TMP/earlyrec/cpu.pb.gz" 2> /dev/null | sed -n 's/^Kept by filters: .* (\([0-9.]*\)%).*/\1/p')
awk -v k="${kept:-0}" 'BEGIN { exit !(k >= 95) }' || fail "only ${kept:-?}% of the samples carry the label pushed first"
ok "a label pushed first thing is on ${kept}% of the samples (the first drain's too)"
