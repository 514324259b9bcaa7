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
