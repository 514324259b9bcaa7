# test_record_cli — `ctrace record`'s own behaviour, apart from what it records: one
# vocabulary of modes (typos refused by the CLI, logged and skipped by the agent),
# summary.txt keys.
. "$(dirname "$0")/lib.sh"

# -e with a typo: refused before anything runs, naming the bad word.
run_status "$CTRACE" record -o "$TMP/typo" -e cpu,hepa -- touch "$TMP/ran" 2> "$TMP/typo.err"
[ "$st" -eq 2 ] || fail "-e cpu,hepa: status $st, want 2"
grep -q "unknown mode 'hepa'" "$TMP/typo.err" || { cat "$TMP/typo.err"; fail "-e typo not named"; }
[ ! -e "$TMP/ran" ] || fail "-e typo: the program ran"
"$CTRACE" record -q -o "$TMP/alias" -e mutex -- true || fail "-e mutex (alias of lock) refused"
ok "-e typos refused, aliases kept"

# The agent alone: a typo is logged (CTRACE_VERBOSE) and the names it knows still apply.
CTRACE_OUT=$TMP/agent CTRACE_MODES=cpu,hepa CTRACE_VERBOSE=1 \
	LD_PRELOAD=$CT_BUILD/lib/libctrace.so "$SAMPLES/cpu_hot" 0.2 > /dev/null 2> "$TMP/agent.err" ||
	fail "agent with CTRACE_MODES typo failed"
grep -q "CTRACE_MODES=cpu,hepa: unknown mode 'hepa'" "$TMP/agent.err" ||
	{ cat "$TMP/agent.err"; fail "agent did not log the mode typo"; }
[ -e "$TMP/agent/cpu.pb.gz" ] || fail "agent: cpu mode lost with the typo"
[ ! -e "$TMP/agent/heap.pb.gz" ] || fail "agent: heap.pb.gz written although not selected"
ok "agent logs a mode typo and keeps the known modes"

# summary.txt: every documented key, the command name, a final newline.
for k in pid cmd engine reason samples lost threads collector_cpu_ms; do
	grep -q "^$k=" "$TMP/agent/summary.txt" || fail "summary.txt lacks $k"
	grep -q "\`$k\`" "$CT_ROOT/docs/env.md" || fail "docs/env.md does not document summary key $k"
done
grep -q "\`error\`" "$CT_ROOT/docs/env.md" || fail "docs/env.md does not document summary key error"
grep -qx "cmd=cpu_hot" "$TMP/agent/summary.txt" || fail "summary.txt cmd is not cpu_hot"
[ "$(tail -c 1 "$TMP/agent/summary.txt" | od -An -c | tr -d ' ')" = '\n' ] ||
	fail "summary.txt lacks a final newline"
ok "summary.txt keys documented and written"
