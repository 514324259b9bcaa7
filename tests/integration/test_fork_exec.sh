#!/bin/sh
# test_fork_exec.sh — processes that fork and exec (shells, make, pyenv shims): every
# process's output is as bare, and no empty DIR/<pid>/ folder is left behind by a
# forked child that exec'd (or died) before writing anything.
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
n=$(find "$TMP/fe" -name summary.txt | wc -l)
[ "$n" -ge 4 ] || { find "$TMP/fe" >&2; fail "only $n processes wrote a summary"; }
empty=$(find "$TMP/fe" -type d -empty)
[ -z "$empty" ] || { find "$TMP/fe" >&2; fail "empty folders left behind: $empty"; }
find "$TMP/fe" -name '*.tmp*' | grep -q . && fail "temporary files left behind"
ok "fork+exec: $n processes recorded, no empty folder"
