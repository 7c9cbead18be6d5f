#!/usr/bin/env bash
# CURVE and ZAP with real processes on loopback TCP (CURVE forced): keygen
# writes a private secret; a broker that is exposed refuses to start
# without keys; workers with a wrong key, with no key or with a client key
# get no job, a client whose key is only on the worker list submits
# nothing, and then an allowed worker finishes the batch; status --json
# and retry with the client's key.
source "$(dirname "$0")/lib.inc"
store=$tmp/store
keys=$tmp/keys
mkdir -p "$keys/clients"
n=$(sample_inputs)

for k in broker worker rogue client; do
	"$DUMPFLEET" keygen -o "$keys/$k" >"$keys/$k.out" ||
		fail "keygen $k exited $?"
done
[ "$(stat -c %a "$keys/worker.key")" = 600 ] || fail "secret key mode"
[ "$(stat -c %a "$keys/worker.pub")" = 644 ] || fail "public key mode"
grep -qxF "$(cat "$keys/worker.out")" "$keys/worker.pub" ||
	fail "keygen printed another key than it wrote"
rc=0
"$DUMPFLEET" keygen -o "$keys/worker" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "keygen overwrote a key pair (exit $rc)"

# The worker list is a file with comments; the client list a folder.
{
	echo "# fleet workers"
	echo "$(grep -v '^#' "$keys/worker.pub")   # worker host 1"
} >"$tmp/workers.txt"
cp "$keys/client.pub" "$keys/clients/"

# Exposed endpoints need keys: no bind, usage error.
rc=0
"$DUMPFLEET" broker --bind 'tcp://*:*' --store "$store" \
	>"$tmp/exposed.out" 2>"$tmp/exposed.err" || rc=$?
[ "$rc" = 2 ] || fail "exposed broker without keys exited $rc"
grep -q 'listening' "$tmp/exposed.out" && fail "exposed broker bound"
# --insecure binds, and says so.
"$DUMPFLEET" broker --bind 'tcp://*:*' --store "$tmp/insecure" --insecure \
	>"$tmp/insecure.out" 2>"$tmp/insecure.err" &
insecure=$!
pids+=("$insecure")
wait_listening "$tmp/insecure.out" >/dev/null || fail "--insecure did not bind"
grep -q 'level=warn event=insecure ' "$tmp/insecure.err" ||
	fail "no insecure warning"
kill -TERM "$insecure"
wait "$insecure" || fail "insecure broker exited $?"
rc=0
"$DUMPFLEET" worker --connect tcp://192.0.2.1:5555 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "worker to an exposed endpoint without keys: $rc"

DUMPFLEET_LOG=info "$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' \
	--store "$store" --heartbeat-ms 200 --curve --key "$keys/broker.key" \
	--allow-workers "$tmp/workers.txt" --allow-clients "$keys/clients" \
	>"$tmp/broker.out" 2>"$tmp/broker.err" &
pids+=("$!")
ep=$(wait_listening "$tmp/broker.out") || fail "broker did not bind"
bk=$keys/broker.pub

# Peers that must get nothing: a key not listed, no key at all, and a
# client key used by a worker.
"$DUMPFLEET" worker --connect "$ep" --slots 1 --heartbeat-ms 200 --curve \
	--key "$keys/rogue.key" --broker-key "$bk" 2>"$tmp/rogue.err" &
rogue=$!
pids+=("$rogue")
"$DUMPFLEET" worker --connect "$ep" --slots 1 --heartbeat-ms 200 \
	2>"$tmp/plain.err" &
pids+=("$!")
"$DUMPFLEET" worker --connect "$ep" --slots 1 --heartbeat-ms 200 --curve \
	--key "$keys/client.key" --broker-key "$bk" 2>"$tmp/cw.err" &
pids+=("$!")

st() {
	"$DUMPFLEET" status --broker "$ep" --timeout-ms 5000 --curve \
		--key "$keys/client.key" --broker-key "$bk" "$@"
}
value() { st | awk -v k="$1" '$1 == k { print $2 }'; }

# A worker key may not submit: refused at once, nothing stored.
rc=0
"$DUMPFLEET" submit --broker "$ep" --timeout-ms 3000 --curve \
	--key "$keys/worker.key" --broker-key "$bk" "$DF_SOURCE/samples" \
	>"$tmp/wsubmit.out" 2>"$tmp/wsubmit.err" || rc=$?
