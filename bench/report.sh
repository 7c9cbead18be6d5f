#!/usr/bin/env bash
# Report benchmark (not a test): fill a store with synthetic dump results,
# then time every report form over it.
#   1. fill rate: RECORDS results over DAYS days in BUCKETS buckets through
#      store_results_put_at in broker-sized batches (bench/report_fill.c),
#      next to raw LMDB puts of the same records in the same run, with
#      the CPU seconds of each; FILL_MODE "days" (default) writes a
#      batch's results of one day per call, "flush" a whole batch per
#      call as the broker does (see bench/report_fill.c);
#   2. `dumpfleet report --format F -o FILE` for every form the binary
#      knows: median wall time of RUNS runs and the largest peak RSS, and
#      in one more run the peak of anonymous memory (RssAnon, sampled
#      every 10 ms): peak RSS also counts the store's pages that LMDB
#      maps, which the kernel can drop, RssAnon only the heap and stacks.
# Usage: bench/report.sh BUILD_DIR [RECORDS] [BUCKETS] [DAYS] [RUNS] [BATCH] [FILL_MODE]
set -euo pipefail
build=${1:?build dir}
records=${2:-1000000}
buckets=${3:-100000}
days=${4:-90}
runs=${5:-5}
batch=${6:-256}
fill_mode=${7:-days}
df=$build/cli/dumpfleet
fill=$build/bench/report_fill
tmp=$(mktemp -d /tmp/dfrbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -x /usr/bin/time ] || { echo "bench/report.sh needs GNU time (Debian package time)" >&2; exit 3; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "== fill: $records records, $buckets buckets, $days days, batch $batch, $fill_mode"
"$fill" "$tmp/store" "$tmp/raw" "$records" "$buckets" "$days" "$batch" "$fill_mode"
du -sh "$tmp/store" "$tmp/raw" | sed 's/^/size /'

# Peak RssAnon (KiB) of one run of the command, sampled every 10 ms.
peak_anon() {
	"$@" >/dev/null 2>&1 &
	local pid=$! peak=0 v
	while v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) &&
		[ -n "$v" ]; do
		[ "$v" -gt "$peak" ] && peak=$v
		sleep 0.01
	done
	wait "$pid" || true
	echo "$peak"
}

# Forms this binary has: every name --format accepts without a usage error.
for form in text json html csv; do
	rc=0
	"$df" report --store "$tmp/store" --format "$form" -o "$tmp/probe" \
		>/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] && { echo "== $form: not in this build"; continue; }
	for _ in $(seq "$runs"); do
		/usr/bin/time -f '%e %M' -o "$tmp/t" \
			"$df" report --store "$tmp/store" --format "$form" \
			-o "$tmp/out.$form" >/dev/null 2>&1 || true
		cat "$tmp/t"
	done >"$tmp/times"
	secs=$(awk '{print $1}' "$tmp/times" | median)
	rss=$(awk '$2 > m { m = $2 } END { print m }' "$tmp/times")
	anon=$(peak_anon "$df" report --store "$tmp/store" --format "$form" \
		-o "$tmp/out.$form")
	echo "== $form: median ${secs}s over $runs runs, peak RSS ${rss} KiB," \
		"peak RssAnon ${anon} KiB, output $(wc -c <"$tmp/out.$form") bytes"
done
# The same with a batch filter and a short period, as a nightly run does.
for _ in $(seq "$runs"); do
	/usr/bin/time -f '%e %M' -o "$tmp/t" "$df" report --store "$tmp/store" \
		--nightly --out "$tmp/nightly" >/dev/null 2>&1 || true
	cat "$tmp/t"
done >"$tmp/times"
echo "== nightly (7 days): median $(awk '{print $1}' "$tmp/times" | median)s," \
	"peak RSS $(awk '$2 > m { m = $2 } END { print m }' "$tmp/times") KiB"
for _ in $(seq "$runs"); do
	/usr/bin/time -f '%e %M' -o "$tmp/t" "$df" report --store "$tmp/store" \
		--batch case-3 --format json -o "$tmp/b.json" >/dev/null 2>&1 || true
	cat "$tmp/t"
done >"$tmp/times"
echo "== json --batch case-3: median $(awk '{print $1}' "$tmp/times" | median)s," \
	"peak RSS $(awk '$2 > m { m = $2 } END { print m }' "$tmp/times") KiB"
