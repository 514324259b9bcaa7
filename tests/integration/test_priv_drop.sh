# test_priv_drop — a forking server whose workers drop root for nobody (issue 9, defect
# 13): each worker's profile is still written, with the request-handling function in it.
. "$(dirname "$0")/lib.sh"
nobody_workers_check priv_server
ok "workers that switched to nobody left their profiles (handle_request ~100%)"
