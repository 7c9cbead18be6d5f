#!/usr/bin/env bash
# The broker's peak memory (VmHWM) with a deep queue: N jobs submitted to
# a `dumpfleet broker` process and no worker to take them, next to the
# same broker's peak after 1,000 jobs (the baseline, same run), with its
# resident memory split into anonymous (heap: the queue) and file-backed
# (LMDB's read-only map of the store, page cache the kernel can reclaim).
# Usage: bench/queue_rss.sh BUILD_DIR [N_JOBS]
set -euo pipefail
build=${1:?build dir}
jobs=${2:-200000}
df=$build/cli/dumpfleet
bin=$build/bench/dispatch
tmp=$(mktemp -d /tmp/dfqueue.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

peak() { # N: a fresh broker's VmHWM in kB after N jobs are submitted
	rm -rf "$tmp/store" && mkfifo "$tmp/out.$1"
	"$df" broker --bind 'tcp://127.0.0.1:*' --store "$tmp/store" \
		--drain-ms 0 >"$tmp/out.$1" 2>"$tmp/err" &
	pid=$!
	local line ep
	read -r line <"$tmp/out.$1"
	ep=${line#listening on }
	"$bin" submit "$ep" --jobs "$1"
	awk '/^(VmHWM|RssAnon|RssFile):/ { printf "%s %s kB  ", $1, $2 }' \
		"/proc/$pid/status"
	kill "$pid"
	wait "$pid" || true
	pid=
}

base=$(peak 1000)
deep=$(peak "$jobs")
echo "broker after 1000 jobs:  $base"
echo "broker after $jobs jobs: $deep"
