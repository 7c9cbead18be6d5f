#!/usr/bin/env bash
# A broker and two worker processes on loopback TCP: submit, wait, check
# the store; kill -9 the broker, restart it on the same store, submit the
# same files again: nothing is counted twice; SIGTERM ends every process.
source "$(dirname "$0")/lib.inc"
store=$tmp/store
# Plain samples, plus the 5 members of samples/archives/case-1042.zip
# (copies of plain samples): more dumps, no more distinct ones.
plain=$(find "$DF_SOURCE/samples" -type f ! -path '*/archives/*' | wc -l)
n=$((plain + 5))
spool=$tmp/spool

"$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' --store "$store" \
	--heartbeat-ms 200 >"$tmp/broker.out" 2>"$tmp/broker.err" &
broker=$!
pids+=("$broker")
ep=$(wait_listening "$tmp/broker.out") || fail "broker did not bind"
case "$ep" in tcp://127.0.0.1:*) ;; *) fail "endpoint $ep" ;; esac

for i in 1 2; do
	"$DUMPFLEET" worker --connect "$ep" --slots 2 --heartbeat-ms 200 \
		2>"$tmp/worker$i.err" &
	pids+=("$!")
done

"$DUMPFLEET" submit --broker "$ep" --batch e2e --wait --spool "$spool" \
	"$DF_SOURCE/samples" >"$tmp/submit.out" || fail "submit exited $?"
grep -q "submitted $n of $n files" "$tmp/submit.out" || fail "submit count"
"$DUMPFLEET" status --broker "$ep" | grep -q '^slots    4$' ||
	fail "status does not show 4 slots"

kill -9 "$broker"
wait "$broker" 2>/dev/null || true
[ "$(report_value "$store" dumps)" = "$n" ] || fail "dumps after first batch"

"$DUMPFLEET" broker --bind "$ep" --store "$store" --heartbeat-ms 200 \
	>"$tmp/broker2.out" 2>"$tmp/broker2.err" &
broker=$!
pids+=("$broker")
wait_listening "$tmp/broker2.out" >/dev/null || fail "broker restart"
# Workers notice the silent broker and reconnect by themselves.
"$DUMPFLEET" submit --broker "$ep" --wait --spool "$spool" \
	"$DF_SOURCE/samples" >/dev/null || fail "second submit exited $?"
[ "$(report_value "$store" dumps)" = "$n" ] || fail "dumps counted twice"
[ "$(report_value "$store" 'distinct dumps')" = "$plain" ] || fail "distinct"

for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]:1}"; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 127 ] || fail "process $p exited $rc"
done
echo "ok: fleet_tcp"
