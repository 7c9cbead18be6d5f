#!/usr/bin/env bash
# The dumpfleet program under the memory checker of the build
# (DF_TEST_WRAPPER, set by scripts/test.sh --valgrind; skipped without one):
# analyze every sample and archive, a whole run in one process (no sandbox:
# its seccomp filter and valgrind exclude each other), every report form,
# the bucket view and a hostile archive. The checker's exit code 99 means
# an error or a definite leak.
source "$(dirname "$0")/lib.inc"
[ -n "${DF_TEST_WRAPPER:-}" ] || { echo "no memory checker configured"; exit 77; }
read -r -a wrap <<<"$DF_TEST_WRAPPER"
checked() {
	local rc=0
	"${wrap[@]}" "$DUMPFLEET" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -eq 99 ]; then
		cat "$tmp/err" >&2
		fail "memory errors in: dumpfleet $*"
	fi
	echo "$rc"
}
mapfile -t inputs < <(find "$DF_SOURCE/samples" -type f | sort)
rc=$(checked analyze --json "${inputs[@]}")
[ "$rc" -le 1 ] || fail "analyze exit $rc"
rc=$(checked run --no-sandbox --workers 2 --store "$tmp/store" "$DF_SOURCE/samples")
[ "$rc" -le 1 ] || fail "run exit $rc"
for f in text json html csv; do
	rc=$(checked report --store "$tmp/store" --format "$f")
	[ "$rc" -eq 0 ] || fail "report --format $f exit $rc"
done
hash=$("$DUMPFLEET" report --store "$tmp/store" --format json |
	grep -o '"hash": *"[0-9a-f]\{16\}"' | head -1 | grep -o '[0-9a-f]\{16\}')
[ -n "$hash" ] || fail "no bucket in the report"
rc=$(checked bucket "$hash" --store "$tmp/store" --explain)
[ "$rc" -eq 0 ] || fail "bucket exit $rc"
# A member cut short inside a gzip stream, and bytes that are no archive.
head -c 300 "$DF_SOURCE/samples/archives/"*.zip >"$tmp/cut.zip"
head -c 4096 /dev/urandom >"$tmp/noise.bin"
rc=$(checked analyze "$tmp/cut.zip" "$tmp/noise.bin")
[ "$rc" -le 1 ] || fail "analyze of hostile input exit $rc"
echo "memcheck_cli: ok"
