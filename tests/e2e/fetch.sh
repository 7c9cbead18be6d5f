#!/usr/bin/env bash
# Workers without the shared filesystem: a CURVE broker with a content
# service (--content-bind) on loopback, a worker that fetches every job's
# file from it (--fetch-mode always) over the samples and a generated
# sparse kernel dump. The stored report equals a shared-filesystem run's;
# every job was fetched and its cache file removed; the 1 GiB kernel
# dump range by range, under 1% of it; a worker with a key
# the broker does not list gets neither jobs nor content; a worker in
# auto mode that sees the files fetches nothing. Without the sandbox a
# kernel dump is fetched range by range too. A file gone from the broker
# is a retried failure, then quarantined.
source "$(dirname "$0")/lib.inc"
source "$(dirname "$0")/fleet.inc"
: "${MKKFULL:?path of the mkkfull generator}"

mkdir -p "$tmp/in" "$tmp/mid" "$tmp/gone" "$tmp/cache" "$tmp/cache2"
cp -r "$DF_SOURCE/samples/." "$tmp/in/"
"$MKKFULL" --type bitmap --arch x64 --phys 1G "$tmp/in/big.dmp" ||
	fail "mkkfull"
big_size=$(stat -c %s "$tmp/in/big.dmp")
n=$(($(sample_inputs) + 1))

# The shared-filesystem run, meanwhile: hashing 1 GiB takes seconds.
# (Its slot hashes the 1 GiB dump: slow under a sanitizer, so no short
# watchdog here.)
"$DUMPFLEET" run --workers 1 --timeout 300 --store "$tmp/clean" "$tmp/in" \
	>/dev/null 2>"$tmp/clean.err" &
clean=$!
pids+=("$clean")

keys=$tmp/keys
mkdir -p "$keys"
for k in broker worker rogue client; do
	"$DUMPFLEET" keygen -o "$keys/$k" >/dev/null || fail "keygen $k"
done
bk=$keys/broker.pub
curve=(--curve --key "$keys/worker.key" --broker-key "$bk")

# An exposed content endpoint needs keys like the job endpoint.
rc=0
"$DUMPFLEET" broker --bind tcp://127.0.0.1:0 --content-bind 'tcp://*:0' \
	--store "$tmp/exposed" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "exposed content endpoint without keys exited $rc"

out=$tmp/broker.out
DUMPFLEET_LOG=info "$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' \
	--content-bind 'tcp://127.0.0.1:*' --store "$tmp/store" \
	--heartbeat-ms 100 --curve --key "$keys/broker.key" \
	--allow-workers "$keys/worker.pub" --allow-clients "$keys/client.pub" \
	--metrics 127.0.0.1:0 >"$out" 2>"$tmp/broker.err" &
broker=$!
pids+=("$broker")
ep=$(wait_listening "$out") || fail "broker did not bind"
for _ in $(seq 1 50); do
	grep -q '^content on ' "$out" && break
	sleep 0.1
done
cep=$(sed -n 's/^content on //p' "$out")
[ -n "$cep" ] || fail "no content endpoint printed"

st() {
	"$DUMPFLEET" status --broker "$ep" --timeout-ms 5000 --curve \
		--key "$keys/client.key" --broker-key "$bk" "$@"
}
value() { st | awk -v k="$1" '$1 == k { print $2 }'; }

# A key not listed: no job, no byte.
DUMPFLEET_LOG=info "$DUMPFLEET" worker --connect "$ep" --fetch "$cep" \
	--fetch-mode always --fetch-dir "$tmp/cache2" --slots 1 \
	--heartbeat-ms 100 --curve --key "$keys/rogue.key" --broker-key "$bk" \
	2>"$tmp/rogue.err" &
rogue=$!
pids+=("$rogue")
"$DUMPFLEET" submit --broker "$ep" --timeout-ms 20000 --curve \
	--key "$keys/client.key" --broker-key "$bk" "$tmp/in" \
	>"$tmp/submit.out" || fail "submit exited $?"
