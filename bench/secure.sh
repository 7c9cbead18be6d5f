#!/usr/bin/env bash
# Benchmarks (not tests) of the fleet's security and observability costs,
# medians of several runs, each next to a baseline from the same run:
#   1. CURVE: a broker and one worker process (2 slots) on loopback TCP,
#      `submit --wait` of N distinct generated minidumps, with CURVE and
#      ZAP on vs plain (runs alternate so drift hits both alike).
#   2. status: `dumpfleet status` (which reads every job record for the
#      quarantine list) against a broker holding N queued jobs vs an
#      empty one.
# Usage: bench/secure.sh BUILD_DIR [N_FILES] [RUNS]
set -euo pipefail
build=${1:?build dir}
nfiles=${2:-1000}
runs=${3:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
df=$build/cli/dumpfleet
tmp=$(mktemp -d /tmp/dfbench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN { printf \"%.4f\n\", $1 }"; }

mkdir "$tmp/in" "$tmp/keys"
i=0
while [ $i -lt "$nfiles" ]; do
	for k in x86-null-write amd64-read-av x86-message-box amd64-stack-buffer-overrun; do
		{ cat "$here/samples/minidumps/$k.dmp"; printf '%08d' "$i"; } \
			>"$tmp/in/$k-$i.dmp"
		i=$((i + 1))
	done
done
for k in broker worker client; do "$df" keygen -o "$tmp/keys/$k" >/dev/null; done

# broker STORE [ARGS...]: start one; its endpoint in $ep, its pid in $bpid.
broker() {
	local store=$1
	shift
	"$df" broker --bind 'tcp://127.0.0.1:*' --store "$store" "$@" \
		>"$store.out" 2>"$store.err" &
	bpid=$!
	pids+=("$bpid")
	for _ in $(seq 100); do
		grep -q '^listening on ' "$store.out" 2>/dev/null && break
		sleep 0.05
	done
	ep=$(sed -n 's/^listening on //p' "$store.out")
}

# One fleet batch; MODE plain or curve. Prints seconds for submit --wait.
batch() {
	local mode=$1 store=$tmp/store-$1-$2 t0 t1 wpid bargs=() pargs=() cargs=()
	if [ "$mode" = curve ]; then
		bargs=(--curve --key "$tmp/keys/broker.key"
			--allow-workers "$tmp/keys/worker.pub"
			--allow-clients "$tmp/keys/client.pub")
		pargs=(--curve --key "$tmp/keys/worker.key"
			--broker-key "$tmp/keys/broker.pub")
		cargs=(--curve --key "$tmp/keys/client.key"
			--broker-key "$tmp/keys/broker.pub")
	fi
	broker "$store" "${bargs[@]}"
	"$df" worker --connect "$ep" --slots 2 "${pargs[@]}" 2>/dev/null &
	wpid=$!
	pids+=("$wpid")
	t0=$(now)
	"$df" submit --broker "$ep" --wait "${cargs[@]}" "$tmp/in" >/dev/null
	t1=$(now)
	kill -TERM "$wpid" "$bpid"
	wait "$wpid" "$bpid" || true
	calc "$t1 - $t0"
}

: >"$tmp/plain.t"
: >"$tmp/curve.t"
for r in $(seq "$runs"); do
	batch plain "$r" >>"$tmp/plain.t"
	batch curve "$r" >>"$tmp/curve.t"
done
base=$(median <"$tmp/plain.t")
ours=$(median <"$tmp/curve.t")
echo "fleet, $nfiles files, loopback tcp, 1 worker x 2 slots:"
echo "  plain: median ${base}s ($(calc "$nfiles / $base") files/s)"
echo "  CURVE: median ${ours}s ($(calc "$nfiles / $ours") files/s)"
echo "  ratio CURVE/plain: $(calc "$ours / $base")"

# status against a broker that holds N jobs (no workers) vs an empty one.
statustime() {
	local ep=$1 t0 t1
	t0=$(now)
	"$df" status --broker "$ep" >/dev/null
	t1=$(now)
	calc "$t1 - $t0"
}
broker "$tmp/empty"
empty=$ep
ebpid=$bpid
broker "$tmp/full"
full=$ep
fbpid=$bpid
"$df" submit --broker "$full" "$tmp/in" >/dev/null
: >"$tmp/se.t"
: >"$tmp/sf.t"
for r in $(seq "$runs"); do
	statustime "$empty" >>"$tmp/se.t"
	statustime "$full" >>"$tmp/sf.t"
done
echo "status (reads every job record):"
echo "  empty broker: median $(median <"$tmp/se.t")s"
echo "  $nfiles queued jobs: median $(median <"$tmp/sf.t")s"
kill -TERM "$ebpid" "$fbpid"
wait "$ebpid" "$fbpid" || true
