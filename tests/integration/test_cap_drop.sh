# test_cap_drop — servers that drop privileges the hardened way (issue 9, defect 13): a
# worker that drops every capability but CAP_SETUID/CAP_SETGID before switching to nobody
# (glibc's capset, and the raw system call as libcap makes it) still leaves its profile
# with the request-handling function; and Debian's nginx (master as root, workers as
# nobody) leaves its workers' profiles with the request-handling functions in them.
. "$(dirname "$0")/lib.sh"
nobody_workers_check cap_server
ok "workers that dropped CAP_CHOWN then switched to nobody left their profiles"

NGINX=$(command -v nginx || ls /usr/sbin/nginx 2> /dev/null || true)
if [ -z "$NGINX" ] || ! command -v curl > /dev/null; then
	echo "skip: nginx or curl not installed"
	exit 0
fi
port=$((20000 + $$ % 20000))
mkdir -p "$TMP/ng/logs" "$TMP/ng/tmp"
printf 'x%.0s' $(seq 1 2000) > "$TMP/ng/page.html"
cat > "$TMP/ng/nginx.conf" <<CONF
user nobody nogroup;
worker_processes 2;
pid $TMP/ng/nginx.pid;
error_log $TMP/ng/logs/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $TMP/ng/tmp; proxy_temp_path $TMP/ng/tmp;
	fastcgi_temp_path $TMP/ng/tmp; uwsgi_temp_path $TMP/ng/tmp; scgi_temp_path $TMP/ng/tmp;
	server { listen 127.0.0.1:$port; root $TMP/ng; gzip on; gzip_min_length 1; gzip_types *; }
}
CONF
chmod -R a+rX "$TMP/ng"
"$CTRACE" record -o "$TMP/ngx" -- "$NGINX" -p "$TMP/ng" -c "$TMP/ng/nginx.conf" \
	-g 'daemon off;' 2> "$TMP/ngx.err" &
rec=$!
up=0
for _ in $(seq 1 100); do
	curl -s -o /dev/null "http://127.0.0.1:$port/page.html" && { up=1; break; }
	sleep 0.1
done
[ "$up" = 1 ] || { kill "$rec"; cat "$TMP/ngx.err" "$TMP/ng/logs/error.log"; fail "nginx did not serve"; }
# One curl, many requests on kept-alive connections: spawning a curl per request would
# cost more than the requests.
urls=$(for _ in $(seq 1 3000); do printf 'http://127.0.0.1:%s/page.html ' "$port"; done)
for _ in 1 2 3; do
	curl -s -H 'Accept-Encoding: gzip' $urls > /dev/null
done
kill -QUIT "$(cat "$TMP/ng/nginx.pid")" # graceful: workers finish and exit()
wait "$rec" || true
n=0
for d in "$TMP"/ngx/[0-9]*; do
	[ -s "$d/cpu.pb.gz" ] || continue
	pprof_top "$d/cpu.pb.gz" -cum > "$TMP/ng.top"
	grep -q ' ngx_http_' "$TMP/ng.top" && n=$((n + 1))
done
[ "$n" -ge 1 ] || { ls -lR "$TMP/ngx"; cat "$TMP/ngx.err"; fail "no nginx worker profile shows the request handling (ngx_http_*)"; }
grep -q 'wrote nothing' "$TMP/ngx.err" && { cat "$TMP/ngx.err"; fail "record reports an nginx process that wrote nothing"; }
ok "nginx: $n worker profiles with the request handling (ngx_http_*) in them"
