# test_priv_drop — a forking server whose workers drop root for nobody (issue 9, defect
# 13): each worker's profile is still written, with the request-handling function in it.
. "$(dirname "$0")/lib.sh"
PROGS=$CT_BUILD/tests/progs

chmod 755 "$TMP" # the workers, as nobody, must reach their folders
"$CTRACE" record -o "$TMP/srv" -- "$PROGS/priv_server" > "$TMP/srv.out" 2> "$TMP/srv.err" ||
	{ cat "$TMP/srv.err"; fail "priv_server: status $?"; }
if grep -qx skip "$TMP/srv.out"; then
	echo "skip: not root (or no user nobody)"
	exit 0
fi
for w in $(cat "$TMP/srv.out"); do
	[ -s "$TMP/srv/$w/cpu.pb.gz" ] || { ls -lR "$TMP/srv"; fail "worker $w left no profile"; }
	pprof_top "$TMP/srv/$w/cpu.pb.gz" > "$TMP/w.top"
	v=$(share "$TMP/w.top" handle_request cum)
	near "$v" 100 15 || { cat "$TMP/w.top"; fail "worker $w: handle_request has $v%"; }
done
ok "workers that switched to nobody left their profiles (handle_request ~100%)"
