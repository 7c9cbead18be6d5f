#!/usr/bin/env bash
# The backup in docs/deploy.md: mdb_copy -c of a running broker's store
# gives a store whose report equals the original's; a broker restarted
# on the restored copy counts the same files once. Skipped (77) without
# mdb_copy (Debian: lmdb-utils).
source "$(dirname "$0")/lib.inc"
export DUMPFLEET_CONFIG=""
command -v mdb_copy >/dev/null || { echo "skip: no mdb_copy" >&2; exit 77; }
store=$tmp/store
ep=ipc://$tmp/broker.sock

start_broker() {
	"$DUMPFLEET" broker --bind "$ep" --store "$1" --heartbeat-ms 200 \
		>"$tmp/broker.out" 2>>"$tmp/broker.err" &
	broker=$!
	pids+=("$broker")
	wait_listening "$tmp/broker.out" >/dev/null || fail "broker did not bind"
}

start_broker "$store"
"$DUMPFLEET" worker --connect "$ep" --slots 2 --heartbeat-ms 200 \
	2>"$tmp/worker.err" &
pids+=("$!")
"$DUMPFLEET" submit --broker "$ep" --spool "$tmp/spool" --wait \
	"$DF_SOURCE/samples" >"$tmp/submit.out" || fail "submit exited $?"
# Files as submitted, archive members included ("submitted N of N files").
n=$(awk '/^submitted/ { print $2 }' "$tmp/submit.out")
[ -n "$n" ] || fail "submit printed no count"

# Hot copy while broker and worker run.
mkdir "$tmp/backup"
mdb_copy -c "$store" "$tmp/backup" || fail "mdb_copy exited $?"
"$DUMPFLEET" report --store "$store" --format json >"$tmp/live.json"
"$DUMPFLEET" report --store "$tmp/backup" --format json >"$tmp/backup.json" ||
	fail "the copy does not open"
# generated_at is the clock: the two reports may straddle a second.
diff <(grep -v '"generated_at"' "$tmp/live.json") \
	<(grep -v '"generated_at"' "$tmp/backup.json") >&2 || fail "reports differ"
[ "$(report_value "$tmp/backup" dumps)" = "$n" ] || fail "dumps in the copy"

# Restore: stop the broker, put the copy in place, start it again.
kill -TERM "$broker"
wait "$broker" || fail "broker exited $? on SIGTERM"
mkdir "$tmp/restored"
cp "$tmp/backup/data.mdb" "$tmp/restored/"
: >"$tmp/broker.out"
start_broker "$tmp/restored"
"$DUMPFLEET" submit --broker "$ep" --wait "$DF_SOURCE/samples" >/dev/null ||
	fail "submit after restore exited $?"
[ "$(report_value "$tmp/restored" dumps)" = "$n" ] ||
	fail "dumps counted twice after restore"
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
echo "ok: store_backup"
