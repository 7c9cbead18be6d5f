#!/usr/bin/env bash
# `dumpfleet analyze --json` shows the descriptive minidump streams of a
# dump made by `mkminidump --extra`: the memory regions of the crash
# address and instruction, thread info, Crashpad and Linux facts; the same
# dump without them shows none of those keys' values. The text form has a
# "memory" line for the crash address and instruction.
source "$(dirname "$0")/lib.inc"

if [ -z "${MKMINIDUMP:-}" ] || [ ! -x "$MKMINIDUMP" ]; then
	echo "mkminidump not found: skipped"
	exit 77
fi
"$MKMINIDUMP" --extra --kind amd64-read-av "$tmp/extra.dmp"
"$MKMINIDUMP" --kind amd64-read-av "$tmp/plain.dmp"

rc=0
"$DUMPFLEET" analyze --json "$tmp/extra.dmp" >"$tmp/extra.json" || rc=$?
[ "$rc" -le 1 ] || fail "analyze exited $rc"
has() { grep -qF "$1" "$tmp/extra.json" || fail "no $1"; }
has '"errors":[]'
# The read of 0x18 hit the free first 64 KB; the code is an image.
has '"address_memory":{"base_address":"0x0000000000000000","region_size":"0x10000","state":"0x00010000","protection":"0x00000001","type":"0x00000000","executable":false}'
has '"instruction_memory":{"base_address":"0x00007ffb12340000"'
has '"type":"0x01000000","executable":true}'
has '"MEM_PRIVATE":{"count":2,"size":2097152}'
has '"exit_status":"0x00000103"'
has '"report_id":"13121110-1514-1716-1819-1a1b1c1d1e1f"'
has '"module_annotations":6'
has '"cmdline":"/opt/acme/acmeapp --safe-mode"'
has '{"path":"/opt/acme/acmeapp","base_addr":"0x0000000000400000","end_addr":"0x0000000000625fff","executable":true}'
has '"handle_operation_count":3'
has '"token_count":2'

rc=0
"$DUMPFLEET" analyze --json "$tmp/plain.dmp" >"$tmp/plain.json" || rc=$?
[ "$rc" -le 1 ] || fail "analyze exited $rc"
grep -qF '"memory_info":null' "$tmp/plain.json" || fail "memory_info"
grep -qF '"linux":null' "$tmp/plain.json" || fail "linux"
if grep -qE 'address_memory|thread_info|token_count' "$tmp/plain.json"; then
	fail "descriptive streams reported for a dump without them"
fi
# The text form says where the crash address and instruction lie.
"$DUMPFLEET" analyze "$tmp/extra.dmp" >"$tmp/extra.txt" || true
grep -q 'EXCEPTION_ACCESS_VIOLATION_READ' "$tmp/extra.txt" ||
	fail "text output lacks the crash reason"
grep -qF 'memory         address in free memory, protection 0x1; instruction in committed image memory, protection 0x20 (executable)' \
	"$tmp/extra.txt" || fail "text output lacks the memory line"
"$DUMPFLEET" analyze "$tmp/plain.dmp" >"$tmp/plain.txt" || true
if grep -q '^  memory ' "$tmp/plain.txt"; then
	fail "memory line for a dump without MemoryInfoList"
fi
echo "ok"
