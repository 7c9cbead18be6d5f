#!/usr/bin/env bash
# Benchmarks (not tests): medians of several runs, each next to a baseline
# measured in the same run.
#   1. analysis speed: `dumpfleet analyze --json` over the shared corpus
#      minidumps vs Breakpad's minidump_stackwalk -m on the same files
#      (MINIDUMP_STACKWALK, or skipped).
#   2. pipeline throughput: `dumpfleet run` (broker + workers + store) over
#      N distinct generated minidumps vs `dumpfleet analyze` of the same
#      files in one process (the cost of the fleet machinery), and vs
#      `dumpfleet run --no-sandbox` (the cost of a child process per dump).
# Usage: bench/run.sh BUILD_DIR [N_FILES] [RUNS]
set -euo pipefail
build=${1:?build dir}
nfiles=${2:-2000}
runs=${3:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
df=$build/cli/dumpfleet
tmp=$(mktemp -d /tmp/dfbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN { printf \"%.4f\n\", $1 }"; }
timeit() { # runs command $runs times, prints median seconds
	local i t0 t1
	for i in $(seq "$runs"); do
		t0=$(now); "$@" >/dev/null 2>&1 || true; t1=$(now)
		calc "$t1 - $t0"
	done | median
}

corpus=$here/../shared/corpus/minidumps
if [ -d "$corpus" ]; then
	mapfile -t dumps < <(ls "$corpus"/*.dmp)
	ours=$(timeit "$df" analyze --json "${dumps[@]}")
	echo "analyze ${#dumps[@]} corpus minidumps: median ${ours}s"
	if [ -x "${MINIDUMP_STACKWALK:-}" ]; then
		bp() { for f in "${dumps[@]}"; do "$MINIDUMP_STACKWALK" -m "$f"; done; }
		base=$(timeit bp)
		echo "breakpad minidump_stackwalk -m, same files: median ${base}s"
		echo "ratio dumpfleet/breakpad: $(calc "$ours / $base")"
	fi
fi

mkdir "$tmp/in"
for k in x86-null-write amd64-read-av x86-message-box amd64-stack-buffer-overrun; do
	cp "$here/samples/minidumps/$k.dmp" "$tmp/$k.dmp"
done
i=0
while [ $i -lt "$nfiles" ]; do
	for k in x86-null-write amd64-read-av x86-message-box amd64-stack-buffer-overrun; do
		# A trailing counter makes every file distinct; readers ignore it.
		{ cat "$tmp/$k.dmp"; printf '%08d' "$i"; } >"$tmp/in/$k-$i.dmp"
		i=$((i + 1))
	done
done
single() { "$df" analyze --json "$tmp"/in/*.dmp; }
fleet() { rm -rf "$tmp/store"; "$df" run --workers "$(nproc)" --store "$tmp/store" "$@" "$tmp/in"; }
base=$(timeit single)
ours=$(timeit fleet)
insitu=$(timeit fleet --no-sandbox)
echo "analyze $nfiles files in one process: median ${base}s ($(calc "$nfiles / $base") files/s)"
echo "run (broker+$(nproc) workers+store) on them: median ${ours}s ($(calc "$nfiles / $ours") files/s)"
echo "ratio run/analyze: $(calc "$ours / $base")"
echo "run --no-sandbox on them: median ${insitu}s ($(calc "$nfiles / $insitu") files/s)"
echo "sandbox cost per dump: $(calc "($ours - $insitu) * 1000 / $nfiles") ms wall, $(calc "($ours - $insitu) * 1000 * $(nproc) / $nfiles") ms of a slot"
