# test_out_paths — the agent never writes through a planted symlink (issue 9, defect 8,
# agent side): every file is created new (O_EXCL | O_NOFOLLOW) under a temporary name and
# renamed into place, so a link at DIR/summary.txt.tmp, DIR/summary.txt or DIR/cpu.pb.gz
# leaves its target alone.
. "$(dirname "$0")/lib.sh"
AGENT=$CT_BUILD/lib/libctrace.so

mkdir "$TMP/out"
printf 'victim\n' > "$TMP/victim"
ln -s "$TMP/victim" "$TMP/out/summary.txt.tmp"
ln -s "$TMP/victim" "$TMP/out/summary.txt"
ln -s "$TMP/victim" "$TMP/out/cpu.pb.gz"
CTRACE_OUT="$TMP/out" LD_PRELOAD="$AGENT" "$SAMPLES/cpu_hot" 0.2 > /dev/null ||
	fail "cpu_hot failed under the agent"
[ "$(cat "$TMP/victim")" = victim ] || fail "the victim file was overwritten"
[ -f "$TMP/out/summary.txt" ] && [ ! -L "$TMP/out/summary.txt" ] || fail "summary.txt not written in place"
[ -f "$TMP/out/cpu.pb.gz" ] && [ ! -L "$TMP/out/cpu.pb.gz" ] || fail "cpu.pb.gz not written in place"
pprof -raw "$TMP/out/cpu.pb.gz" > /dev/null 2>&1 || fail "cpu.pb.gz does not parse"
ls "$TMP/out" | grep -v '^summary.txt.tmp$' | grep -q 'tmp' && fail "temporary files left behind"
ok "planted symlinks at summary.txt.tmp, summary.txt, cpu.pb.gz: victim untouched"

# A relative CTRACE_OUT (the default, ctrace.out) is the start directory's: a program that
# moves elsewhere (a daemon's chdir) left .owner and trace.ctr there and wrote its
# profiles into a new ctrace.out wherever it had moved.
cat > "$TMP/chd.c" <<'C'
#include <unistd.h>
int main(int argc, char **argv)
{
	volatile double s = 0;
	if (argc < 2 || chdir(argv[1]) != 0)
		return 1;
	for (long i = 0; i < 30000000; i++)
		s += i;
	return 0;
}
C
${CC:-cc} -O1 -o "$TMP/chd" "$TMP/chd.c" || fail "cannot build chd"
mkdir "$TMP/start" "$TMP/elsewhere"
(cd "$TMP/start" && LD_PRELOAD="$AGENT" "$TMP/chd" "$TMP/elsewhere") || fail "chd failed under the agent"
for f in .owner summary.txt cpu.pb.gz trace.ctr; do
	[ -e "$TMP/start/ctrace.out/$f" ] || fail "relative CTRACE_OUT: no $f in the start directory's ctrace.out"
done
[ ! -e "$TMP/elsewhere/ctrace.out" ] || fail "relative CTRACE_OUT: a ctrace.out made where the program moved"
ok "a relative CTRACE_OUT stays the start directory's after the program's chdir"

# A relative CTRACE_OUT (or none) reaches an exec'd program as DIR's absolute path: a shell
# that cd's and then runs a program (bash forks, dash vforks) kept one recording, where the
# program resolved the relative name against its new directory and started another.
mkdir -p "$TMP/rel/a" "$TMP/rel/b"
for sh in bash dash; do
	command -v $sh > /dev/null || continue
	rm -rf "$TMP/rel/a/rel.out" "$TMP/rel/b/rel.out"
	(cd "$TMP/rel/a" && CTRACE_OUT=rel.out LD_PRELOAD="$CT_BUILD/lib/libctrace.so" \
		$sh -c "cd '$TMP/rel/b' && '$SAMPLES/cpu_hot' 0.1 > /dev/null; true") || fail "$sh failed"
	[ ! -e "$TMP/rel/b/rel.out" ] || fail "$sh: the exec'd program recorded into the new directory"
	n=$(find "$TMP/rel/a/rel.out" -mindepth 2 -name cpu.pb.gz | wc -l)
	[ "$n" = 1 ] || { find "$TMP/rel" >&2; fail "$sh: the exec'd program's folder is not in DIR"; }
done
ok "a relative CTRACE_OUT follows an exec after cd (bash's fork, dash's vfork)"
