#!/usr/bin/env bash
# Event logs of the fleet: quiet by default (a clean batch writes nothing
# on stderr); with -v or --log-level every line is key=value from its
# first byte and names its event.
source "$(dirname "$0")/lib.inc"
n=$(sample_inputs)

# A batch on a broker and a worker started with LOGOPTS; stderr kept.
batch() {
	local tag=$1
	shift
	"$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' --store "$tmp/$tag" \
		--heartbeat-ms 200 "$@" >"$tmp/$tag.bout" 2>"$tmp/$tag.berr" &
	local b=$!
	pids+=("$b")
	local ep
	ep=$(wait_listening "$tmp/$tag.bout") || fail "$tag: broker"
	"$DUMPFLEET" worker --connect "$ep" --slots 1 --heartbeat-ms 200 "$@" \
		2>"$tmp/$tag.werr" &
	local w=$!
	pids+=("$w")
	"$DUMPFLEET" submit --broker "$ep" --wait "$DF_SOURCE/samples" \
		>/dev/null 2>"$tmp/$tag.serr" || fail "$tag: submit exited $?"
	kill -TERM "$w" "$b"
	wait "$w" || fail "$tag: worker exited $?"
	wait "$b" || fail "$tag: broker exited $?"
}

batch quiet
[ ! -s "$tmp/quiet.berr" ] || fail "broker not quiet: $(cat "$tmp/quiet.berr")"
[ ! -s "$tmp/quiet.werr" ] || fail "worker not quiet: $(cat "$tmp/quiet.werr")"

batch verbose -v
batch debug --log-level debug
line='^ts=[0-9T:.-]+Z prog=dumpfleet pid=[0-9]+ level=(error|warn|info|debug) event=[a-z_]+( [a-z_]+=("([^"\\]|\\.)*"|[^ "]*))*$'
for f in "$tmp"/verbose.berr "$tmp"/verbose.werr "$tmp"/debug.berr \
	"$tmp"/debug.werr; do
	[ -s "$f" ] || fail "$f: no events"
	bad=$(grep -vE "$line" "$f" || true)
	[ -z "$bad" ] || fail "$f: not key=value: $bad"
done
for e in listening worker_joined submitted stopped; do
	grep -q "level=info event=$e " "$tmp/verbose.berr" ||
		grep -q "level=info event=$e\$" "$tmp/verbose.berr" ||
		fail "broker -v: no $e"
done
grep -q 'level=info event=worker_started ' "$tmp/verbose.werr" ||
	fail "worker -v: no worker_started"
grep -q 'level=debug' "$tmp/verbose.berr" && fail "-v printed debug"
[ "$(grep -c 'event=job_assigned ' "$tmp/debug.berr")" -ge "$n" ] ||
	fail "debug: a job_assigned per job"
grep -q 'event=job_done ' "$tmp/debug.werr" || fail "debug: job_done"
rc=0
"$DUMPFLEET" broker --bind 'tcp://127.0.0.1:*' --log-level loud \
	2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "bad level exited $rc"
echo "ok: logs"
