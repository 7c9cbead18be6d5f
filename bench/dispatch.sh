#!/usr/bin/env bash
# Broker dispatch rate next to raw ZeroMQ, measured in the same run.
#   raw:    a DEALER keeps W requests in flight to a ROUTER that answers
#           each (loopback tcp), with the broker run's message sizes.
#   broker: the real broker with its durable LMDB store, N jobs submitted
#           first, then K no-op worker threads (worker protocol, credit W).
# W is 2 (a worker slot's credit: one job plus WORKER_PREFETCH) and 16.
# The result size follows real analyses: `dispatch measure` over samples/
# gives JobResult envelopes of 5.1-13.7 KB (median about 5.9 KB).
# Prints the median jobs/s of RUNS runs per case, broker/raw ratios and
# the median CPU time of the broker thread per job (cpu_us), which a busy
# machine disturbs far less than jobs/s.
# With BASE_BUILD_DIR (an older build's dispatch) every broker case also
# runs that build, alternating run by run, and prints both.
# Usage: bench/dispatch.sh BUILD_DIR [JOBS] [RUNS] [JSON_BYTES] [BASE_BUILD_DIR]
set -euo pipefail
build=${1:?build dir}
jobs=${2:-20000}
runs=${3:-5}
json=${4:-5800}
base=${5:-}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bench/dispatch
tmp=$(mktemp -d /tmp/dfdispatch.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
rate() { # median jobs/s of $runs runs of: dispatch "$@"
	local _
	for _ in $(seq "$runs"); do
		"$bin" "$@" | field jobs_per_s
	done | median
}
# $runs runs of each binary in turn, one output line per run, in files.
broker_runs() {
	local _
	: >"$tmp/new"
	: >"$tmp/base"
	for _ in $(seq "$runs"); do
		[ -n "$base" ] && "$base/bench/dispatch" broker "$@" >>"$tmp/base"
		"$bin" broker "$@" >>"$tmp/new"
	done
}
summary() { # FILE RAW: "jobs/s ratio=R cpu_us=C"
	local r c
	r=$(field jobs_per_s <"$1" | median)
	c=$(field broker_cpu_us <"$1" | median)
	echo "$r  ratio=$(awk "BEGIN { printf \"%.2f\", $r / $2 }") cpu_us=$c"
}

echo "# real envelopes (samples/)"
"$bin" measure "$here"/samples/minidumps/*.dmp "$here"/samples/kernel/*.dmp
sizes=$("$bin" sizes --json "$json")
echo "# $sizes"
assign=$(sed -n 's/.*assign_bytes=\([0-9]*\).*/\1/p' <<<"$sizes")
result=$(sed -n 's/.*result_bytes=\([0-9]*\).*/\1/p' <<<"$sizes")
echo "# jobs=$jobs runs=$runs (medians, jobs/s)${base:+ base=$base}"
for w in 2 16; do
	raw=$(rate raw --window "$w" --jobs $((jobs * 4)) --assign "$assign" \
		--result "$result")
	echo "raw      window=$w            $raw"
	for k in 1 2; do
		broker_runs --window "$w" --workers "$k" --jobs "$jobs" \
			--json "$json"
		[ -n "$base" ] && echo "base     window=$w workers=$k  $(summary "$tmp/base" "$raw")"
		echo "broker   window=$w workers=$k  $(summary "$tmp/new" "$raw")"
	done
done
