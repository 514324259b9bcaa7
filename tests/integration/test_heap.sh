#!/bin/sh
# test_heap.sh — exact heap profiles: at CTRACE_HEAP_RATE=1 every allocation is sampled,
# so heap_known's call sites must show exactly the objects and bytes it allocated and
# still holds (malloc, calloc, realloc growth, posix_memalign, aligned_alloc, memalign,
# and C++ new[] / new), the peak profile must hold the in-use blocks of the moment of the
# peak, and the program's stdout and exit status must not change.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

export CTRACE_HEAP_RATE=1
run_bare_and_traced known "$SAMPLES/heap_known"
f=$TMP/known/heap.pb.gz
# Each line of the sample's output: function alloc_objects alloc_space inuse_objects inuse_space.
while read -r fn ao as io is; do
	expect_eq "$fn alloc_objects" "$(hval "$f" alloc_objects "$fn")" "$ao"
	expect_eq "$fn alloc_space" "$(hval "$f" alloc_space "$fn")" "$as"
	expect_eq "$fn inuse_objects" "$(hval "$f" inuse_objects "$fn")" "$io"
	expect_eq "$fn inuse_space" "$(hval "$f" inuse_space "$fn")" "$is"
done < "$TMP/known.out"
ok "heap_known: exact objects and bytes, allocated and in use, per call site"

go tool pprof -raw "$f" > "$TMP/raw.txt" 2>/dev/null
grep -q '^PeriodType: space bytes' "$TMP/raw.txt" || fail "period type is not space/bytes"
grep -q '^Period: 1$' "$TMP/raw.txt" || fail "period is not the rate"
grep -q 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes' \
	"$TMP/raw.txt" || fail "sample types differ from Go's heap profile"
grep -q 'bytes:\[1000\]' "$TMP/raw.txt" || fail "no bytes label with the block size"
ok "heap.pb.gz: Go's sample types, period and bytes label"

# The peak: posix_memalign's 4 blocks live at once, on top of what calloc, realloc and
# stdio hold; aligned_alloc's blocks come later, when the total is lower.
p=$TMP/known/heap-peak.pb.gz
expect_eq "peak known_posix_memalign" "$(hval "$p" inuse_space known_posix_memalign)" 12000
expect_eq "peak known_calloc" "$(hval "$p" inuse_space known_calloc)" 5000
expect_eq "peak known_realloc" "$(hval "$p" inuse_space known_realloc)" 4096
expect_eq "peak known_aligned_alloc" "$(hval "$p" inuse_space known_aligned_alloc)" 0
expect_eq "peak known_malloc" "$(hval "$p" inuse_space known_malloc)" 0
expect_eq "peak alloc_space" "$(hval "$p" alloc_space known_malloc)" 10000
ok "heap-peak.pb.gz: in use at the peak"

if [ -x "$SAMPLES/heap_known_cxx" ]; then
	run_bare_and_traced cxx "$SAMPLES/heap_known_cxx"
	f=$TMP/cxx/heap.pb.gz
	expect_eq "new[] alloc_objects" "$(hval "$f" alloc_objects "known_new_array()")" 6
	expect_eq "new[] alloc_space" "$(hval "$f" alloc_space "known_new_array()")" 4662
	expect_eq "new[] inuse_space" "$(hval "$f" inuse_space "known_new_array()")" 2331
	expect_eq "new alloc_space" "$(hval "$f" alloc_space "known_new_object()")" 192
	expect_eq "new inuse_objects" "$(hval "$f" inuse_objects "known_new_object()")" 0
	ok "heap_known_cxx: new[] and new reach the profile with exact sizes"
fi

