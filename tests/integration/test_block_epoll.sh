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
