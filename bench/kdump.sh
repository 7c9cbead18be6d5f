#!/usr/bin/env bash
# Kernel memory dumps: does the cost grow with the dump size? (not a test)
#
# Generates two x64 bitmap dumps with the same content (the same drivers,
# page tables, context and stack; tests/tools/mkkfull.c), one of 1 MiB of
# physical memory and one of 16 GiB (a sparse file), then measures, each
# next to the other in the same run:
#   1. the reader alone (bench/kdump_read: map + kdump_read), RUNS times
#      each: median wall time and peak RSS;
#   2. `dumpfleet analyze --json --no-hash` end to end, RUNS times each:
#      everything but the content hash (the worker's path when the hash
#      comes with the job);
#   3. `dumpfleet analyze --json` with the content hash, RUNS times on the
#      small dump and BIG_RUNS times on the big one (default 1: see below).
# and prints the ratios big/small. The 16 GiB file is removed at exit.
#
# The content hash (SHA-256 of the whole file, which the store
# deduplicates by) reads every byte. Its pages are handed back as it goes,
# so memory stays flat, but on the big dump it reads 16 GiB: part 3's time
# is that hash (SHA-NI where the CPU has it). BIG_RUNS is 1 for that reason.
#
# Usage: bench/kdump.sh BUILD_DIR [RUNS] [BIG_RUNS] [BIG_SIZE]
set -euo pipefail
build=${1:?build dir}
runs=${2:-7}
big_runs=${3:-1}
big_size=${4:-16G}
df=$build/cli/dumpfleet
gen=$build/tests/mkkfull
reader=$build/bench/kdump_read
for t in "$df" "$gen" "$reader" "$build/bench/hash"; do
	[ -x "$t" ] || { echo "kdump.sh: $t not built" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "kdump.sh: needs /usr/bin/time (package time)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/dfkbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN { printf \"%.4g\", $1 }"; }

"$gen" --type bitmap --arch x64 --phys 1M --facts "$tmp/small.dmp" >"$tmp/small.facts"
"$gen" --type bitmap --arch x64 --phys "$big_size" --facts "$tmp/big.dmp" >"$tmp/big.facts"
cmp -s "$tmp/small.facts" "$tmp/big.facts" ||
	{ echo "kdump.sh: the two dumps differ in content" >&2; exit 1; }
for f in small big; do
	printf '%-5s %14s bytes, %8s KiB on disk\n' "$f" \
		"$(stat -c %s "$tmp/$f.dmp")" "$(du -k "$tmp/$f.dmp" | cut -f1)"
done

# reader alone: one process per run; prints "seconds rss_kib ..."
reader_runs() {
	local _
	for _ in $(seq "$runs"); do "$reader" "$1"; done >"$tmp/r.txt"
	grep -q 'drivers=4 frames=7 errors=0' "$tmp/r.txt" ||
		{ echo "kdump.sh: reader missed the content of $1" >&2; exit 1; }
	echo "$(cut -d' ' -f1 "$tmp/r.txt" | median) $(cut -d' ' -f2 "$tmp/r.txt" | sort -g | tail -1)"
}
# end to end: wall seconds, and max RSS from /usr/bin/time, per run
now() { date +%s.%N; }
analyze_runs() { # FILE RUNS [OPTION]...
	local _ f=$1 n=$2 t0 t1
	shift 2
	for _ in $(seq "$n"); do
		t0=$(now)
		/usr/bin/time -f '%M' -o "$tmp/t.txt" "$df" analyze --json "$@" "$f" >"$tmp/out.json" || true
		t1=$(now)
		grep -q '"frame_count":7' "$tmp/out.json" ||
			{ echo "kdump.sh: analyze missed the content of $f" >&2; exit 1; }
		echo "$(calc "$t1 - $t0") $(tail -1 "$tmp/t.txt")"
	done >"$tmp/a.txt"
	echo "$(cut -d' ' -f1 "$tmp/a.txt" | median) $(cut -d' ' -f2 "$tmp/a.txt" | sort -g | tail -1)"
}
show() { # TITLE small_t small_m big_t big_m
	echo "$1 (median wall s, peak RSS KiB):"
	echo "  1M:  ${2}s  ${3} KiB"
	echo "  $big_size: ${4}s  ${5} KiB"
	echo "  ratio $big_size/1M: time $(calc "$4 / $2"), memory $(calc "$5 / $3")"
}

read -r rs_t rs_m < <(reader_runs "$tmp/small.dmp")
read -r rb_t rb_m < <(reader_runs "$tmp/big.dmp")
show "reader alone, $runs runs each" "$rs_t" "$rs_m" "$rb_t" "$rb_m"

read -r ns_t ns_m < <(analyze_runs "$tmp/small.dmp" "$runs" --no-hash)
read -r nb_t nb_m < <(analyze_runs "$tmp/big.dmp" "$runs" --no-hash)
show "dumpfleet analyze --json --no-hash, $runs runs each" "$ns_t" "$ns_m" "$nb_t" "$nb_m"

read -r as_t as_m < <(analyze_runs "$tmp/small.dmp" "$runs")
read -r ab_t ab_m < <(analyze_runs "$tmp/big.dmp" "$big_runs")
show "dumpfleet analyze --json (content hash: $("$build/bench/hash" 1 1 | sed -n 's/.*auto here: \(.*\))/\1/p')), $runs / $big_runs runs" \
	"$as_t" "$as_m" "$ab_t" "$ab_m"