[ "$rc" = 3 ] || fail "submit with a worker key exited $rc"
grep -q 'refused' "$tmp/wsubmit.err" || fail "no refusal: $(cat "$tmp/wsubmit.err")"
# A key not listed cannot even connect, and is told so (ZAP 400) long
# before the timeout; nor can a client without keys.
rc=0
start=$SECONDS
"$DUMPFLEET" submit --broker "$ep" --timeout-ms 20000 --curve \
	--key "$keys/rogue.key" --broker-key "$bk" "$DF_SOURCE/samples" \
	>/dev/null 2>"$tmp/rsubmit.err" || rc=$?
[ "$rc" = 3 ] || fail "submit with an unlisted key exited $rc"
grep -q 'refused this CURVE key' "$tmp/rsubmit.err" ||
	fail "unlisted key: $(cat "$tmp/rsubmit.err")"
[ $((SECONDS - start)) -lt 10 ] || fail "refusal took until the timeout"
rc=0
"$DUMPFLEET" submit --broker "$ep" --timeout-ms 20000 "$DF_SOURCE/samples" \
	>/dev/null 2>"$tmp/psubmit.err" || rc=$?
[ "$rc" = 3 ] || fail "submit without keys exited $rc"
grep -q 'handshake' "$tmp/psubmit.err" ||
	fail "no keys: $(cat "$tmp/psubmit.err")"
[ "$(value queued)" = 0 ] || fail "a refused submit queued jobs"

"$DUMPFLEET" submit --broker "$ep" --timeout-ms 5000 --curve \
	--key "$keys/client.key" --broker-key "$bk" "$DF_SOURCE/samples" \
	>"$tmp/submit.out" || fail "allowed submit exited $?"
grep -q "submitted $n of $n files" "$tmp/submit.out" || fail "submit count"

# Several heartbeats and reconnects later, none of them has a job.
sleep 2
[ "$(value queued)" = "$n" ] || fail "jobs left the queue: $(st)"
[ "$(value "done")" = 0 ] || fail "a refused worker did a job"
[ "$(value slots)" = 0 ] || fail "a refused worker has slots"
grep -q 'event=auth_denied' "$tmp/broker.err" || fail "no auth_denied log"
grep -q 'event=denied user="client"' "$tmp/broker.err" ||
	fail "no role denial logged"
# A refused worker still stops when told: its sends give up in time.
kill -TERM "$rogue"
for _ in $(seq 1 100); do
	kill -0 "$rogue" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$rogue" 2>/dev/null && fail "a refused worker ignored SIGTERM"
rc=0
wait "$rogue" || rc=$?
[ "$rc" = 0 ] || fail "a refused worker exited $rc on SIGTERM"

"$DUMPFLEET" worker --connect "$ep" --slots 2 --heartbeat-ms 200 --curve \
	--key "$keys/worker.key" --broker-key "$bk" 2>"$tmp/worker.err" &
pids+=("$!")
for _ in $(seq 1 200); do
	[ "$(value "done")" = "$n" ] && break
	sleep 0.1
done
[ "$(value "done")" = "$n" ] || fail "batch not done: $(st)"
[ "$(value slots)" = 2 ] || fail "the allowed worker's slots: $(st)"
[ "$(report_value "$store" dumps)" = "$n" ] || fail "dumps in the store"

# The fuller status, as JSON: one worker process with its two slots.
st --json >"$tmp/status.json" || fail "status --json exited $?"
grep -q '"slots":2' "$tmp/status.json" || fail "json slots"
grep -q "\"jobs_done\":$n" "$tmp/status.json" || fail "json jobs_done"
grep -q '"quarantined":0' "$tmp/status.json" || fail "json quarantined"
# Retry is a client's: nothing quarantined here; a worker key is refused.
"$DUMPFLEET" retry --broker "$ep" --all --curve --key "$keys/client.key" \
	--broker-key "$bk" >"$tmp/retry.out" || fail "retry exited $?"
grep -q '^requeued 0$' "$tmp/retry.out" || fail "retry output"
rc=0
"$DUMPFLEET" retry --broker "$ep" --all --curve --key "$keys/worker.key" \
	--broker-key "$bk" >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "retry with a worker key exited $rc"
echo "ok: fleet_curve"
