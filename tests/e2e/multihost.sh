#!/usr/bin/env bash
# Multi-host: the broker, two worker processes and the client each in a
# network namespace of their own, joined by veth pairs on a bridge in the
# broker's namespace (10.77.0.0/24). The broker binds 10.77.0.1, not
# loopback, so CURVE is on by default: workers without keys or with a key
# not listed get nothing, then the two allowed workers process the batch.
# The stored report equals a plain `dumpfleet run` on the same dumps, both
# workers did jobs, and the traffic went over their veths. Needs root and
# iproute2; skipped (77) without them or where namespaces are forbidden.
skip() { echo "skip: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root"
command -v ip >/dev/null 2>&1 || skip "no ip (Debian: iproute2)"
source "$(dirname "$0")/lib.inc"
source "$(dirname "$0")/fleet.inc"

# Names carry this test's pid: parallel runs get their own namespaces
# (interface names stay within the kernel's 15 characters).
id=$$
ns_b=dfmh-b-$id
ns_c=dfmh-c-$id
ns_w=("dfmh-w1-$id" "dfmh-w2-$id")
br=dfbr$id
# veth ends: in the broker's namespace, and in each peer's namespace.
vb=("dfv${id}w1" "dfv${id}w2" "dfv${id}c")
vp=("dfp${id}w1" "dfp${id}w2" "dfp${id}c")
made=()

# Processes first (a namespace lives while a process is in it), then
# links and namespaces, then lib.inc's temporary folder.
net_cleanup() {
	local p l n
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	for n in "${made[@]}"; do
		for l in "${vb[@]}" "$br"; do
			ip -n "$n" link del "$l" 2>/dev/null || true
		done
		ip netns del "$n" 2>/dev/null || true
	done
	# A half-made pair may be left in the initial namespace.
	for l in "${vb[@]}" "${vp[@]}" "$br"; do
		ip link del "$l" 2>/dev/null || true
	done
	cleanup
}
trap net_cleanup EXIT

for n in "$ns_b" "${ns_w[@]}" "$ns_c"; do
	ip netns add "$n" 2>"$tmp/netns.err" ||
		skip "ip netns add: $(cat "$tmp/netns.err")"
	made+=("$n")
	ip -n "$n" link set lo up || skip "no loopback in a namespace"
done
ip -n "$ns_b" link add "$br" type bridge 2>"$tmp/netns.err" ||
	skip "no bridge: $(cat "$tmp/netns.err")"
ip -n "$ns_b" addr add 10.77.0.1/24 dev "$br"
ip -n "$ns_b" link set "$br" up
peers=("${ns_w[@]}" "$ns_c")
for i in 0 1 2; do
	ip -n "$ns_b" link add "${vb[i]}" type veth peer name "${vp[i]}" \
		netns "${peers[i]}" 2>"$tmp/netns.err" ||
		skip "no veth: $(cat "$tmp/netns.err")"
	ip -n "$ns_b" link set "${vb[i]}" master "$br" up
	ip -n "${peers[i]}" addr add "10.77.0.$((i + 2))/24" dev "${vp[i]}"
	ip -n "${peers[i]}" link set "${vp[i]}" up
done
# Processes are started with `ip netns exec` itself (which execs the
# command), never through a shell function: $! must be the process that
# the cleanup kills, or an orphan keeps the namespace and ctest's pipe.


# The batch: the samples (archives included) and 200 distinct minidumps,
# on the filesystem every namespace shares.
gen_minidumps 200 "$tmp/in"
n=$(($(sample_inputs) + 200))
"$DUMPFLEET" run --workers 2 --timeout 10 --store "$tmp/clean" \
	"$DF_SOURCE/samples" "$tmp/in" >/dev/null 2>"$tmp/clean.err" ||
	fail "clean run exited $?"
stable_report "$tmp/clean" >"$tmp/clean.json"
grep -q "\"dumps\": $n," "$tmp/clean.json" || fail "clean run: not $n dumps"

keys=$tmp/keys
mkdir -p "$keys/clients"
for k in broker worker rogue client; do
	"$DUMPFLEET" keygen -o "$keys/$k" >/dev/null || fail "keygen $k"
done
cp "$keys/client.pub" "$keys/clients/"
bk=$keys/broker.pub
ep=tcp://10.77.0.1:5555

# Not loopback: a broker without keys refuses to bind there.
rc=0
ip netns exec "$ns_b" "$DUMPFLEET" broker --bind "$ep" --store "$tmp/nokeys" \
	>"$tmp/nokeys.out" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "broker without keys on $ep exited $rc"

ip netns exec "$ns_b" "$DUMPFLEET" broker --bind "$ep" --store "$tmp/store" \
	--heartbeat-ms 200 --key "$keys/broker.key" \
	--allow-workers "$keys/worker.pub" --allow-clients "$keys/clients" \
	>"$tmp/broker.out" 2>"$tmp/broker.err" &
broker=$!
pids+=("$broker")
[ "$(wait_listening "$tmp/broker.out")" = "$ep" ] ||
	fail "broker did not bind $ep: $(cat "$tmp/broker.err")"

# Client side calls, from the client's namespace, with the client's key.
cl() {
	local cmd=$1
	shift
	ip netns exec "$ns_c" "$DUMPFLEET" "$cmd" --broker "$ep" --key \
		"$keys/client.key" --broker-key "$bk" "$@"
}
value() { cl status | awk -v k="$1" '$1 == k { print $2 }'; }

# Workers that must get nothing, in the client's namespace (so that the
# workers' veths carry only the allowed workers' traffic): one without
# keys is refused at start; a plain one (--insecure) and one with a key
# not listed connect, but are never served.
rc=0
ip netns exec "$ns_c" "$DUMPFLEET" worker --connect "$ep" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "worker without keys on $ep exited $rc"
ip netns exec "$ns_c" "$DUMPFLEET" worker --connect "$ep" --insecure --slots 1 \
	--heartbeat-ms 200 >/dev/null 2>"$tmp/plain.err" &
pids+=("$!")
ip netns exec "$ns_c" "$DUMPFLEET" worker --connect "$ep" --slots 1 \
	--heartbeat-ms 200 --key "$keys/rogue.key" --broker-key "$bk" \
	>/dev/null 2>"$tmp/rogue.err" &
pids+=("$!")

cl submit --spool "$tmp/spool" "$DF_SOURCE/samples" "$tmp/in" \
	>"$tmp/submit.out" || fail "submit exited $?"
grep -q "submitted $n of $n files" "$tmp/submit.out" || fail "submit count"
sleep 2
[ "$(value queued)" = "$n" ] || fail "jobs left the queue: $(cl status)"
[ "$(value "done")" = 0 ] || fail "a refused worker did a job"
[ "$(value slots)" = 0 ] || fail "a refused worker has slots"
grep -q 'event=auth_denied' "$tmp/broker.err" || fail "no auth_denied log"

t0=$(date +%s%N)
w=()
for i in 0 1; do
	ip netns exec "${ns_w[i]}" "$DUMPFLEET" worker --connect "$ep" --slots 2 \
		--heartbeat-ms 200 --timeout 10 --key "$keys/worker.key" \
		--broker-key "$bk" >/dev/null 2>"$tmp/worker$i.err" &
	w+=("$!")
	pids+=("$!")
done
for _ in $(seq 1 250); do
	[ "$(value "done")" = "$n" ] && break
	sleep 0.1
done
[ "$(value "done")" = "$n" ] || fail "batch not done: $(cl status)"
ms=$((($(date +%s%N) - t0) / 1000000))

stable_report "$tmp/store" >"$tmp/store.json"
diff "$tmp/clean.json" "$tmp/store.json" >&2 ||
	fail "the fleet's report differs from a plain run's"

# Both allowed worker processes (named host:pid) did jobs, n in all.
cl status --json >"$tmp/status.json" || fail "status --json exited $?"
total=0
jobs=()
for p in "${w[@]}"; do
	j=$(grep -o "\"name\":\"[^\"]*:$p\",\"slots\":2,\"running\":[0-9]*,\"jobs_done\":[0-9]*" \
		"$tmp/status.json" | sed 's/.*"jobs_done"://')
	[ -n "$j" ] || fail "worker $p not in status: $(cat "$tmp/status.json")"
	[ "$j" -gt 0 ] || fail "worker $p did no job"
	jobs+=("$j")
	total=$((total + j))
done
# jobs_done counts results sent: an attempt that failed and was retried
# (a sanitizer build's forked child can stall until the watchdog) sends
# one more, so the sum may exceed n; it may never fall short.
[ "$total" -ge "$n" ] || fail "workers did $total jobs of $n"
grep -q '"slots":4,' "$tmp/status.json" || fail "slots: not only 2 x 2"

# The jobs and results crossed the veths: each worker's end carried at
# least a small message each way per job it did.
bytes=()
for i in 0 1; do
	stats=$(ip -n "${ns_w[i]}" -s link show dev "${vp[i]}")
	rx=$(awk '/RX:/ { getline; print $1; exit }' <<<"$stats")
	tx=$(awk '/TX:/ { getline; print $1; exit }' <<<"$stats")
	if [ "$rx" -lt $((jobs[i] * 32)) ] || [ "$tx" -lt $((jobs[i] * 32)) ]; then
		fail "worker $((i + 1)) veth: rx $rx tx $tx bytes, ${jobs[i]} jobs"
	fi
	bytes+=("$rx/$tx")
done

# SIGTERM drains and ends the broker and the allowed workers cleanly.
for p in "${w[@]}" "$broker"; do kill -TERM "$p"; done
for p in "${w[@]}" "$broker"; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" = 0 ] || fail "process $p exited $rc after SIGTERM"
done
echo "multihost: $n dumps in $ms ms over veth; jobs ${jobs[*]};" \
	"worker veth rx/tx bytes ${bytes[*]}"
echo "ok: multihost"
