# test_block_defer — deferred readiness waits (docs/locks.md): a thread whose epoll_wait is
# followed at once by a read has its waits ended by that read's hook, not by a return
# into the agent, and the block profile still gives the time it measured itself; a thread
# that computes after each return (no hook for 1 ms) must keep timing every wait, or the
# profile would count the computing as waiting.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

cat > "$TMP/loop.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#define ROUNDS 400
static int fds[2];
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}
static void *waker(void *arg)
{
	(void)arg;
	struct timespec d = {0, 2000000}; /* 2 ms */
	for (int i = 0; i < ROUNDS; i++) {
		nanosleep(&d, NULL);
		if (write(fds[1], "x", 1) != 1)
			exit(3);
	}
	return NULL;
}
int main(int argc, char **argv)
{
	int late = argc > 1; /* compute 1 ms (no hooked call) after each return */
	if (pipe(fds))
		return 2;
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
	pthread_t t;
	pthread_create(&t, NULL, waker, NULL);
	double waited = 0;
	char c;
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = now();
		if (epoll_wait(ep, &out, 1, -1) != 1)
			return 4;
		waited += now() - t0;
		if (late)
			for (double t1 = now(); now() - t1 < 0.001;)
				;
		if (read(fds[0], &c, 1) != 1)
			return 5;
	}
	pthread_join(t, NULL);
	printf("%.0f\n", waited * 1e9);
	return 0;
}
C
${CC:-cc} -O1 -g -pthread -o "$TMP/loop" "$TMP/loop.c" || fail "cannot build loop"

# check NAME [ARGS] — runs the loop under `ctrace record -e block,sched`; sets $deferred
# (waits ended at the next hook), $own (the loop's own measure of its waits, ns) and $net
# (the block profile's net total, ns).
check() {
	name=$1; shift
	CTRACE_VERBOSE=1 "$CTRACE" record -o "$TMP/$name" -e block,sched -- "$TMP/loop" "$@" \
		> "$TMP/$name.txt" 2> "$TMP/$name.err" || fail "$name: $(tail -3 "$TMP/$name.err")"
	line=$(grep 'readiness waits:' "$TMP/$name.err") || fail "$name: no readiness line"
	deferred=$(echo "$line" | sed -n 's/.*waits: \([0-9]*\) ended.*/\1/p')
	own=$(cat "$TMP/$name.txt")
	net=$(pprof_total "$TMP/$name/block.pb.gz" delay -tagfocus reason=net)
	echo "$name: $line; own $own ns, block profile $net ns"
}

check prompt
[ "${deferred:-0}" -ge 300 ] || fail "prompt: only ${deferred:-?} of 400 waits deferred"
awk -v n="$net" -v o="$own" 'BEGIN { exit !(o > 0 && n >= 0.95 * o && n <= 1.05 * o) }' ||
	fail "prompt: block profile $net ns against the loop's own $own ns"
ok "prompt loop: $deferred waits deferred, block total within 5% of the loop's own"

# A deferred wait's stack is taken at its entry: the net waits are at the loop's epoll_wait
# call, not at the read that ended them. And the trace has them too (each lasted ~2 ms).
site=$(go tool pprof -top -lines -sample_index=delay -tagfocus reason=net \
	"$TMP/prompt/block.pb.gz" 2>/dev/null | awk '/flat%/ { getline; print $6, $7; exit }')
line=${site##*:}
sed -n "${line}p" "$TMP/loop.c" | grep -q 'epoll_wait(' ||
	fail "prompt: top net site '$site' is not the epoll_wait call"
waits=$(sed -n 's/.* \([0-9]*\) waits (.*/\1/p' "$TMP/prompt.err")
[ "${waits:-0}" -ge 700 ] || fail "prompt: the trace has ${waits:-?} waits, expected ~400 net + 400 sleep"
ok "prompt loop: waits at the epoll_wait call ($site), $waits in the trace"

check late 1
[ "${deferred:-1}" -eq 0 ] || fail "late: $deferred waits deferred although each return is followed by 1 ms without a hook"
awk -v n="$net" -v o="$own" 'BEGIN { exit !(o > 0 && n >= 0.95 * o && n <= 1.05 * o) }' ||
	fail "late: block profile $net ns against the loop's own $own ns"
ok "late loop: no wait deferred, block total within 5% of the loop's own"
