# test_block_epoll — samples/epoll_server under `ctrace record`: network waits (reason
# net) dominate the block profile and point at the epoll_wait call sites; the program's
# output and exit status are unchanged.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$SAMPLES/epoll_server
src=$CT_ROOT/samples/epoll_server.c
run_bare_traced "$prog" block
[ "$rc" -eq 0 ] && [ "$bare_rc" -eq 0 ] || fail "exit status $rc under ctrace, $bare_rc bare"
cmp -s "$TMP/bare.txt" "$TMP/traced.txt" || fail "output differs under ctrace"
ok "output and exit status unchanged"

block=$TMP/out/block.pb.gz
[ -s "$block" ] || fail "block.pb.gz missing"
[ ! -e "$TMP/out/mutex.pb.gz" ] || fail "mutex.pb.gz written although -e block"
total=$(pprof_total "$block" delay)
net=$(pprof_total "$block" delay -tagfocus reason=net)
awk -v n="$net" -v t="$total" 'BEGIN { exit !(t > 0 && n * 100 >= 60 * t) }' ||
	fail "net waits are $net of $total ns"
ok "net waits: $net of $total ns"

# The heaviest net site is an epoll_wait call: function and line of the call.
site=$(go tool pprof -top -lines -sample_index=delay -tagfocus reason=net "$block" 2>/dev/null |
	awk '/flat%/ { getline; print $6, $7; exit }')
fn=${site% *}
line=${site##*:}
case $fn in server_loop | client_wait) ;; *) fail "top net site is '$site'" ;; esac
sed -n "${line}p" "$src" | grep -q 'epoll_wait(' || fail "top net site $site is not an epoll_wait call"
ok "top net site: $site (epoll_wait)"

# The server's loop waits on its epoll fd: a sample labelled with that fd.
go tool pprof -raw -tagfocus reason=net -focus server_loop "$block" 2>/dev/null | grep -q 'fd:\[' ||
	fail "server's epoll waits carry no fd label"
ok "epoll waits carry their fd"

# errno survives a recorded wait: epoll_wait on a closed fd fails at once with EBADF, and
# with every wait recorded (CTRACE_BLOCK_RATE=1, CTRACE_IO_MIN_NS=0) each failure goes
# through the record path — stacks from the stack cache and from full unwinds at five
# call depths, the thread's own ring taken at its 64th record — which must not touch it.
cat > "$TMP/ebadf.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
static int bad;
__attribute__((noinline)) static int wait_at(int depth)
{
	struct epoll_event ev;
	if (depth > 0)
		return wait_at(depth - 1) + 1;
	errno = 0;
	if (epoll_wait(-1, &ev, 1, 5) != -1 || errno != EBADF)
		bad++;
	return 0;
}
int main(void)
{
	for (int i = 0; i < 400; i++)
		wait_at(i % 5);
	printf("bad %d\n", bad);
	return bad != 0;
}
C
${CC:-cc} -O1 -o "$TMP/ebadf" "$TMP/ebadf.c" || fail "cannot build ebadf"
CTRACE_BLOCK_RATE=1 CTRACE_IO_MIN_NS=0 "$CTRACE" record -o "$TMP/ebadf.out" -e block,sched -- \
	"$TMP/ebadf" > "$TMP/ebadf.txt" 2> "$TMP/ebadf.err" || fail "ebadf: $(cat "$TMP/ebadf.txt")"
kept=$("$CTRACE" report "$TMP/ebadf.out/block.pb.gz" 2>&1 |
	sed -n 's/.*; \([0-9]*\) waits kept.*/\1/p')
[ "${kept:-0}" -ge 400 ] || fail "ebadf: $kept waits recorded, expected 400"
ok "errno of a failed epoll_wait unchanged through 400 recorded waits"

