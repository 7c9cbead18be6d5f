#!/usr/bin/env bash
# `dumpfleet report` and `bucket` on a real store: periods, batches, -o,
# nightly files and links, formats, usage errors, no raw escapes in files.
source "$(dirname "$0")/lib.inc"
store=$tmp/store
today=$(date -u +%F)

"$DUMPFLEET" run --workers 2 --store "$store" --batch case-7 \
	"$DF_SOURCE/samples" >/dev/null || fail "run exited $?"

json=$("$DUMPFLEET" report --store "$store" --format json)
# Dumps, archive members included, as the unfiltered report counts them.
n=$("$DUMPFLEET" report --store "$store" | awk '$1 == "dumps" { print $2 }')
[ "$n" -gt 0 ] || fail "no dumps"
for k in schema_version generated_at period totals batches bugchecks \
	exceptions patterns virtualization top_buckets new_buckets trends \
	modules spray; do
	grep -q "\"$k\"" <<<"$json" || fail "json report lacks $k"
done
grep -q '"schema_version": 2' <<<"$json" || fail "schema version"
grep -q '"batch": "case-7"' <<<"$json" || fail "batch listed"

# The batch filter: all of it, or nothing for another batch.
[ "$("$DUMPFLEET" report --store "$store" --batch case-7 |
	awk '$1 == "dumps" { print $2 }')" = "$n" ] || fail "--batch case-7"
[ "$("$DUMPFLEET" report --store "$store" --batch other |
	awk '$1 == "dumps" { print $2 }')" = 0 ] || fail "--batch other"
# A period before the data holds none of it.
[ "$("$DUMPFLEET" report --store "$store" --since 2001-01-01 \
	--until 2001-01-31 | awk '$1 == "dumps" { print $2 }')" = 0 ] ||
	fail "old period"

# -o FILE: no terminal, so no colour; nothing raw reaches the file.
"$DUMPFLEET" report --store "$store" -o "$tmp/r.txt" || fail "-o exited $?"
grep -q '^Top buckets' "$tmp/r.txt" || fail "-o text"
if grep -q $'\x1b' "$tmp/r.txt"; then fail "escape in a file"; fi

# Nightly: DAY.json and links, the same again when run twice.
for i in 1 2; do
	"$DUMPFLEET" report --store "$store" --nightly --out "$tmp/nightly" \
		--until "$today" --days 1 || fail "nightly $i exited $?"
done
[ -f "$tmp/nightly/$today.json" ] || fail "nightly file"
[ "$(readlink "$tmp/nightly/latest")" = "$today.html" ] || fail "latest"
[ -f "$tmp/nightly/$today.html" ] || fail "nightly html"
[ -f "$tmp/nightly/$today.csv" ] || fail "nightly csv"
[ "$(readlink "$tmp/nightly/latest.json")" = "$today.json" ] ||
	fail "latest.json"
[ "$(find "$tmp/nightly" -mindepth 1 | wc -l)" = 7 ] || fail "stray nightly files"
grep -q "\"dumps\": $n" "$tmp/nightly/$today.json" || fail "nightly totals"
# The default nightly period ends yesterday.
"$DUMPFLEET" report --store "$store" --nightly --out "$tmp/n2" ||
	fail "default nightly exited $?"
[ -f "$tmp/n2/$(date -u -d yesterday +%F).json" ] || fail "yesterday's file"

# Usage errors: exit 2.
for args in "--since 2024-02-30" "--days 0" "--format pdf" "--nightly" \
	"--since 2024-01-01 --until 2024-01-02 --days 2" \
	"--since 2024-01-02 --until 2024-01-01" "--owners $tmp/none"; do
	rc=0
	# shellcheck disable=SC2086
	"$DUMPFLEET" report --store "$store" $args >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "report $args: exit $rc"
done

# --owners FILE names whom to call.
blamed=$(sed -n 's/^ *"module": "\(.*\)",$/\1/p' <<<"$json" | head -1)
[ -n "$blamed" ] || fail "no blamed module in the samples"
printf '%s\tSample owners desk\n' "$blamed" >"$tmp/owners.txt"
"$DUMPFLEET" report --store "$store" --owners "$tmp/owners.txt" |
	grep -q 'Sample owners desk' || fail "--owners"

# bucket --format json: the bucket and its sample dumps.
hash=$(sed -n 's/^      "hash": "\([0-9a-f]\{16\}\)",$/\1/p' <<<"$json" | head -1)
[ -n "$hash" ] || fail "no top bucket"
"$DUMPFLEET" bucket --store "$store" --format json "$hash" >"$tmp/b.json" ||
	fail "bucket json exited $?"
grep -q "\"hash\": \"$hash\"" "$tmp/b.json" || fail "bucket json hash"
grep -q '"dumps": \[' "$tmp/b.json" || fail "bucket json dumps"
grep -q '"findings": \[' "$tmp/b.json" || fail "bucket json findings"
grep -q '"batch": "case-7"' "$tmp/b.json" || fail "bucket json batch"
echo "ok: report_cli"
