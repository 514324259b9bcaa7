#!/bin/sh
# test_fork_exec.sh — processes that fork and exec (shells, make, pyenv shims): every
# process's output is as bare, no empty DIR/<pid>/ folder is left behind by a forked child
# that exec'd (or died) before writing anything, and a child that recorded nothing writes
# no folder but says so in DIR/.children.
. "$(dirname "$0")/lib.sh"

# bash forks (dash would vfork) for every command. The outer shell owns DIR; the inner one (exec'd, DIR/<pid>) forks children that exec
# /bin/true: each such fork child once made DIR/<inner>/<child>/ and never wrote into it,
# its exec'd image writing DIR/<child>/ instead.
script='bash -c "/bin/true; /bin/true; /bin/true; echo inner"; echo outer'
bash -c "$script" > "$TMP/bare.out" 2>&1
"$CTRACE" record -o "$TMP/fe" -- bash -c "$script" > "$TMP/rec.out" 2> "$TMP/rec.err" ||
	{ cat "$TMP/rec.err"; fail "record failed"; }
cmp -s "$TMP/bare.out" "$TMP/rec.out" || { cat "$TMP/rec.out"; fail "output differs from a bare run"; }
[ -f "$TMP/fe/summary.txt" ] || fail "no summary for the outer shell"
# Each child process says in DIR/.children that it started and how it ended; the /bin/true
# ones recorded nothing and so left no folder (issue 9 #10), the others left a summary.
n=$(find "$TMP/fe" -name summary.txt | wc -l)
started=$(awk '$2 == "start" { print $1 }' "$TMP/fe/.children" | sort -u | wc -l)
[ "$started" -ge 4 ] || { cat "$TMP/fe/.children" >&2; fail "only $started children in .children"; }
for pid in $(awk '$2 == "start" { print $1 }' "$TMP/fe/.children" | sort -u); do
	folder=$(awk -v p="$pid" '$1 == p && $2 == "start" { f = $3 } END { print f }' "$TMP/fe/.children")
	[ -f "$TMP/fe/$folder/summary.txt" ] ||
		grep -q "^$pid end nothing recorded" "$TMP/fe/.children" ||
		{ cat "$TMP/fe/.children" >&2; fail "child $pid left no summary and did not say why"; }
done
grep -q 'wrote nothing' "$TMP/rec.err" && { cat "$TMP/rec.err"; fail "record reports a child that wrote nothing"; }
grep -q 'recorded no samples or events' "$TMP/rec.err" || { cat "$TMP/rec.err"; fail "record does not count the children that recorded nothing"; }
empty=$(find "$TMP/fe" -type d -empty)
[ -z "$empty" ] || { find "$TMP/fe" >&2; fail "empty folders left behind: $empty"; }
find "$TMP/fe" -name '*.tmp*' | grep -q . && fail "temporary files left behind"
ok "fork+exec: $n processes recorded, $started children accounted for in .children, no empty folder"
