#!/usr/bin/env bash
# `dumpfleet run` on samples/: exact counts, and a second run changes none.
source "$(dirname "$0")/lib.inc"
store=$tmp/store
# samples/archives/case-1042.zip holds 5 members, copies of other samples
# (one of them twice): 5 more dumps, no more distinct ones.
plain=$(find "$DF_SOURCE/samples" -type f ! -path '*/archives/*' | wc -l)
members=5
expect_dumps=$((plain + members))

out=$("$DUMPFLEET" run --workers 2 --store "$store" "$DF_SOURCE/samples") ||
	fail "run exited $?"
echo "$out"
[ "$(report_value "$store" dumps)" = "$expect_dumps" ] ||
	fail "dumps: want $expect_dumps"
[ "$(report_value "$store" 'distinct dumps')" = "$plain" ] ||
	fail "distinct: want $plain"
[ -d "$store/spool" ] || fail "no spool in the store"
[ "$(report_value "$store" errors)" = 0 ] || fail "errors in samples"
buckets=$(report_value "$store" buckets)
[ "$buckets" -lt "$plain" ] ||
	fail "buckets $buckets: some samples must share a signature"

# generated_at is the clock: leave it out of the comparisons.
report_json() {
	"$DUMPFLEET" report --store "$1" --format json | grep -v '"generated_at"'
}
before=$(report_json "$store")
"$DUMPFLEET" run --workers 3 --store "$store" "$DF_SOURCE/samples" >/dev/null ||
	fail "second run exited $?"
after=$(report_json "$store")
[ "$before" = "$after" ] || fail "a second run changed the report"

# resign under the same rules moves nothing; bucket shows and explains.
"$DUMPFLEET" resign --store "$store" | grep -q ' 0 moved' || fail "resign moved"
[ "$(report_json "$store")" = "$after" ] ||
	fail "resign changed the report"
hash=$(grep -m1 '"hash"' <<<"$after" | sed 's/.*"hash": *"\([0-9a-f]*\)".*/\1/')
"$DUMPFLEET" bucket --store "$store" --explain "$hash" >"$tmp/bucket.txt" ||
	fail "bucket exited $?"
grep -q "^bucket $hash" "$tmp/bucket.txt" || fail "bucket header"
grep -q "signature \[$hash\]" "$tmp/bucket.txt" || fail "explain result"
rc=0; "$DUMPFLEET" bucket --store "$store" 0000000000000000 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "unknown bucket exit $rc"
"$DUMPFLEET" patterns | grep -q '^self-dump ' || fail "patterns"

# A copy under another name is one more dump but not a distinct one.
mkdir "$tmp/copy"
first=$(find "$DF_SOURCE/samples" -type f ! -path '*/archives/*' | sort |
	head -1)
cp "$first" "$tmp/copy/renamed.bin"
"$DUMPFLEET" run --workers 1 --store "$store" "$tmp/copy" >/dev/null ||
	fail "copy run exited $?"
[ "$(report_value "$store" dumps)" = $((expect_dumps + 1)) ] ||
	fail "copy: dumps"
[ "$(report_value "$store" 'distinct dumps')" = "$plain" ] ||
	fail "copy: distinct"

# JSON report has the documented fields.
for k in '"totals"' '"dumps"' '"distinct"' '"buckets"' '"errors"' \
	'"bugchecks"' '"patterns"' '"hash"' '"signature"' '"count"'; do
	grep -q "$k" <<<"$after" || fail "json report lacks $k"
done
echo "ok: run_samples"
