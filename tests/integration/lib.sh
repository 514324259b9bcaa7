# lib.sh — helpers sourced by integration tests (CT_BUILD and CT_ROOT are set by
# tests/run-integration; running a test by hand: CT_BUILD=$PWD/build CT_ROOT=$PWD sh t.sh).
set -eu
: "${CT_BUILD:=$(pwd)/build}" "${CT_ROOT:=$(pwd)}"
CTRACE=$CT_BUILD/bin/ctrace
SAMPLES=$CT_BUILD/samples
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctrace-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
