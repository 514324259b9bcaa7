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
