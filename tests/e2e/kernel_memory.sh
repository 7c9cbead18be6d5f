#!/usr/bin/env bash
# Kernel memory dumps end to end: `dumpfleet analyze` reads generated full,
# summary and bitmap dumps (x64, x86 PAE, x86) with drivers, frames and
# blame, and a 256 MiB sparse one like a small one, with and without the
# content hash (--no-hash); `dumpfleet run` over a
# full dump and the triage sample of the same crash puts both in one bucket.
source "$(dirname "$0")/lib.inc"
: "${MKKFULL:?path of the mkkfull generator}"

for spec in "full x64 1M" "bitmap pae 2M" "kernel x86 1M" "summary x64 1M" \
	"bitmap x64 256M"; do
	read -r type arch phys <<<"$spec"
	f=$tmp/$type-$arch-$phys.dmp
	"$MKKFULL" --type "$type" --arch "$arch" --phys "$phys" "$f" ||
		fail "mkkfull $spec"
	rc=0
	"$DUMPFLEET" analyze --json "$f" >"$tmp/out.json" || rc=$?
	[ "$rc" -le 1 ] || fail "analyze $spec exited $rc"
	grep -q '"format":"kernel-dump"' "$tmp/out.json" || fail "$spec: format"
	grep -q '"errors":\[\]' "$tmp/out.json" || fail "$spec: errors"
	[ "$(grep -o '"filename"' "$tmp/out.json" | wc -l)" = 4 ] ||
		fail "$spec: drivers"
	grep -q '"blame":{"module":"acmenet.sys"' "$tmp/out.json" ||
		fail "$spec: blame"
	grep -q '"frame_count":7' "$tmp/out.json" || fail "$spec: frames"
	# --no-hash: the same analysis, the digest replaced by a note.
	"$DUMPFLEET" analyze --json --no-hash "$f" >"$tmp/nohash.json" || true
	sed -E 's/"sha256":"[0-9a-f]{64}"/"sha256":null,"sha256_note":"not computed"/' \
		"$tmp/out.json" | cmp -s - "$tmp/nohash.json" ||
		fail "$spec: --no-hash changed more than the hash"
	if [ "$arch" != x64 ]; then
		grep -q '"trust":"frame_pointer"' "$tmp/out.json" ||
			fail "$spec: no frame-pointer frames"
	fi
done
# The 256 MiB dump is sparse: it must not have cost 256 MiB of disk.
[ "$(du -k "$tmp/bitmap-x64-256M.dmp" | cut -f1)" -lt 4096 ] || fail "not sparse"
rm -f "$tmp/bitmap-x64-256M.dmp"

mkdir "$tmp/in"
cp "$tmp/full-x64-1M.dmp" "$DF_SOURCE/samples/kernel/d1-acmenet.dmp" "$tmp/in/"
"$DUMPFLEET" run --workers 2 --store "$tmp/store" "$tmp/in" >/dev/null ||
	fail "run exited $?"
[ "$(report_value "$tmp/store" dumps)" = 2 ] || fail "dumps: want 2"
[ "$(report_value "$tmp/store" buckets)" = 1 ] || fail "buckets: want 1"
[ "$(report_value "$tmp/store" errors)" = 0 ] || fail "errors"
echo "ok"
