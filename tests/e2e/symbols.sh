#!/usr/bin/env bash
# `--symbols DIR` names frames from a Breakpad symbol store: minidump2 with
# the corpus symbols shows CrashFunction in its JSON; without symbols it
# does not. A --symbols that is no folder is a usage error (2).
source "$(dirname "$0")/lib.inc"

: "${DF_SHARED:=$DF_SOURCE/../shared}"
dmp="$DF_SHARED/corpus/minidumps/breakpad__minidump2.dmp"
syms="$DF_SHARED/corpus/symbols"
if [ ! -f "$dmp" ] || [ ! -d "$syms" ]; then
	echo "shared corpus not found: skipped"
	exit 77
fi

rc=0
"$DUMPFLEET" analyze --symbols "$syms" --json "$dmp" >"$tmp/with.json" || rc=$?
[ "$rc" -le 1 ] || fail "analyze --symbols exited $rc"
grep -q 'CrashFunction' "$tmp/with.json" || fail "no CrashFunction with symbols"
grep -q 'BaseProcessStart' "$tmp/with.json" || fail "no kernel32 name"
# Source lines from the FUNC line records, and STACK WIN unwinding.
grep -qF '"line":58' "$tmp/with.json" || fail "no source line 58"
grep -qF '"file":"c:\\test_app.cc"' "$tmp/with.json" || fail "no source file"
grep -qF '"trust":"cfi"' "$tmp/with.json" || fail "no frame found by CFI"
"$DUMPFLEET" analyze --symbols "$syms" "$dmp" >"$tmp/with.txt" || true
grep -qF '[c:\test_app.cc : 58]' "$tmp/with.txt" || fail "no line in text"

rc=0
"$DUMPFLEET" analyze --json "$dmp" >"$tmp/without.json" || rc=$?
[ "$rc" -le 1 ] || fail "analyze exited $rc"
if grep -q 'CrashFunction' "$tmp/without.json"; then
	fail "function names without --symbols"
fi

# Several roots: a root without the files first, then the real one.
mkdir "$tmp/empty"
rc=0
"$DUMPFLEET" analyze --symbols "$tmp/empty" --symbols "$syms" "$dmp" \
	>"$tmp/two.txt" || rc=$?
[ "$rc" -le 1 ] || fail "analyze with two roots exited $rc"
grep -q 'CrashFunction' "$tmp/two.txt" || fail "second root not searched"

rc=0
"$DUMPFLEET" analyze --symbols "$tmp/nope" "$dmp" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--symbols on a missing folder exited $rc, not 2"

# The fleet path: run with --symbols stores the named signature.
rc=0
"$DUMPFLEET" run --workers 2 --store "$tmp/store" --symbols "$syms" \
	--format json "$dmp" >"$tmp/report.json" 2>"$tmp/run.err" || rc=$?
[ "$rc" -le 1 ] || fail "run --symbols exited $rc: $(cat "$tmp/run.err")"
grep -q 'CrashFunction' "$tmp/report.json" || fail "report lacks CrashFunction"

for c in analyze run worker; do
	"$DUMPFLEET" "$c" --help | grep -q -- '--symbols DIR' ||
		fail "$c --help does not mention --symbols"
done
echo "ok"
