# test_report_fifo — a path that a file being read names, or the input itself, may be a
# FIFO (or a device), whose open blocks until a writer comes: report must refuse it, not
# hang. A profile recorded unsymbolized whose program was then replaced by a FIFO (the
# symbolizer opens each mapping's file), a FIFO given as the input, and a recording folder
# whose trace.ctr and perf map are FIFOs.
. "$(dirname "$0")/lib.sh"

cp "$SAMPLES/cpu_hot" "$TMP/prog"
cp "$SAMPLES"/libcpu_hot_lib.so "$TMP/"
"$CTRACE" record -q --no-symbolize -o "$TMP/rec" -e cpu -- "$TMP/prog" 0.2 > /dev/null || fail "record failed"
rm "$TMP/prog"
mkfifo "$TMP/prog"
run_status timeout -k 2 20 "$CTRACE" report "$TMP/rec/cpu.pb.gz" > "$TMP/out" 2> "$TMP/err"
[ "$st" -ne 124 ] && [ "$st" -ne 137 ] || fail "a mapping naming a FIFO: report hung"
[ "$st" -eq 0 ] || { cat "$TMP/err"; fail "a mapping naming a FIFO: status $st"; }
grep -q "$TMP/prog: not a regular file" "$TMP/err" || { cat "$TMP/err"; fail "no warning naming the FIFO"; }
ok "a profile whose program is now a FIFO: reported unsymbolized, with a warning"

mkfifo "$TMP/in.pb.gz"
run_status timeout -k 2 20 "$CTRACE" report "$TMP/in.pb.gz" > "$TMP/out" 2> "$TMP/err"
[ "$st" -ne 124 ] && [ "$st" -ne 137 ] || fail "a FIFO as the input: report hung"
[ "$st" -ne 0 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q "not a regular file" "$TMP/err" ||
	{ cat "$TMP/err"; fail "a FIFO as the input: status $st, not one clear line"; }
ok "a FIFO as the input: one line, status $st"

mkdir "$TMP/dir"
cp "$TMP/rec/cpu.pb.gz" "$TMP/rec/summary.txt" "$TMP/dir/"
mkfifo "$TMP/dir/trace.ctr"
pid=$(sed -n 's/^pid=//p' "$TMP/dir/summary.txt")
mkfifo "$TMP/dir/perf-$pid.map"
run_status timeout -k 2 20 "$CTRACE" report --sched "$TMP/dir" > "$TMP/out" 2> "$TMP/err"
[ "$st" -ne 124 ] && [ "$st" -ne 137 ] || fail "trace.ctr a FIFO: report --sched hung"
[ "$st" -ne 0 ] && grep -q "not a regular file" "$TMP/err" || { cat "$TMP/err"; fail "trace.ctr a FIFO: status $st"; }
run_status timeout -k 2 20 "$CTRACE" report "$TMP/dir" > "$TMP/out" 2> "$TMP/err"
[ "$st" -ne 124 ] && [ "$st" -ne 137 ] || fail "perf map a FIFO: report hung"
ok "a folder whose trace.ctr and perf map are FIFOs: refused, no hang"
