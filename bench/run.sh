#!/usr/bin/env bash
# Benchmarks (not tests): medians of several runs, each next to a baseline
# measured in the same run.
#   1. analysis speed: `dumpfleet analyze --json --symbols` over the shared
#      corpus minidumps vs Breakpad's minidump_stackwalk -m with the same
#      symbols on the same files (MINIDUMP_STACKWALK, or skipped), one core;
#      with BEFORE=OTHER_BUILD_DIR, that build's dumpfleet in the same rounds.
#   2. pipeline throughput: `dumpfleet run` (broker + workers + store) over
#      N distinct generated minidumps vs `dumpfleet analyze` of the same
#      files in one process (the cost of the fleet machinery), and vs
#      `dumpfleet run --no-sandbox` (the cost of a child process per dump).
#   3. archive ingest: `dumpfleet run` over the same N files packed in one
#      zip and in one tar.zst vs over the plain folder (the cost of
#      unpacking into the spool).
# Usage: [MINIDUMP_STACKWALK=BIN] [BEFORE=BUILD_DIR] bench/run.sh BUILD_DIR
#        [N_FILES] [RUNS]      (N_FILES 0: section 1 only)
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

# Section 1 runs the tools on one core (taskset -c $BENCH_CPU, default 0)
# with stack walking on and the corpus symbol store: Breakpad once per dump
# as a per-dump pipeline runs it, dumpfleet over all files in one process,
# and, with BEFORE=OTHER_BUILD_DIR, an older dumpfleet build the same way.
# The tools take turns within each of the $runs rounds, so that other work
# on a shared machine falls on all of them; each run gives wall seconds and
# CPU seconds (user + sys, children included: less disturbed than wall).
# Prints "WALL CPU" of one run of "$@".
measure() {
	(TIMEFORMAT='%R %U %S'; { time "$@" >/dev/null 2>&1 || true; } 2>&1) |
		awk '{ printf "%.4f %.4f\n", $1, $2 + $3 }'
}

corpus=$here/../shared/corpus/minidumps
symbols=$here/../shared/corpus/symbols
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "${BENCH_CPU:-0}"); fi
if [ -d "$corpus" ]; then
	mapfile -t dumps < <(ls "$corpus"/*.dmp)
	mb=$(cat "${dumps[@]}" | wc -c | awk '{printf "%.3f", $1 / 1048576}')
	rate() { echo "$(calc "${#dumps[@]} / $1") dumps/s, $(calc "$mb / $1") MB/s"; }
	run_ours() { "${pin[@]}" "$df" analyze --json --symbols "$symbols" "${dumps[@]}"; }
	run_before() { "${pin[@]}" "$BEFORE/cli/dumpfleet" analyze --json --symbols "$symbols" "${dumps[@]}"; }
	run_bp() { for f in "${dumps[@]}"; do "${pin[@]}" "$MINIDUMP_STACKWALK" -m "$f" "$symbols"; done; }
	tools=(ours)
	[ -x "${BEFORE:-/nonexistent}/cli/dumpfleet" ] && tools+=(before)
	[ -x "${MINIDUMP_STACKWALK:-}" ] && tools+=(bp)
	for _ in $(seq "$runs"); do
		for t in "${tools[@]}"; do echo "$t $(measure "run_$t")"; done
	done >"$tmp/part1.txt"
	med() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$tmp/part1.txt" | median; }
	show() { echo "median $(med "$1" 2)s wall ($(rate "$(med "$1" 2)")), $(med "$1" 3)s CPU ($(rate "$(med "$1" 3)"))"; }
	echo "analyze ${#dumps[@]} corpus minidumps ($mb MB) on one core, $runs rounds: $(show ours)"
	if [ "${tools[1]:-}" = before ]; then
		echo "the same with $BEFORE: $(show before)"
	fi
	if [ "${tools[-1]}" = bp ]; then
		echo "breakpad minidump_stackwalk -m, one process per dump, same files and core: $(show bp)"
		echo "dumpfleet is $(calc "$(med bp 2) / $(med ours 2)") times as fast as breakpad (wall), $(calc "$(med bp 3) / $(med ours 3)") times (CPU)"
		if [ "${tools[1]}" = before ]; then
			echo "  ($BEFORE: $(calc "$(med bp 2) / $(med before 2)") times (wall), $(calc "$(med bp 3) / $(med before 3)") times (CPU))"
		fi
	fi
fi

[ "$nfiles" -gt 0 ] || exit 0
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

mk=$build/tests/mkarchive
if [ -x "$mk" ]; then
	members=()
	for f in "$tmp"/in/*.dmp; do members+=("case/$(basename "$f")" "$f"); done
	mkdir "$tmp/zip" "$tmp/zst"
	"$mk" zip "$tmp/zip/case.zip" "${members[@]}"
	"$mk" tar.zst "$tmp/zst/case.tar.zst" "${members[@]}"
	packed() { rm -rf "$tmp/store"; "$df" run --workers "$(nproc)" --store "$tmp/store" "$1"; }
	zip=$(timeit packed "$tmp/zip")
	zst=$(timeit packed "$tmp/zst")
	echo "run on the same files in one zip: median ${zip}s ($(calc "$nfiles / $zip") files/s), ratio zip/plain: $(calc "$zip / $ours")"
	echo "run on the same files in one tar.zst: median ${zst}s ($(calc "$nfiles / $zst") files/s), ratio tar.zst/plain: $(calc "$zst / $ours")"
fi