# The stack cache (agent/stackcache.c) serves repeated call chains without unwinding;
# CTRACE_STACK_VERIFY=1 unwinds on every hit as well and counts disagreements. Across
# heap_known, the threads and signal handlers of heap_hazards and a deep recursion there
# must be none, with the cache in use.
verify() { # NAME CMD...
	name=$1; shift
	set +e
	CTRACE_STACK_VERIFY=1 "$CTRACE" record -o "$TMP/$name" -e heap -- "$@" > /dev/null 2>&1
	set -e
	go tool pprof -comments "$TMP/$name/heap.pb.gz" > "$TMP/$name.comments" 2>/dev/null ||
		fail "$name: no heap profile under CTRACE_STACK_VERIFY"
	line=$(grep 'ctrace heap stacks:' "$TMP/$name.comments") || fail "$name: no stack cache comment"
	hits=$(echo "$line" | sed -n 's/.*stacks: \([0-9]*\) from the stack cache.*/\1/p')
	bad=$(echo "$line" | sed -n 's/.* \([0-9]*\) cache mismatches.*/\1/p')
	expect_eq "$name: stack cache mismatches" "$bad" 0
	echo "$hits"
}
verify vknown "$SAMPLES/heap_known" > /dev/null
bin=$TMP/heap_hazards
${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -pthread -o "$bin" \
	"$CT_ROOT/tests/integration/heap_hazards.c" -ldl || fail "cannot build heap_hazards"
hits=$(verify vhazards "$bin")
[ "$hits" -gt 0 ] || fail "heap_hazards: the stack cache served nothing"
cat > "$TMP/deep.c" <<'C'
#include <stdlib.h>
/* Allocations at many depths of two recursions whose frames look alike. */
__attribute__((noinline)) static void *down_a(int d) { return d ? (void)0, down_a(d - 1) : malloc(24); }
__attribute__((noinline)) static void *down_b(int d) { return d ? (void)0, down_b(d - 1) : malloc(24); }
int main(void)
{
	for (int i = 0; i < 20000; i++) {
		free(i % 3 ? down_a(i % 50) : down_b(i % 50));
		free(i % 2 ? down_b(i % 7) : down_a(i % 7));
	}
	return 0;
}
C
${CC:-cc} -O1 -o "$TMP/deep" "$TMP/deep.c" || fail "cannot build deep"
hits=$(verify vdeep "$TMP/deep")
[ "$hits" -gt 30000 ] || fail "deep: only $hits stacks from the cache"
expect_eq "deep alloc_objects" "$(hval "$TMP/vdeep/heap.pb.gz" alloc_objects main)" 40000
ok "stack cache: no disagreement with a full unwind (CTRACE_STACK_VERIFY), and in use"

# Heap mode off: no heap files, same output.
"$CTRACE" record -o "$TMP/off" -e cpu -- "$SAMPLES/heap_known" > "$TMP/off.out" 2>/dev/null
cmp -s "$TMP/off.out" "$TMP/known.bare" || fail "stdout differs with heap mode off"
[ ! -e "$TMP/off/heap.pb.gz" ] || fail "heap.pb.gz written with heap mode off"
ok "heap mode off writes no heap profile"

# A program that defines malloc in its executable: its allocations never reach the hooks
# (the loader binds everyone to its malloc). The heap profile was silently empty; now
# record says why.
cat > "$TMP/ownmalloc.c" <<'C'
#include <stddef.h>
#include <stdio.h>
void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t), *__libc_realloc(void *, size_t);
void __libc_free(void *);
static long n;
void *malloc(size_t s) { n++; return __libc_malloc(s); }
void *calloc(size_t a, size_t b) { n++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t s) { n++; return __libc_realloc(p, s); }
void free(void *p) { __libc_free(p); }
int main(void)
{
	for (int i = 0; i < 1000; i++)
		free(malloc(100));
	printf("own malloc: %ld calls\n", n);
	return 0;
}
C
${CC:-cc} -O1 -fno-builtin -o "$TMP/ownmalloc" "$TMP/ownmalloc.c" || fail "cannot build ownmalloc"
"$CTRACE" record -o "$TMP/own" -e heap -- "$TMP/ownmalloc" > /dev/null 2> "$TMP/own.err" || fail "ownmalloc failed"
grep -q "heap profile incomplete: malloc is defined by $TMP/ownmalloc, ahead of the agent" "$TMP/own.err" ||
	{ cat "$TMP/own.err"; fail "a program's own malloc: not said"; }
"$CTRACE" record -o "$TMP/libc" -e heap -- "$SAMPLES/leak" > /dev/null 2> "$TMP/libc.err" || true
! grep -q "malloc is defined by" "$TMP/libc.err" || fail "glibc's malloc taken for a program's own"
# A non-PIE program that takes malloc's address gives it a canonical address in its own PLT:
# not a malloc of its own (it was said to be: node, for one).
cat > "$TMP/takesaddr.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	void *(*volatile alloc)(size_t) = malloc;
	for (int i = 0; i < 1000; i++)
		free(alloc(1000));
	printf("took malloc's address\n");
	return 0;
}
C
if ${CC:-cc} -O1 -fno-pic -no-pie -o "$TMP/takesaddr" "$TMP/takesaddr.c" 2> /dev/null; then
	"$CTRACE" record -o "$TMP/ta" -e heap -- "$TMP/takesaddr" > /dev/null 2> "$TMP/ta.err" || fail "takesaddr"
	! grep -q "malloc is defined by" "$TMP/ta.err" || { cat "$TMP/ta.err"; fail "a canonical PLT address taken for a malloc of the program's"; }
fi
ok "a malloc defined by the program itself: record says its allocations bypass the hooks"
