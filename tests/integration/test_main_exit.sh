# test_main_exit — a program whose main thread ends without exit() (pthread_exit, or a
# cancellation of itself) while a worker finishes the work: glibc ends the process with
# exit(0) when its last thread ends, running the atexit handlers. The agent's own threads
# (the collector) used to keep the process alive for ever, with every signal blocked in
# them: only SIGKILL ended it, and nothing was written (agent/lastthread.c). Under both
# engines: the same output and status as without the agent, the profiles written, the
# worker's function on top.
. "$(dirname "$0")/lib.sh"

cat > "$TMP/mainexit.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static volatile double sink;
static void bye(void) { printf("atexit handler ran\n"); }
__attribute__((noinline)) static void worker_burn(double s)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 100000; i++)
			sink += i * 0.5;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < s);
}
static void *worker(void *a)
{
	(void)a;
	worker_burn(0.4);
	printf("worker done\n");
	return NULL;
}
int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	atexit(bye);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	printf("main ends\n");
	if (argc > 1 && strcmp(argv[1], "cancel") == 0)
		pthread_cancel(pthread_self()), pthread_testcancel();
	pthread_exit(NULL);
}
C
${CC:-cc} -O1 -pthread -o "$TMP/mainexit" "$TMP/mainexit.c" || fail "cannot build mainexit"

for how in exit cancel; do
	"$TMP/mainexit" $how > "$TMP/bare.$how" || fail "$how: bare run failed"
	for sampler in perf timer; do
		out=$TMP/out.$how.$sampler
		run_status timeout -k 5 30 "$CTRACE" record -q -o "$out" --sampler $sampler -- \
			"$TMP/mainexit" $how > "$TMP/got" 2> "$TMP/err"
		[ "$st" -ne 124 ] && [ "$st" -ne 137 ] || fail "$how, $sampler: the process did not end (killed after 30 s)"
		[ "$st" -eq 0 ] || { cat "$TMP/err"; fail "$how, $sampler: status $st"; }
		cmp -s "$TMP/bare.$how" "$TMP/got" ||
			fail "$how, $sampler: output differs: $(tr '\n' '|' < "$TMP/got")"
		[ -s "$out/summary.txt" ] || fail "$how, $sampler: no summary.txt"
		pprof_top "$out/cpu.pb.gz" > "$TMP/top"
		v=$(share "$TMP/top" worker_burn flat)
		near "$v" 100 30 || { cat "$TMP/top"; fail "$how, $sampler: worker_burn has $v% of the samples"; }
	done
	ok "main $how: the process ends as without the agent (status 0, atexit ran), profiles written"
done

# quick_exit ends the process through libc's own _exit, past the agent's hook: the files
# were not written (only rebuilt from the last checkpoint). Now: the handler's output and
# the status as without the agent, and the agent's own final write.
cat > "$TMP/qe.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static void bye(void) { puts("at_quick_exit ran"); fflush(stdout); }
int main(void)
{
	volatile double x = 0;
	at_quick_exit(bye);
	for (clock_t t0 = clock(); clock() - t0 < CLOCKS_PER_SEC / 4;)
		x += 1;
	quick_exit(7);
}
C
${CC:-cc} -O1 -o "$TMP/qe" "$TMP/qe.c" || fail "cannot build qe"
run_status "$TMP/qe" > "$TMP/qe.bare"
bare=$st
run_status "$CTRACE" record -q -o "$TMP/qe.out" -- "$TMP/qe" > "$TMP/qe.got" 2> "$TMP/qe.err"
[ "$st" = "$bare" ] && cmp -s "$TMP/qe.bare" "$TMP/qe.got" ||
	fail "quick_exit: status $st (bare $bare), output $(cat "$TMP/qe.got")"
grep -q '^samples=' "$TMP/qe.out/summary.txt" && ! grep -q '^checkpoint=' "$TMP/qe.out/summary.txt" ||
	{ cat "$TMP/qe.out/summary.txt"; fail "quick_exit: not the agent's final write"; }
ok "quick_exit: status $st and the handler's output as without the agent, files written at exit"
