#!/usr/bin/env bash
# A poison dump in a batch (the test-only fault switch makes the parser
# crash on it): it is tried 3 times, then quarantined with its reason;
# every other dump is processed and the worker process lives on. Then the
# same dump analysed without the sandbox kills its worker each time: the
# broker finds the worker lost, and quarantines the job after 3 attempts.
source "$(dirname "$0")/lib.inc"
source "$(dirname "$0")/fleet.inc"
[ -x "${DUMPFLEET_FAULTS:-}" ] || { echo "skip: no dumpfleet-faults"; exit 77; }
cp -r "$DF_SOURCE/samples" "$tmp/in"
{ cat "$DF_SOURCE/samples/minidumps/x86-null-write.dmp"; printf poison; } \
	>"$tmp/in/poison.dmp"
n=$(($(sample_inputs) + 1))

start_broker "$tmp/store" ""
WORKER_BIN=$DUMPFLEET_FAULTS DUMPFLEET_TEST_FAULT=segv:poison.dmp \
	start_worker --slots 2
worker=$wpid
rc=0
"$DUMPFLEET" submit --broker "$ep" --wait "$tmp/in" >"$tmp/submit.out" || rc=$?
[ "$rc" = 1 ] || fail "submit --wait exited $rc, not 1 (a failed job)"
grep -q "done: $((n - 1)) done, 1 failed" "$tmp/submit.out" ||
	fail "submit: $(cat "$tmp/submit.out")"
grep -q 'event=quarantined .*reason="parser killed by SIGSEGV (3 attempts)"' \
	"$tmp/broker.err" || fail "no quarantine with its reason"
[ "$(grep -c 'event=job_failed .*reason="parser killed by SIGSEGV"' \
	"$tmp/workers.err")" = 3 ] || fail "not 3 failed attempts"
kill -0 "$worker" || fail "the worker process died"
[ "$(report_value "$tmp/store" dumps)" = $((n - 1)) ] || fail "dumps"
[ "$(report_value "$tmp/store" failed)" = 1 ] || fail "failed"
kill -TERM "$worker" "$broker"
wait "$worker" || fail "worker exited $? after SIGTERM"

# ---- without the sandbox the crash takes the worker along.
rm -rf "$tmp/in"/*/
start_broker "$tmp/store2" ""
"$DUMPFLEET" submit --broker "$ep" "$tmp/in" >/dev/null || fail "submit"
deaths=0
while [ "$(status_value failed)" != 1 ]; do
	[ "$deaths" -lt 5 ] || fail "not quarantined after $deaths deaths"
	WORKER_BIN=$DUMPFLEET_FAULTS DUMPFLEET_TEST_FAULT=segv:poison.dmp \
		start_worker --slots 1 --no-sandbox
	rc=0
	wait "$wpid" 2>/dev/null || rc=$?
	[ "$rc" = $((128 + 11)) ] || fail "worker exited $rc, not by SIGSEGV"
	deaths=$((deaths + 1))
	# The broker finds the worker silent and takes the job back.
	wait_not_running 10
done
[ "$deaths" = 3 ] || fail "$deaths worker deaths before quarantine, not 3"
grep -q 'reason="worker lost while analysing (3 attempts)"' \
	"$tmp/broker.err" || fail "no quarantine for the lost worker"
echo "ok: faults_poison"
