# test_block_epoll — samples/epoll_server under `ctrace record`: network waits (reason
# net) dominate the block profile and point at the epoll_wait call sites; the program's
# output and exit status are unchanged.
. "$CT_ROOT/tests/integration/lib.sh"
. "$CT_ROOT/tests/integration/lockprof.sh"

prog=$SAMPLES/epoll_server
src=$CT_ROOT/samples/epoll_server.c
run_bare_traced "$prog" block
[ "$rc" -eq 0 ] && [ "$bare_rc" -eq 0 ] || fail "exit status $rc under ctrace, $bare_rc bare"
cmp -s "$TMP/bare.txt" "$TMP/traced.txt" || fail "output differs under ctrace"
ok "output and exit status unchanged"

block=$TMP/out/block.pb.gz
[ -s "$block" ] || fail "block.pb.gz missing"
[ ! -e "$TMP/out/mutex.pb.gz" ] || fail "mutex.pb.gz written although -e block"
total=$(pprof_total "$block" delay)
net=$(pprof_total "$block" delay -tagfocus reason=net)
awk -v n="$net" -v t="$total" 'BEGIN { exit !(t > 0 && n * 100 >= 60 * t) }' ||
	fail "net waits are $net of $total ns"
ok "net waits: $net of $total ns"

# The heaviest net site is an epoll_wait call: function and line of the call.
site=$(go tool pprof -top -lines -sample_index=delay -tagfocus reason=net "$block" 2>/dev/null |
	awk '/flat%/ { getline; print $6, $7; exit }')
fn=${site% *}
line=${site##*:}
case $fn in server_loop | client_wait) ;; *) fail "top net site is '$site'" ;; esac
sed -n "${line}p" "$src" | grep -q 'epoll_wait(' || fail "top net site $site is not an epoll_wait call"
ok "top net site: $site (epoll_wait)"

# The server's loop waits on its epoll fd: a sample labelled with that fd.
go tool pprof -raw -tagfocus reason=net -focus server_loop "$block" 2>/dev/null | grep -q 'fd:\[' ||
	fail "server's epoll waits carry no fd label"
ok "epoll waits carry their fd"
