# test_selffold — the agent's own CPU time is one `[ctrace]` leaf in the program's CPU
# profile (agent/selffold.h): tests/progs/hook_loop spends much of its time in hooked
# poll and ppoll calls that barely wait (every one timed, traced and its stack taken).
# Its cpu.pb.gz has `[ctrace]` right under poll_loop, keeps libc's ppoll under poll_loop
# as the program's own time (the hook's frames dropped: the agent does not defer ppoll,
# so its hook is on the stack in every such sample), and names no agent function
# (ct_*, lk_*, wr_*, io_*, libunwind's, the thread-start trampoline) anywhere.
. "$CT_ROOT/tests/integration/lib.sh"

prog=$CT_BUILD/tests/progs/hook_loop
[ -x "$prog" ] || fail "$prog not built"
"$CTRACE" record -F 999 -o "$TMP/d" -- "$prog" 200000 > "$TMP/out.txt" 2> "$TMP/rec.err" ||
	{ cat "$TMP/rec.err"; fail "record failed"; }
grep -q '^ready 400000$' "$TMP/out.txt" || fail "output: $(cat "$TMP/out.txt")"
"$CTRACE" report --folded "$TMP/f.txt" "$TMP/d/cpu.pb.gz" > /dev/null 2> "$TMP/rep.err" ||
	{ cat "$TMP/rep.err"; fail "report --folded failed"; }

# folded_sum PATTERN — samples' values of the folded stacks matching the awk regex.
folded_sum() { awk -v re="$1" '$1 ~ re { n += $NF } END { printf "%.0f\n", n }' "$TMP/f.txt"; }
total=$(folded_sum '.')
agent=$(folded_sum ';poll_loop;\\[ctrace\\]$')
real=$(folded_sum ';poll_loop;[^;]*ppoll[^;]*(;|$)')
[ "$agent" -gt 0 ] || { cat "$TMP/f.txt"; fail "no [ctrace] leaf under poll_loop"; }
[ "$real" -gt 0 ] || { cat "$TMP/f.txt"; fail "libc's ppoll is not under poll_loop"; }
ok "[ctrace] under poll_loop: $agent of $total ns; libc's ppoll: $real ns"

# No agent function by name: the hooks' helpers, the agent's modules, libunwind, the
# thread-start trampoline.
bad=$(tr ';' '\n' < "$TMP/f.txt" | sed 's/ [0-9]*$//' | sort -u |
	grep -E '^(ct_|lk_|wr_|io_|fd_|sf_|unw_|_U|_UL|trampoline$|ev_|heap_|hs_)' || true)
[ -z "$bad" ] || { cat "$TMP/f.txt"; fail "agent functions in the CPU profile: $bad"; }
ok "no agent function in the CPU profile, only [ctrace]"
