#!/usr/bin/env bash
# Benchmark (not a test): rendering the largest report the schema allows
# (368 bugchecks, 100 top buckets with 90 daily counts, 50 new buckets,
# 20 rising, 20 falling, 50 modules, 20 spray groups, 50 batches) as HTML
# and as CSV, next to writing the same loaded object as JSON with
# jansson (the baseline, measured in the same run). Each run loads the
# JSON file first, so render time = time - (load time in the baseline).
# Needs jq to build the input.
# Usage: bench/report_forms.sh BUILD_DIR [RUNS]
set -euo pipefail
build=${1:?build dir}
runs=${2:-9}
tool=$build/tests/report_html_tool
command -v jq >/dev/null || { echo "report_forms: needs jq" >&2; exit 77; }
tmp=$(mktemp -d /tmp/dfbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN { printf \"%.4f\n\", $1 }"; }
timeit() {
	local _ t0 t1
	for _ in $(seq "$runs"); do
		t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
		calc "$t1 - $t0"
	done | median
}

jq -n '
def hex(n): (n | tostring | ("0000000000000000" + .)[-16:]);
def bucket(i): {hash: hex(i), signature: ("0xD1 drv\(i).sys!f+0x10 | nt!KiPageFault | nt!x\(i)"),
  count: (1000 - i), previous_count: i, total: 5000, first_seen: 1790000000,
  last_seen: 1795600000, daily: [range(90) | (. * i) % 17], bugcheck: "0x000000D1",
  exception: null, blame: "drv\(i).sys", low_trust: false,
  os_versions: [range(5) | {os_ver: "10.0.1904\(.)", count: 3}],
  patterns: [range(3) | {pattern: "p\(.)", count: 2}],
  samples: [range(5) | {hash: hex(.), source: "/dumps/case/\(i)/\(.).zip",
    archive: "\(.).zip", member: "dir/MEMORY\(.).DMP", batch: "case-\(i)"}]};
def small(i): {hash: hex(i), signature: "sig \(i)", count: i, expected: 2.5, z: 3.3};
{schema_version: 2, generated_at: 1795651200,
 period: {since: "2026-08-29", until: "2026-11-26", days: 90,
   previous_since: "2026-05-31", previous_until: "2026-08-28", batch: null},
 totals: {dumps: 1000000, distinct: 990000, buckets: 100000, errors: 12,
   failed: 3, quarantined: 1, formats: {minidump: 700000, "kernel-dump": 300000}},
 batches: [range(50) | {batch: "case-\(.)", dumps: 20000, distinct: 19000, errors: 0, failed: 0}],
 bugchecks: [range(368) | {code: ("0x" + hex(.)[8:]), name: "BUGCHECK_NAME_\(.)",
   category: "driver", count: (368 - .), share: 0.001, previous_count: 3,
   change: 0.0001, baseline_share: 0.002}],
 exceptions: [range(40) | {code: "0xC00000\(. + 10)", name: "EXC_\(.)", count: 9, share: 0.01, previous_count: 4}],
 patterns: [range(19) | {pattern: "p\(.)", title: "Pattern \(.)", count: 100, confident: 80, share: 0.1}],
 virtualization: {virtualized: 1000, share: 0.1, hypervisors: [{name: "VMware", count: 1000}]},
 top_buckets: [range(100) | bucket(.)],
 new_buckets: [range(50) | {hash: hex(.), signature: "new \(.)", count: 3, first_seen: 1795600000, blame: "m.sys"}],
 trends: {rule: "rising when ...", rising: [range(20) | small(.)], falling: [range(20) | small(.)]},
 modules: [range(50) | {module: "drv\(.).sys", dumps: 1000, share: 0.001, buckets: 3, owner: "Vendor \(.)"}],
 spray: [range(20) | {key: "nt!Frame\(.)", kind: "frame", buckets: 6, dumps: 8,
   examples: [range(5) | hex(.)]}]}' >"$tmp/big.json"

echo "input: $(stat -c %s "$tmp/big.json") bytes of JSON, $runs runs each"
json=$(timeit "$tool" --json "$tmp/big.json" "$tmp/out.json")
html=$(timeit "$tool" "$tmp/big.json" "$tmp/out.html")
csv=$(timeit "$tool" --csv "$tmp/big.json" "$tmp/out.csv")
echo "load + JSON (baseline): median ${json}s, $(stat -c %s "$tmp/out.json") bytes"
echo "load + HTML:            median ${html}s, $(stat -c %s "$tmp/out.html") bytes"
echo "load + CSV:             median ${csv}s, $(stat -c %s "$tmp/out.csv") bytes"
echo "ratio HTML/JSON: $(calc "$html / $json"), CSV/JSON: $(calc "$csv / $json")"