grep -q "submitted $n of $n files" "$tmp/submit.out" || fail "submit count"
sleep 1
[ "$(value "done")" = 0 ] || fail "the rogue worker did a job"
# A worker never admitted still stops when told.
kill -TERM "$rogue"
rc=0
wait "$rogue" || rc=$?
[ "$rc" = 0 ] || fail "the rogue worker exited $rc on SIGTERM"
grep -q 'event=fetched' "$tmp/rogue.err" && fail "the rogue fetched"

DUMPFLEET_LOG=info "$DUMPFLEET" worker --connect "$ep" --fetch "$cep" \
	--fetch-mode always --fetch-dir "$tmp/cache" --slots 2 \
	--heartbeat-ms 100 --timeout 10 "${curve[@]}" 2>"$tmp/worker.err" &
worker=$!
pids+=("$worker")
for _ in $(seq 1 200); do
	[ "$(value "done")" = "$n" ] && break
	sleep 0.1
done
[ "$(value "done")" = "$n" ] || fail "batch not done: $(st)"
kill -TERM "$worker"
wait "$worker" || fail "worker exited $?"

wait "$clean" || fail "clean run exited $?"
stable_report "$tmp/clean" >"$tmp/clean.json"
grep -q "\"dumps\": $n," "$tmp/clean.json" || fail "clean run: not $n dumps"
stable_report "$tmp/store" >"$tmp/fetched.json"
diff "$tmp/clean.json" "$tmp/fetched.json" >"$tmp/report.diff" ||
	fail "report differs from the shared-filesystem run: $(head -20 "$tmp/report.diff")"
# The broker counts what it served (published a few times a second).
port=$(sed -n 's/^metrics on port //p' "$out")
for _ in $(seq 1 50); do
	exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "no metrics on $port"
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
	tr -d '\r' <&3 >"$tmp/metrics.txt"
	exec 3<&-
	served=$(sed -n 's/^dumpfleet_content_bytes_total //p' "$tmp/metrics.txt")
	[ "${served:-0}" -gt 0 ] && break
	sleep 0.1
done
[ "${served:-0}" -gt 0 ] || fail "no content bytes in the metrics"
grep -q '^dumpfleet_content_requests_total [1-9]' "$tmp/metrics.txt" ||
	fail "no content requests in the metrics"

# Distinct jobs: a retried one (a sanitizer build's child may hang in
# fork, fleet.inc) is fetched again.
fetched_jobs=$(grep 'event=fetched .* ok=1' "$tmp/worker.err" |
	grep -oE ' job=[0-9]+ ' | sort -u | wc -l)
[ "$fetched_jobs" = "$n" ] ||
	fail "$fetched_jobs of $n jobs fetched: $(grep 'event=fetched' "$tmp/worker.err")"
grep 'event=fetched' "$tmp/worker.err" | grep -q 'ok=0' && fail "a fetch failed"
[ -z "$(ls -A "$tmp/cache")" ] || fail "cache files left: $(ls "$tmp/cache")"
# The kernel dump's job: how many of its bytes came over the wire.
big_job=$(grep -m1 "event=fetched .* size=$big_size " "$tmp/worker.err" || true)
[ -n "$big_job" ] || fail "no fetch of the kernel dump logged"
fetched=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$big_job")
echo "kernel dump: $fetched of $big_size bytes fetched"
grep -q "event=fetched .* mode=range size=$big_size " "$tmp/worker.err" ||
	fail "the kernel dump was not fetched range by range"
# Its reader reads the header, bitmap and a few pages: under 1%.
[ $((fetched * 100 / big_size)) -lt 1 ] ||
	fail "fetched $fetched of $big_size bytes"

# Without the sandbox the slot's reader fetches its ranges itself: a
# kernel dump just over the range-mode threshold.
"$MKKFULL" --type bitmap --arch x64 --phys 80M "$tmp/mid/mid.dmp" ||
	fail "mkkfull 80M"
