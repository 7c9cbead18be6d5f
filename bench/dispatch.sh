#!/usr/bin/env bash
# Broker dispatch rate next to raw ZeroMQ, measured in the same run.
#   raw:    a DEALER keeps W requests in flight to a ROUTER that answers
#           each (loopback tcp), with the broker run's message sizes.
#   broker: the real broker with its durable LMDB store, N jobs submitted
#           first, then K no-op worker threads (worker protocol, credit W).
# W is 2 (a worker slot's credit: one job plus WORKER_PREFETCH) and 16.
# The result size follows real analyses: `dispatch measure` over samples/
# gives JobResult envelopes of 5.1-13.7 KB (median about 5.9 KB).
# Prints the median jobs/s of RUNS runs per case and broker/raw ratios.
# Usage: bench/dispatch.sh BUILD_DIR [JOBS] [RUNS] [JSON_BYTES]
set -euo pipefail
build=${1:?build dir}
jobs=${2:-20000}
runs=${3:-5}
json=${4:-5800}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bench/dispatch

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rate() { # median jobs/s of $runs runs of: dispatch "$@"
	local _
	for _ in $(seq "$runs"); do
		"$bin" "$@" | sed -n 's/.*jobs_per_s=\([0-9]*\).*/\1/p'
	done | median
}

echo "# real envelopes (samples/)"
"$bin" measure "$here"/samples/minidumps/*.dmp "$here"/samples/kernel/*.dmp
sizes=$("$bin" sizes --json "$json")
echo "# $sizes"
assign=$(sed -n 's/.*assign_bytes=\([0-9]*\).*/\1/p' <<<"$sizes")
result=$(sed -n 's/.*result_bytes=\([0-9]*\).*/\1/p' <<<"$sizes")
echo "# jobs=$jobs runs=$runs (medians, jobs/s)"
for w in 2 16; do
	raw=$(rate raw --window "$w" --jobs $((jobs * 4)) --assign "$assign" \
		--result "$result")
	echo "raw      window=$w            $raw"
	for k in 1 2; do
		b=$(rate broker --window "$w" --workers "$k" --jobs "$jobs" \
			--json "$json")
		echo "broker   window=$w workers=$k  $b  ratio=$(awk \
			"BEGIN { printf \"%.2f\", $b / $raw }")"
	done
done
