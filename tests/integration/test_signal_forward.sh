# test_signal_forward — a signal sent to `ctrace record` reaches the program exactly once,
# whoever sent it to whom: record alone (forwarded), the whole process group (a shell's
# `kill -PGID`: the program has it already, not forwarded), or every process one by one
# (systemd stopping a service's cgroup). Before, a group-sent SIGINT reached the program
# twice, and a server's "second signal: quit hard" path ran.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

# start DIR [ARG] — runs sig_count [ARG] under record in the background, in a session of its own (so a
# group kill reaches only record and its children); waits for "ready". Sets $rec.
start() {
	setsid "$CTRACE" record -q -o "$TMP/$1" -- "$PROGS/sig_count" ${2:-} > "$TMP/$1.out" 2> "$TMP/$1.err" &
	rec=$!
	for n in $(seq 1 100); do
		grep -q ready "$TMP/$1.out" 2> /dev/null && return 0
		sleep 0.05
	done
	fail "$1: sig_count did not start"
}

# finish DIR — waits for record; the program must have got exactly one signal.
finish() {
	run_status wait "$rec"
	grep -qx "got 1" "$TMP/$1.out" && [ "$st" = 1 ] ||
		{ cat "$TMP/$1.out" "$TMP/$1.err"; fail "$1: the program says '$(grep got "$TMP/$1.out")' (status $st), want got 1"; }
}

for round in 1 2 3; do
	for sig in INT TERM HUP; do
		start "group$round$sig"
		/bin/kill -s $sig -- -"$rec" # the session's process group: record, its sentinel, the program
		finish "group$round$sig"
	done
	start "alone$round"
	kill -TERM "$rec"
	finish "alone$round"
	start "each$round"
	kill -TERM "$rec" $(ps -o pid= --ppid "$rec") # record first, as systemd may
	finish "each$round"
	# A program that left record's process group: a kill of the group reaches it through
	# record only (it got none when the sentinel's witness alone decided).
	start "ownpgrp$round" ownpgrp
	/bin/kill -s INT -- -"$rec"
	finish "ownpgrp$round"
done
ok "a signal sent to the group, to record alone, or to each process reaches the program once (also one in a group of its own)"

# The other signals a supervisor or a user sends (reload, log rotation, a thread dump, a
# graceful stop): forwarded as well. SIGUSR1 once killed record, and the program with it.
for sig in QUIT USR1 USR2 ALRM WINCH; do
	start "alone$sig"
	kill -s $sig "$rec"
	finish "alone$sig"
done
start groupUSR1
/bin/kill -s USR1 -- -"$rec"
finish groupUSR1
ok "SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM and SIGWINCH sent to record reach the program once"