mid_size=$(stat -c %s "$tmp/mid/mid.dmp")
# A file gone from the broker before any worker asked: each attempt is a
# retried failure, not a damaged dump, until it is quarantined.
cp "$DF_SOURCE/samples/minidumps/x86-null-write.dmp" "$tmp/gone/"
printf 'gone' >>"$tmp/gone/x86-null-write.dmp"
"$DUMPFLEET" submit --broker "$ep" --timeout-ms 20000 --curve \
	--key "$keys/client.key" --broker-key "$bk" "$tmp/gone" \
	>/dev/null || fail "gone submit exited $?"
rm -f "$tmp/gone/x86-null-write.dmp"
DUMPFLEET_LOG=info "$DUMPFLEET" worker --connect "$ep" --fetch "$cep" \
	--fetch-mode always --fetch-dir "$tmp/cache" --slots 1 --no-sandbox \
	--heartbeat-ms 100 "${curve[@]}" 2>"$tmp/nosandbox.err" &
nosb=$!
pids+=("$nosb")
"$DUMPFLEET" submit --broker "$ep" --timeout-ms 20000 --curve \
	--key "$keys/client.key" --broker-key "$bk" "$tmp/mid" \
	>/dev/null || fail "third submit exited $?"
for _ in $(seq 1 200); do
	[ "$(value "done")" = $((n + 1)) ] && break
	sleep 0.1
done
[ "$(value "done")" = $((n + 1)) ] || fail "mid dump not done: $(st)"
for _ in $(seq 1 100); do
	[ "$(value failed)" = 1 ] && break
	sleep 0.1
done
[ "$(value failed)" = 1 ] || fail "the gone file's job did not fail: $(st)"
st --json | grep -q 'content fetch failed: cannot open the job' ||
	fail "no fetch failure in the quarantine: $(st --json)"
kill -TERM "$nosb"
wait "$nosb" || fail "no-sandbox worker exited $?"
mid=$(grep -m1 "event=fetched .* mode=range size=$mid_size .* ok=1" \
	"$tmp/nosandbox.err") || fail "no range fetch without the sandbox"
fetched=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$mid")
[ $((fetched * 100 / mid_size)) -lt 2 ] ||
	fail "fetched $fetched of $mid_size bytes without the sandbox"
[ "$(report_value "$tmp/store" errors)" = 0 ] || fail "errors in the store"
[ -z "$(ls -A "$tmp/cache")" ] || fail "cache files left: $(ls "$tmp/cache")"

# Auto mode on the shared filesystem: the files are here, nothing is
# fetched. A second submission of the same files is analysed again.
DUMPFLEET_LOG=info "$DUMPFLEET" worker --connect "$ep" --fetch "$cep" \
	--fetch-dir "$tmp/cache" --slots 1 --heartbeat-ms 100 --timeout 10 \
	"${curve[@]}" 2>"$tmp/auto.err" &
auto=$!
pids+=("$auto")
"$DUMPFLEET" submit --broker "$ep" --timeout-ms 20000 --curve \
	--key "$keys/client.key" --broker-key "$bk" "$tmp/in/minidumps" \
	>"$tmp/submit2.out" || fail "second submit exited $?"
m=$(sed -n 's/^submitted \([0-9]*\) of.*/\1/p' "$tmp/submit2.out")
for _ in $(seq 1 200); do
	[ "$(value "done")" = $((n + 1 + m)) ] && break
	sleep 0.1
done
[ "$(value "done")" = $((n + 1 + m)) ] || fail "auto batch not done: $(st)"
grep -q 'event=fetched' "$tmp/auto.err" && fail "auto mode fetched a local file"

kill -TERM "$broker"
wait "$broker" || fail "broker exited $?"
grep -q "event=content_stopped requests=[1-9]" "$tmp/broker.err" ||
	fail "no content served: $(grep content_ "$tmp/broker.err" | tail -3)"
echo "ok: fetch"
