#!/usr/bin/env bash
# The command line: help, version, usage errors and exit codes.
source "$(dirname "$0")/lib.inc"
"$DUMPFLEET" --help | grep -q '^Commands:' || fail "--help"
"$DUMPFLEET" --version | grep -q '^dumpfleet ' || fail "--version"
for c in analyze run broker worker submit status report; do
	"$DUMPFLEET" "$c" --help | grep -q "^Usage: dumpfleet $c" ||
		fail "$c --help"
done
rc=0; "$DUMPFLEET" nosuchcommand 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "unknown command exit $rc"
rc=0; "$DUMPFLEET" analyze 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "analyze without files exit $rc"
rc=0; "$DUMPFLEET" run --workers 0 x 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "run --workers 0 exit $rc"
rc=0; "$DUMPFLEET" report --store "$tmp/none" 2>/dev/null || rc=$?
[ "$rc" = 3 ] || fail "report on a missing store exit $rc"

# A damaged file is a result with an error (exit 1), not a crash.
head -c 100 /dev/urandom >"$tmp/noise.bin"
printf 'MDMP\x93\xa7' >"$tmp/truncated.dmp"
rc=0; out=$("$DUMPFLEET" analyze --json "$tmp/noise.bin" "$tmp/truncated.dmp") || rc=$?
[ "$rc" = 1 ] || fail "analyze damaged exit $rc"
[ "$(grep -c '"errors": *\[{' <<<"$out")" = 2 ] || fail "errors not recorded: $out"
echo "ok: cli_usage"
