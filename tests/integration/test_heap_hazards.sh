#!/bin/sh
# test_heap_hazards.sh — the malloc hooks where interposers break: allocation inside
# dlopen/dlsym/dlerror, in signal handlers, in TLS destructors, in atexit handlers and ELF
# destructors after the agent has finished, in a fork child, 16 threads freeing each
# other's blocks, and the API's edge cases (heap_hazards.c checks every result itself).
# Bare and traced runs must print the same and exit with the same status, at rate 1 and
# at the default rate, under `ctrace record` and with LD_PRELOAD alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

bin=$TMP/heap_hazards
${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -pthread -o "$bin" \
	"$CT_ROOT/tests/integration/heap_hazards.c" -ldl || fail "cannot build heap_hazards"

CTRACE_HEAP_RATE=1 run_bare_and_traced rate1 "$bin"
expect_eq "bare exit status" "$bare_rc" 3
f=$TMP/rate1/heap.pb.gz
n=$(hval "$f" alloc_objects on_signal)
[ "$n" -ge 30 ] || fail "signal handler allocations: $n, want >= 30"
expect_eq "TLS destructor allocations" "$(hval "$f" alloc_objects tls_destructor)" 16
expect_eq "atexit allocation" "$(hval "$f" alloc_objects at_exit_alloc)" 1
want=$(sed -n 's/^threads: [0-9]* threads made \([0-9]*\) allocations.*/\1/p' "$TMP/rate1.out")
expect_eq "worker allocations" "$(hval "$f" alloc_objects worker)" "$want"
expect_eq "worker in use at exit" "$(hval "$f" inuse_objects worker)" 0
ok "rate 1: identical output; signal handler, TLS destructor, atexit and 16 threads counted"

run_bare_and_traced dflt "$bin"
ok "default rate: identical output and exit status"

set +e
CTRACE_OUT=$TMP/preload LD_PRELOAD=$CT_BUILD/lib/libctrace.so CTRACE_HEAP_RATE=7 "$bin" \
	> "$TMP/preload.out" 2>/dev/null
rc=$?
set -e
expect_eq "LD_PRELOAD exit status" "$rc" 3
cmp -s "$TMP/preload.out" "$TMP/rate1.bare" || fail "stdout differs under LD_PRELOAD"
[ -s "$TMP/preload/heap.pb.gz" ] || fail "no heap.pb.gz from the LD_PRELOAD run"
ok "LD_PRELOAD with every mode on: identical output and exit status"

# Huge allocations fail cleanly with ENOMEM under the agent (checked inside too).
cat > "$TMP/huge.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
static void *(*volatile m)(size_t) = malloc;
int main(void) { errno = 0; void *p = m((size_t)1 << 40); printf("%p %d\n", p, errno == ENOMEM); return 0; }
C
${CC:-cc} -O2 -o "$TMP/huge" "$TMP/huge.c" || fail "cannot build huge"
out=$(CTRACE_OUT=$TMP/huge.d CTRACE_HEAP_RATE=1 LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$TMP/huge")
expect_eq "malloc(1<<40)" "$out" "(nil) 1"
ok "malloc(1<<40) returns NULL with ENOMEM"

# A request of 2^63 bytes or more (or a calloc whose product is one) fails, and must not
# stop the thread's sampling: charged to the countdown before the real call, it wrapped it
# into a huge one, and no later allocation of the thread was ever sampled (0 of 64 below).
cat > "$TMP/huge_then.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
static void *(*volatile m)(size_t) = malloc;
static void *(*volatile c)(size_t, size_t) = calloc;
static void *keep[64];
__attribute__((noinline)) void keep_after_huge(void)
{
	for (int i = 0; i < 64; i++)
		keep[i] = m(1 << 20);
}
int main(int argc, char **argv)
{
	void *p = argv[1][0] == 'm' ? m((size_t)1 << 63)
		: argv[1][0] == 'c' ? c((size_t)1 << 32, (size_t)1 << 31)
		: c(2, (size_t)0xC000000000000000u);
	keep_after_huge();
	printf("%p %d\n", p, keep[63] != NULL);
	return argc > 2;
}
C
${CC:-cc} -O2 -g -o "$TMP/huge_then" "$TMP/huge_then.c" || fail "cannot build huge_then"
for how in m c w; do
	rm -rf "$TMP/ht.d"
	out=$(CTRACE_OUT=$TMP/ht.d CTRACE_MODES=heap CTRACE_HEAP_RATE=1 \
		LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$TMP/huge_then" $how)
	expect_eq "huge_then $how" "$out" "(nil) 1"
	expect_eq "huge_then $how: sampled after the failed request" \
		"$(hval "$TMP/ht.d/heap.pb.gz" inuse_objects keep_after_huge)" 64
done
ok "a failed request of 2^63 bytes or more leaves the thread's sampling as it was"
