# test_report_fifo — a path that a file being read names, or the input itself, may be a
# FIFO (or a device), whose open blocks until a writer comes: report must refuse it, not
# hang. A profile recorded unsymbolized whose program was then replaced by a FIFO (the
# symbolizer opens each mapping's file), a FIFO given as the input, and a recording folder
# whose trace.ctr and perf map are FIFOs. Also: a report standard output cannot take.
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

# A report that cannot be written (standard output on a full disk) fails with one line:
# the views' text sat in stdout's buffer, and the write error at exit went unreported
# (status 0, nothing written).
if [ -w /dev/full ]; then
	"$CTRACE" record -q -o "$TMP/rec2" -e cpu,heap -- "$SAMPLES/cpu_hot" 0.1 > /dev/null ||
		fail "record cpu_hot"
	for v in "" "--top 5" "--heap"; do
		run_status "$CTRACE" report $v "$TMP/rec2/heap.pb.gz" > /dev/full 2> "$TMP/err"
		[ "$st" -ne 0 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] ||
			{ cat "$TMP/err"; fail "report $v > /dev/full: status $st"; }
	done
	run_status "$CTRACE" report "$TMP/rec2" > /dev/full 2> "$TMP/err"
	[ "$st" -ne 0 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] ||
		{ cat "$TMP/err"; fail "report DIR > /dev/full: status $st, $(wc -l < "$TMP/err") lines"; }
	ok "a report to a full disk: status 1, one line ($(cat "$TMP/err"))"
fi

# An OUT that is not a regular file is written in place, as a shell's '>' writes it: a
# FIFO's reader gets the report, a device stays a device (a rename once replaced /dev/full
# with a regular file when run as root), /dev/fd/N writes to the fd. (A symlink elsewhere is
# replaced, as a planted one must be: test_record_cli.)
"$CTRACE" report --folded - "$TMP/rec/cpu.pb.gz" > "$TMP/want" 2> /dev/null || fail "--folded -"
[ -s "$TMP/want" ] || fail "--folded -: empty"
mkfifo "$TMP/outfifo"
timeout 20 cat "$TMP/outfifo" > "$TMP/fromfifo" &
reader=$!
run_status timeout -k 2 20 "$CTRACE" report --folded "$TMP/outfifo" "$TMP/rec/cpu.pb.gz" 2> "$TMP/err"
wait $reader
[ "$st" -eq 0 ] && [ -p "$TMP/outfifo" ] && cmp -s "$TMP/want" "$TMP/fromfifo" ||
	{ cat "$TMP/err"; fail "--folded FIFO: status $st, the reader got $(wc -c < "$TMP/fromfifo") bytes"; }
"$CTRACE" report --folded /dev/fd/9 "$TMP/rec/cpu.pb.gz" 9> "$TMP/fd9.txt" 2> /dev/null || fail "--folded /dev/fd/9"
cmp -s "$TMP/want" "$TMP/fd9.txt" || fail "--folded /dev/fd/9: nothing in the file fd 9 opened"
# A view whose names must end in its format's extension takes such a name too (HTML for
# --flame): it refused --flame /dev/stdout, --chrome >(cmd).
"$CTRACE" report --flame /dev/fd/8 "$TMP/rec/cpu.pb.gz" 8> "$TMP/fd8.html" 2> "$TMP/fd8.err" ||
	{ cat "$TMP/fd8.err"; fail "--flame /dev/fd/8 refused"; }
grep -qi '<html' "$TMP/fd8.html" || fail "--flame /dev/fd/8: no HTML page written"
if [ -w /dev/full ]; then
	run_status "$CTRACE" report --folded /dev/full "$TMP/rec/cpu.pb.gz" 2> "$TMP/err"
	[ -c /dev/full ] || { mknod -m 666 /dev/full c 1 7 2> /dev/null; fail "--folded /dev/full replaced the device"; }
	[ "$st" -eq 1 ] && grep -q "No space left on device" "$TMP/err" ||
		{ cat "$TMP/err"; fail "--folded /dev/full: status $st"; }
fi
if mknod "$TMP/null.svg" c 1 3 2> /dev/null; then
	"$CTRACE" report --flame "$TMP/null.svg" "$TMP/rec/cpu.pb.gz" 2> /dev/null || fail "--flame into a device"
	[ -c "$TMP/null.svg" ] || fail "--flame into a device: replaced by a regular file"
fi
ok "an OUT that is a FIFO, a device or /dev/fd/N: written in place, never replaced"
