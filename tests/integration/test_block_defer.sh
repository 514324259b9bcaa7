# test_block_defer — deferred readiness waits (docs/locks.md): a thread whose epoll_wait is
# followed at once by a read has its waits ended by that read's hook, not by a return
# into the agent, and the block profile still gives the time it measured itself; a thread
# that computes after each return (no hook for 1 ms) must keep timing every wait, or the
# profile would count the computing as waiting; and a thread that turns from the first
# kind into the second must stop deferring within the interval its calibrations have
# reached (at most 64 waits).
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

cat > "$TMP/loop.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
static int fds[2], rounds = 400;
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
	for (int i = 0; i < rounds; i++) {
		nanosleep(&d, NULL);
		if (write(fds[1], "x", 1) != 1)
			exit(3);
	}
	return NULL;
}
int main(int argc, char **argv)
{
	/* From round late_from on, compute 1 ms (no hooked call) after each return: "late"
	 * from the start, "switch" half way through 600 rounds. */
	int late_from = rounds;
	if (argc > 1 && argv[1][0] == 'l')
		late_from = 0;
	if (argc > 1 && argv[1][0] == 's')
		rounds = 600, late_from = 300;
	if (pipe(fds))
		return 2;
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
	pthread_t t;
	pthread_create(&t, NULL, waker, NULL);
	double waited = 0;
	char c;
	for (int i = 0; i < rounds; i++) {
		double t0 = now();
		if (epoll_wait(ep, &out, 1, -1) != 1)
			return 4;
		waited += now() - t0;
		if (i >= late_from)
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
# (waits ended at the next hook), $late (calibrations followed by no hook in time), $own
# (the loop's own measure of its waits, ns) and $net (the block profile's net total, ns).
check() {
	name=$1; shift
	CTRACE_VERBOSE=1 "$CTRACE" record -o "$TMP/$name" -e block,sched -- "$TMP/loop" "$@" \
		> "$TMP/$name.txt" 2> "$TMP/$name.err" || fail "$name: $(tail -3 "$TMP/$name.err")"
	line=$(grep 'readiness waits:' "$TMP/$name.err") || fail "$name: no readiness line"
	deferred=$(echo "$line" | sed -n 's/.*waits: \([0-9]*\) ended.*/\1/p')
	late=$(echo "$line" | sed -n 's/.*(\([0-9]*\) of them.*/\1/p')
	own=$(cat "$TMP/$name.txt")
	net=$(pprof_total "$TMP/$name/block.pb.gz" delay -tagfocus reason=net)
	echo "$name: $line; own $own ns, block profile $net ns"
}

check prompt
# About 370 of 400 on a quiet machine; 298 with two other test runs sharing its two cores,
# and 210 in one clean-clone CI run where 106 of 179 calibrations saw the loop's next hook
# come later than 2 us (a slow spell of the host: deferral then rightly backs off). None
# are when deferral is broken.
[ "${deferred:-0}" -ge 100 ] || fail "prompt: only ${deferred:-?} of 400 waits deferred"
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

check late late
[ "${deferred:-1}" -eq 0 ] || fail "late: $deferred waits deferred although each return is followed by 1 ms without a hook"
awk -v n="$net" -v o="$own" 'BEGIN { exit !(o > 0 && n >= 0.95 * o && n <= 1.05 * o) }' ||
	fail "late: block profile $net ns against the loop's own $own ns"
ok "late loop: no wait deferred, block total within 5% of the loop's own"

# Prompt for 300 rounds (deferral earned, calibrations every 64th wait by the end), then
# 300 rounds of 1 ms computing after each return: the first calibration after the switch
# stops deferral, so at most 64 waits count their ~1 ms of computing. Deferring on to the
# end would add ~300 ms.
check switch switch
[ "${deferred:-0}" -ge 80 ] || fail "switch: only ${deferred:-?} waits deferred in the prompt half" # ~270 when quiet
[ "${late:-0}" -ge 1 ] || fail "switch: no calibration saw the computing after the switch"
awk -v n="$net" -v o="$own" 'BEGIN { exit !(o > 0 && n >= 0.95 * o && n <= 1.05 * o + 70e6) }' ||
	fail "switch: block profile $net ns against the loop's own $own ns (allowed: 64 late waits of ~1 ms)"
ok "switch: deferral stopped after the switch; block total $net ns against the loop's own $own ns"
