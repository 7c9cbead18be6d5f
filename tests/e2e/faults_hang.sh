#!/usr/bin/env bash
# A dump whose parser hangs (the test-only fault switch deadlocks it) is
# killed by the wall-clock watchdog each time, then quarantined. The hang
# lasts four times the broker's liveness: the worker heartbeats while its
# child hangs, so it is never taken for dead, and every other dump in the
# batch is processed by the same worker process.
source "$(dirname "$0")/lib.inc"
source "$(dirname "$0")/fleet.inc"
[ -x "${DUMPFLEET_FAULTS:-}" ] || { echo "skip: no dumpfleet-faults"; exit 77; }
cp -r "$DF_SOURCE/samples/minidumps" "$tmp/in"
{ cat "$DF_SOURCE/samples/minidumps/amd64-read-av.dmp"; printf hang; } \
	>"$tmp/in/hang.dmp"
n=$(find "$tmp/in" -type f | wc -l)

# Liveness: 100 ms x 5 = 0.5 s; the watchdog: 2 s.
start_broker "$tmp/store" ""
WORKER_BIN=$DUMPFLEET_FAULTS DUMPFLEET_TEST_FAULT=hang:hang.dmp \
	start_worker --slots 1 --timeout 2
worker=$wpid
t0=$SECONDS
rc=0
"$DUMPFLEET" submit --broker "$ep" --wait "$tmp/in" >"$tmp/submit.out" || rc=$?
took=$((SECONDS - t0))
[ "$rc" = 1 ] || fail "submit --wait exited $rc, not 1 (a failed job)"
grep -q "done: $((n - 1)) done, 1 failed" "$tmp/submit.out" ||
	fail "submit: $(cat "$tmp/submit.out")"
grep -q 'event=quarantined .*reason="wall-clock limit 2 s (3 attempts)"' \
	"$tmp/broker.err" || fail "no quarantine for the watchdog"
! grep -q 'event=worker_dropped' "$tmp/broker.err" ||
	fail "the worker was taken for dead while its child hung"
if [ "$took" -lt 6 ] || [ "$took" -ge 30 ]; then fail "took ${took}s"; fi
kill -0 "$worker" || fail "the worker process died"
# No child is left behind: the watchdog killed and reaped each.
[ -z "$(pgrep -P "$worker")" ] || fail "children left: $(pgrep -P "$worker")"
kill -TERM "$worker" "$broker"
wait "$worker" || fail "worker exited $? after SIGTERM"
echo "ok: faults_hang"