# A program that exits right after a deferred readiness wait (docs/locks.md): the wait
# ended when its call returned, so it is recorded at exit, not listed as open. 300 ms of
# computing first, so that the tick rate is known and the waits are deferred; then 400
# waits that fail at once, and exit. The exit path's guard made the settle leave the
# last one to a next hook that never came: 399 kept and "1 open at exit".
cat > "$TMP/lastwait.c" <<'C'
#include <sys/epoll.h>
#include <time.h>
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
int main(void)
{
	struct epoll_event ev;
	volatile unsigned long spin = 0;
	for (double t0 = now(); now() - t0 < 0.3;)
		spin++;
	for (int i = 0; i < 400; i++)
		epoll_wait(-1, &ev, 1, 5);
	return 0;
}
C
${CC:-cc} -O1 -o "$TMP/lastwait" "$TMP/lastwait.c" || fail "cannot build lastwait"
CTRACE_VERBOSE=1 CTRACE_BLOCK_RATE=1 CTRACE_IO_MIN_NS=0 "$CTRACE" record -o "$TMP/lastwait.out" \
	-e block,sched -- "$TMP/lastwait" 2> "$TMP/lastwait.err" || fail "lastwait: $(tail -3 "$TMP/lastwait.err")"
deferred=$(sed -n 's/.*readiness waits: \([0-9]*\) ended at the thread.s next hook.*/\1/p' "$TMP/lastwait.err")
[ "${deferred:-0}" -ge 1 ] || fail "lastwait: no wait deferred ($(grep 'readiness waits' "$TMP/lastwait.err"))"
kept=$("$CTRACE" report "$TMP/lastwait.out/block.pb.gz" 2>&1 | sed -n 's/.*; \([0-9]*\) waits kept.*/\1/p')
open=$(sed -n 's/.*(\([0-9]*\) open at exit.*/\1/p' "$TMP/lastwait.err")
[ "${kept:-0}" = 400 ] && [ "${open:-?}" = 0 ] ||
	fail "lastwait: ${kept:-?} of 400 waits kept, ${open:-?} open at exit ($deferred deferred)"
ok "a deferred wait just before exit is recorded, not left open ($deferred of 400 deferred)"

# A wait's stack from the thread's front copies of its last chains (agent/stackcache.h:
# ct_stackcache_capture_front) is checked like a cache hit: two recursions whose frames
# look alike wait through the same function at the same depths (the same key: return
# address and slot; different chains), ten times in a row each, so that a front holding
# the other recursion's chain must be refused. Under
# CTRACE_STACK_VERIFY=1 every hit is unwound as well: no disagreement, fronts in use, and
# the two chains' waits stay apart in the block profile.
cat > "$TMP/fronts.c" <<'C'
#include <sys/epoll.h>
__attribute__((noinline)) static int wait_now(void)
{
	struct epoll_event ev;
	return epoll_wait(-1, &ev, 1, 5); /* EBADF at once, recorded */
}
__attribute__((noinline)) static int down_a(int d) { return d ? down_a(d - 1) + 1 : wait_now(); }
__attribute__((noinline)) static int down_b(int d) { return d ? down_b(d - 1) + 1 : wait_now(); }
int main(void)
{
	int s = 0;
	for (int i = 0; i < 3000; i++)
		s += (i / 10) % 3 ? down_a(i / 30 % 4) : down_b(i / 30 % 4);
	return s == 12345;
}
C
${CC:-cc} -O1 -o "$TMP/fronts" "$TMP/fronts.c" || fail "cannot build fronts"
CTRACE_STACK_VERIFY=1 CTRACE_VERBOSE=1 CTRACE_BLOCK_RATE=1 CTRACE_IO_MIN_NS=0 \
	"$CTRACE" record -o "$TMP/fronts.out" -e block,sched -- "$TMP/fronts" \
	> /dev/null 2> "$TMP/fronts.err" || fail "fronts: $(tail -3 "$TMP/fronts.err")"
line=$(grep 'hook stacks:' "$TMP/fronts.err") || fail "fronts: no stack cache line"
front=$(echo "$line" | sed -n 's/.*(\([0-9]*\) from a thread.s last chains).*/\1/p')
bad=$(echo "$line" | sed -n 's/.* \([0-9]*\) cache mismatches.*/\1/p')
[ "$bad" = 0 ] || fail "fronts: ${bad:-?} stacks disagreeing with a full unwind ($line)"
[ "${front:-0}" -ge 1000 ] || fail "fronts: only ${front:-?} stacks from the fronts ($line)"
a=$(pprof_total "$TMP/fronts.out/block.pb.gz" count -focus down_a -ignore down_b)
b=$(pprof_total "$TMP/fronts.out/block.pb.gz" count -focus down_b -ignore down_a)
[ "$a" = 2000 ] && [ "$b" = 1000 ] || fail "fronts: $a waits under down_a, $b under down_b"
ok "waits' stacks from the fronts: $front, none disagreeing with a full unwind"
