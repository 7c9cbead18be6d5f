#!/usr/bin/env bash
# kill -9 in the middle of a 2,000-dump run: first worker processes picked
# at random (each replaced at once), then the broker (restarted on the same
# store and endpoint). Each time the final report equals a clean run's:
# no dump lost, none counted twice.
source "$(dirname "$0")/lib.inc"
source "$(dirname "$0")/fleet.inc"
# 2,000 dumps; sanitizer builds set fewer (DF_E2E_DUMPS): a fork of an
# AddressSanitizer process costs some 6 ms, ten times a plain one.
n=${DF_E2E_DUMPS:-2000}
gen_minidumps "$n" "$tmp/in"
"$DUMPFLEET" run --workers 2 --timeout 10 --store "$tmp/clean" "$tmp/in" \
	>/dev/null 2>"$tmp/clean.err" || fail "clean run exited $?"
stable_report "$tmp/clean" >"$tmp/clean.json"
grep -q "\"dumps\": $n," "$tmp/clean.json" || fail "clean run: not $n dumps"

# ---- workers: five kills at set points of progress, of random workers.
# The job a killed worker was running costs an attempt (broker.h); with the
# default 3 a job could, however unlikely, be running on three killed
# workers and be quarantined, which a clean run never does.
RANDOM=6
start_broker "$tmp/kw" "" --max-attempts 100
w=()
for i in 1 2 3; do
	start_worker --slots 1
	w+=("$wpid")
done
"$DUMPFLEET" submit --broker "$ep" "$tmp/in" >/dev/null || fail "submit"
for at in $((n / 10)) $((n / 4)) $((n * 2 / 5)) $((n * 11 / 20)) \
	$((n * 7 / 10)); do
	wait_done_at_least "$at" 60
	k=$((RANDOM % ${#w[@]}))
	kill -9 "${w[$k]}"
	wait "${w[$k]}" 2>/dev/null || true
	start_worker --slots 1
	w[k]=$wpid
done
wait_idle 60
stable_report "$tmp/kw" >"$tmp/kw.json"
diff "$tmp/clean.json" "$tmp/kw.json" >&2 || fail "report after worker kills"
grep -q 'reason=silent' "$tmp/broker.err" || fail "no worker was found lost"
for p in "${w[@]}" "$broker"; do kill -TERM "$p"; done
for p in "${w[@]}" "$broker"; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" = 0 ] || fail "process $p exited $rc after SIGTERM"
done

# ---- the broker: kill -9 once a third of the jobs are done, restart it.
start_broker "$tmp/kb" ""
w=()
for i in 1 2; do
	start_worker --slots 1
	w+=("$wpid")
done
"$DUMPFLEET" submit --broker "$ep" "$tmp/in" >/dev/null || fail "submit"
wait_done_at_least $((n / 3)) 60
kill -9 "$broker"
[ "$(status_value "done")" = -1 ] || fail "broker still answers"
wait "$broker" 2>/dev/null || true
start_broker "$tmp/kb" "$ep"
resumed=$(status_value "done")
[ "$resumed" -lt "$n" ] || fail "the batch was over before the kill"
# Workers find the broker silent, reconnect, and the queue resumes.
wait_idle 60
stable_report "$tmp/kb" >"$tmp/kb.json"
diff "$tmp/clean.json" "$tmp/kb.json" >&2 || fail "report after broker kill"
echo "ok: faults_kill"
