#!/usr/bin/env bash
# `dumpfleet run` on a folder of customer archives made from the samples:
# zip, 7z, tar.gz with a zip inside, tar.bz2 with a duplicate, .dmp.gz,
# .dmp.zst, cab (when gcab is installed), an encrypted zip and a bomb.
# Checks the stored counts, the failures recorded for what could not be
# unpacked, the exit code, and the archive » member provenance in the
# records (bucket) and in `analyze --json`.
source "$(dirname "$0")/lib.inc"
: "${MKARCHIVE:?path of the mkarchive generator}"
s=$DF_SOURCE/samples
in=$tmp/in
store=$tmp/store
mkdir -p "$in"
mk() { "$MKARCHIVE" "$@" || fail "mkarchive $*"; }

mk zip "$in/a.zip" Minidump/Mini0101.dmp "$s/minidumps/x86-null-write.dmp" \
	MEMORY.DMP "$s/kernel/9f-acmeusb.dmp"
mk 7z "$in/b.7z" crash/app.dmp "$s/minidumps/amd64-read-av.dmp"
mk zip "$tmp/inner.zip" d1.dmp "$s/kernel/d1-acmenet.dmp"
mk tar.gz "$in/c.tar.gz" upload/inner.zip "$tmp/inner.zip" \
	logs/k50.log "$s/logs/kernel_50_contosoav_vmware_guest.log"
mk gz "$in/d.dmp.gz" x "$s/minidumps/x86-message-box.dmp"
mk zst "$in/e.dmp.zst" x "$s/minidumps/amd64-stack-buffer-overrun.dmp"
mk tar.bz2 "$in/f.tar.bz2" k8e.log "$s/logs/kernel_8e_acmevid_x86_xp.log" \
	again/Mini0101.dmp "$s/minidumps/x86-null-write.dmp"
mk -e zipcrypt -p secret zip "$in/locked.zip" \
	secret.dmp "$s/kernel/d1-acmenet-again.dmp"
mk tar.xz "$in/bomb.tar.xz" MEMORY.DMP zeros:33554432
items=9 distinct=8
if command -v gcab >/dev/null; then
	cp "$s/logs/user_av_orderproc_selfdump.log" "$tmp/selfdump.log"
	(cd "$tmp" && gcab -c -n "$in/g.cab" selfdump.log) || fail "gcab"
	items=10 distinct=9
fi

rc=0
"$DUMPFLEET" run --workers 2 --store "$store" --batch case-7 "$in" \
	>"$tmp/run.out" 2>"$tmp/run.err" || rc=$?
cat "$tmp/run.err"
[ "$rc" = 1 ] || fail "run exited $rc, want 1 (inputs failed)"
grep -q 'locked.zip » secret.dmp: encrypted member' "$tmp/run.err" ||
	fail "encrypted member not reported"
grep -q 'bomb.tar.xz » MEMORY.DMP: unpacks to more than 1000 times' \
	"$tmp/run.err" || fail "bomb not reported"
grep -q '2 archive problems recorded as failed' "$tmp/run.err" ||
	fail "problems not counted"
[ "$(report_value "$store" dumps)" = "$items" ] || fail "dumps: want $items"
[ "$(report_value "$store" 'distinct dumps')" = "$distinct" ] ||
	fail "distinct: want $distinct"
[ "$(report_value "$store" failed)" = 2 ] || fail "failed: want 2"
# The spool holds each content once, and no archive, temp file or name.
objects=$(find "$store/spool" -type f | wc -l)
[ "$objects" = "$distinct" ] || fail "spool objects $objects, want $distinct"
[ -z "$(find "$store/spool/tmp" -type f)" ] || fail "temporary files left"
find "$store/spool" -type f | grep -vqE '/[0-9a-f]{2}/[0-9a-f]{64}$' &&
	fail "a spool file not named by its hash"

# Provenance in the stored records, shown by `bucket`.
"$DUMPFLEET" report --store "$store" --format json >"$tmp/report.json" || true
: >"$tmp/sources"
grep -o '"hash": *"[0-9a-f]*"' "$tmp/report.json" |
	sed 's/.*"\([0-9a-f]*\)"$/\1/' | while read -r h; do
	"$DUMPFLEET" bucket --store "$store" "$h" | grep 'source ' \
		>>"$tmp/sources" || true
done
cat "$tmp/sources"
# The record of a content keeps the first source stored: x86-null-write
# came in twice (a.zip, f.tar.bz2), the other files once.
grep -qE "(a\.zip » Minidump|f\.tar\.bz2 » again)/Mini0101\.dmp" \
	"$tmp/sources" || fail "no record from Mini0101.dmp"
for want in "a.zip » MEMORY.DMP" \
	"b.7z » crash/app.dmp" "c.tar.gz » upload/inner.zip » d1.dmp" \
	"d.dmp.gz » d.dmp" "e.dmp.zst » e.dmp"; do
	grep -qF "$in/$want" "$tmp/sources" || fail "no record from $want"
done

# A second run stores nothing new and records the failures once more.
"$DUMPFLEET" run --workers 1 --store "$store" "$in" >/dev/null 2>&1 || true
[ "$(report_value "$store" dumps)" = "$items" ] || fail "second run: dumps"

# analyze reads archives too, and its JSON says where each file came from.
"$DUMPFLEET" analyze --json "$in/c.tar.gz" >"$tmp/analyze.json" || true
[ "$(wc -l <"$tmp/analyze.json")" = 2 ] || fail "analyze: want 2 members"
grep -qF '"archive": "'"$in"'/c.tar.gz"' "$tmp/analyze.json" ||
	grep -qF '"archive":"'"$in"'/c.tar.gz"' "$tmp/analyze.json" ||
	fail "analyze json lacks archive"
grep -qF '"member":"upload/inner.zip » d1.dmp"' "$tmp/analyze.json" ||
	fail "analyze json lacks member"
compgen -G "/tmp/dumpfleet-analyze.*" >/dev/null &&
	fail "analyze left its spool"
# submit unpacks into its --spool, submits the members and exits 1 for
# what it could not unpack; bad limits are usage errors.
"$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' --store "$tmp/bstore" \
	>"$tmp/broker.out" 2>"$tmp/broker.err" &
pids+=("$!")
ep=$(wait_listening "$tmp/broker.out") || fail "broker did not bind"
rc=0
"$DUMPFLEET" submit --broker "$ep" --spool "$tmp/sspool" "$in/a.zip" \
	"$in/locked.zip" >"$tmp/submit.out" 2>"$tmp/submit.err" || rc=$?
[ "$rc" = 1 ] || fail "submit with an encrypted member exited $rc"
grep -q "submitted 2 of 2 files" "$tmp/submit.out" || fail "submit count"
grep -q "locked.zip » secret.dmp: encrypted" "$tmp/submit.err" ||
	fail "submit did not print the problem"
[ "$(find "$tmp/sspool" -type f | wc -l)" = 2 ] || fail "submit spool"
"$DUMPFLEET" status --broker "$ep" | grep -q '^queued   2$' ||
	fail "the broker did not queue the members"
for bad in "--max-depth 0" "--max-ratio x" "--max-member-size 12Q" \
	"--max-members -1"; do
	rc=0
	# shellcheck disable=SC2086
	"$DUMPFLEET" run --store "$tmp/bad" $bad "$in" 2>/dev/null || rc=$?
	[ "$rc" = 2 ] || fail "run $bad exited $rc, want 2"
done
echo "ok: archives"
