# test_live_cancel — a client that goes away during a `seconds=N` request frees what the
# request holds, as Go's handlers do (they sleep on the request's context): after a CPU
# profile (seconds=30) or a trace window (seconds=30) whose client hung up after 1 s, the
# next one is served at once instead of "already in use" for the rest of the 30 s.
. "$(dirname "$0")/lib.sh"
PROG=$CT_BUILD/tests/progs/live_server
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/debug/pprof
"$CTRACE" record -o "$TMP/rec" --http "127.0.0.1:$PORT" -- "$PROG" 60 "$TMP/stop" \
	> "$TMP/prog.out" 2> "$TMP/rec.err" &
REC=$!
trap 'touch "$TMP/stop"; wait $REC || :; rm -rf "$TMP"' EXIT
for i in $(seq 1 100); do
	curl -s -o /dev/null "$URL/" && break
	sleep 0.1
done
for what in "profile" "trace"; do
	curl -s -m 1 -o /dev/null "$URL/$what?seconds=30" || : # gives up after 1 s
	code=$(curl -s -m 20 -o "$TMP/$what.body" -w '%{http_code}' "$URL/$what?seconds=1")
	[ "$code" = 200 ] || {
		fail "$what after a client that hung up: $code $(head -c 200 "$TMP/$what.body")"
	}
	ok "$what: a client that hung up frees the $what slot"
done
touch "$TMP/stop"
wait $REC || fail "record exited non-zero"
trap 'rm -rf "$TMP"' EXIT
