#!/usr/bin/env bash
# SIGTERM drains: with a slow dump being analysed and another job waiting
# in the worker, SIGTERM to the broker and the worker together: no new
# lease, the slow dump finishes and is recorded, the waiting job goes back
# to the queue, both exit 0. A restart then does the rest: nothing lost.
source "$(dirname "$0")/lib.inc"
source "$(dirname "$0")/fleet.inc"
[ -x "${DUMPFLEET_FAULTS:-}" ] || { echo "skip: no dumpfleet-faults"; exit 77; }
mkdir "$tmp/slow"
{ cat "$DF_SOURCE/samples/minidumps/amd64-read-av.dmp"; printf slow; } \
	>"$tmp/slow/slow.dmp"
n=$(sample_inputs)

start_broker "$tmp/store" ""
WORKER_BIN=$DUMPFLEET_FAULTS DUMPFLEET_TEST_FAULT=slow:slow.dmp \
	start_worker --slots 1
worker=$wpid
"$DUMPFLEET" submit --broker "$ep" "$tmp/slow" >/dev/null || fail "submit"
t0=$SECONDS
until [ "$(status_value running)" = 1 ]; do
	[ $((SECONDS - t0)) -lt 10 ] || fail "the slow job never ran"
	sleep 0.05
done
"$DUMPFLEET" submit --broker "$ep" "$DF_SOURCE/samples" >/dev/null ||
	fail "second submit"
# The worker holds one more job (its prefetch credit) while the slow one runs.
until [ "$(status_value running)" = 2 ]; do
	[ $((SECONDS - t0)) -lt 10 ] || fail "no job waiting in the worker"
	sleep 0.05
done
kill -TERM "$broker" "$worker"
for p in "$worker" "$broker"; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" = 0 ] || fail "process $p exited $rc after SIGTERM"
done
# The slow dump was finished, not abandoned; nothing else was started.
[ "$(report_value "$tmp/store" dumps)" = 1 ] || fail "dumps after the drain"

start_broker "$tmp/store" ""
start_worker --slots 2
wait_idle 30
[ "$(report_value "$tmp/store" dumps)" = $((n + 1)) ] || fail "dumps at the end"
[ "$(report_value "$tmp/store" errors)" = 0 ] || fail "errors at the end"
echo "ok: drain"
