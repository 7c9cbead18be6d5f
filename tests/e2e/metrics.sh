#!/usr/bin/env bash
# Broker metrics over HTTP, scraped with bash's own socket (no curl): off
# unless --metrics is given; after a batch they count its jobs and the
# worker's slots, in the Prometheus text format.
source "$(dirname "$0")/lib.inc"
store=$tmp/store
n=$(sample_inputs)

scrape() {
	local body
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
	body=$(cat <&3)
	exec 3<&-
	printf '%s\n' "$body" | tr -d '\r'
}

"$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' --store "$store" \
	--heartbeat-ms 200 >"$tmp/plain.out" 2>"$tmp/plain.err" &
plain=$!
pids+=("$plain")
wait_listening "$tmp/plain.out" >/dev/null || fail "broker did not bind"
grep -q '^metrics' "$tmp/plain.out" && fail "metrics served without --metrics"
kill -TERM "$plain"
wait "$plain" || fail "broker exited $?"

"$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' --store "$store" \
	--heartbeat-ms 200 --metrics 127.0.0.1:0 \
	>"$tmp/broker.out" 2>"$tmp/broker.err" &
pids+=("$!")
ep=$(wait_listening "$tmp/broker.out") || fail "broker did not bind"
port=$(sed -n 's/^metrics on port //p' "$tmp/broker.out")
[ -n "$port" ] || fail "no metrics port"
"$DUMPFLEET" worker --connect "$ep" --slots 2 --heartbeat-ms 200 \
	2>"$tmp/worker.err" &
pids+=("$!")
"$DUMPFLEET" submit --broker "$ep" --wait "$DF_SOURCE/samples" >/dev/null ||
	fail "submit exited $?"

# The snapshot is published a few times a second: poll, bounded.
for _ in $(seq 1 50); do
	scrape "$port" >"$tmp/metrics.txt" || fail "no answer on $port"
	grep -qx "dumpfleet_jobs{state=\"done\"} $n" "$tmp/metrics.txt" && break
	sleep 0.1
done
m=$tmp/metrics.txt
head -1 "$m" | grep -q '^HTTP/1\.[01] 200' || fail "status: $(head -1 "$m")"
grep -qi '^content-type: text/plain; version=0.0.4' "$m" || fail "type"
grep -qx "dumpfleet_jobs{state=\"done\"} $n" "$m" || fail "done: $(cat "$m")"
grep -qx "dumpfleet_jobs_done_total $n" "$m" || fail "done total"
grep -qx 'dumpfleet_worker_slots 2' "$m" || fail "slots"
grep -qx 'dumpfleet_workers 1' "$m" || fail "workers"
grep -qx 'dumpfleet_queue_depth 0' "$m" || fail "queue depth"
grep -qx '# TYPE dumpfleet_store_commit_seconds histogram' "$m" ||
	fail "histogram type"
count=$(sed -n 's/^dumpfleet_store_commit_seconds_count //p' "$m")
[ "${count:-0}" -ge 2 ] || fail "commits counted: $count"
grep -qx "dumpfleet_store_commit_seconds_bucket{le=\"+Inf\"} $count" "$m" ||
	fail "+Inf bucket differs from the count"
# Every sample line: a name, optional labels, one number.
sed '1,/^$/d' "$m" | grep -v '^#' |
	grep -vE '^[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9.e+-]+$' &&
	fail "a line out of format"
echo "ok: metrics"
