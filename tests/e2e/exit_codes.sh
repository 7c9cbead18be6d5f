#!/usr/bin/env bash
# Interrupted and failed runs end promptly with the documented exit code:
# Ctrl-C stops `run` and `submit --wait` (3, no hang); a broker that does
# not answer and a store that cannot be made are system errors (3), not
# usage errors (2); a PATH that does not exist stays a usage error.
source "$(dirname "$0")/lib.inc"

# rc = exit code of PID, or "hung" if it still runs after SECS seconds
# (not in a $(...) subshell: only this shell can wait for its children).
exit_within() {
	local pid=$1 secs=$2 i
	for i in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rc=0
	if kill -0 "$pid" 2>/dev/null; then
		rc=hung
		return
	fi
	wait "$pid" || rc=$?
}

# Jobs that take a while: sparse files are read and hashed in full.
mkdir "$tmp/big"
for i in $(seq 1 200); do truncate -s 20M "$tmp/big/$i.bin"; done

"$DUMPFLEET" run --workers 1 --store "$tmp/store" "$tmp/big" \
	>/dev/null 2>"$tmp/run.err" &
pid=$!
pids+=("$pid")
sleep 1
kill -INT "$pid"
exit_within "$pid" 15
[ "$rc" = 3 ] || fail "run after SIGINT: $rc"

# A broker with no workers: `submit --wait` waits until interrupted.
"$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' --store "$tmp/bstore" \
	>"$tmp/broker.out" 2>"$tmp/broker.err" &
pids+=("$!")
ep=$(wait_listening "$tmp/broker.out") || fail "broker did not bind"
"$DUMPFLEET" submit --broker "$ep" --wait --spool "$tmp/spool" \
	"$DF_SOURCE/samples" >/dev/null 2>&1 &
pid=$!
pids+=("$pid")
sleep 1
kill -INT "$pid"
exit_within "$pid" 5
[ "$rc" = 3 ] || fail "submit --wait after SIGINT: $rc"

# Nothing listens there: the wait for an answer is cut short by Ctrl-C.
"$DUMPFLEET" submit --broker tcp://127.0.0.1:1 --spool "$tmp/spool" \
	"$DF_SOURCE/samples" >/dev/null 2>&1 &
pid=$!
pids+=("$pid")
sleep 1
kill -INT "$pid"
exit_within "$pid" 5
[ "$rc" = 3 ] || fail "submit to no broker: $rc"

rc=0
"$DUMPFLEET" submit --broker "$ep" --spool "$tmp/spool" "$tmp/no-such-dir" \
	2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "submit of a missing PATH: $rc"
rc=0
"$DUMPFLEET" run --store /proc/no/store "$DF_SOURCE/samples" 2>/dev/null ||
	rc=$?
[ "$rc" = 3 ] || fail "run with a store that cannot be made: $rc"
# A folder is its files (archives unpacked), in name order, like run's.
"$DUMPFLEET" analyze --json "$DF_SOURCE/samples/"*/* >"$tmp/files.json" || true
rc=0
"$DUMPFLEET" analyze --json "$DF_SOURCE/samples" >"$tmp/folder.json" || rc=$?
[ "$rc" = 1 ] || fail "analyze of the samples folder: $rc"
[ "$(grep -c '^{' "$tmp/folder.json")" = "$(sample_inputs)" ] ||
	fail "analyze of a folder missed inputs"
# (paths as given there, resolved here)
strip() { sed 's/"\(source\|archive\)":"[^"]*"//g' "$1"; }
cmp -s <(strip "$tmp/files.json") <(strip "$tmp/folder.json") ||
	fail "a folder analysed otherwise than its files"
echo "ok: exit_codes"
