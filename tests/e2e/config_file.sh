#!/usr/bin/env bash
# The config file: every option in every command's --help can be set in
# it; a fleet (broker, worker, submit, status, report) runs from one file
# over ipc:// with bare command lines; the command line wins; errors name
# the file and the line; DUMPFLEET_CONFIG chooses the file, "" none;
# the config files in deploy/ are valid.
source "$(dirname "$0")/lib.inc"
export DUMPFLEET_CONFIG=""

# A value the option accepts, from the metavariable in --help.
value_for() {
	case "$1" in
	"" | "|") echo yes ;;
	N) echo 1 ;;
	LEVEL) echo info ;;
	DAY | DATE) echo 2026-01-01 ;;
	SIZE) echo 1G ;;
	MB | S | SECONDS | K) echo 10 ;;
	ADDR*) echo 127.0.0.1:9 ;;
	DIR) echo "$tmp" ;;
	ENDPOINT) echo tcp://127.0.0.1:9 ;;
	FORMAT | text*) echo text ;;
	auto*) echo auto ;;
	*) echo x ;;
	esac
}

# 1. Each long option of each command is a key of its section.
commands=$("$DUMPFLEET" --help | awk '/^Commands:/ { on = 1; next }
	on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ -n "$commands" ] || fail "no commands in --help"
checked=0
for c in $commands; do
	"$DUMPFLEET" "$c" --help >"$tmp/help" 2>/dev/null || continue
	{ grep -oE -- '--[a-z][a-z-]*( [A-Za-z|]+)?' "$tmp/help" || true; } |
		sort -u >"$tmp/opts"
	while read -r name meta; do
		name=${name#--}
		[ "$name" = help ] && continue
		printf '[%s]\n%s = %s\n' "$c" "$name" "$(value_for "$meta")" \
			>"$tmp/one.conf"
		rc=0
		"$DUMPFLEET" --config "$tmp/one.conf" "$c" --help \
			>"$tmp/out" 2>"$tmp/err" || rc=$?
		[ "$rc" = 0 ] || fail "[$c] $name: exit $rc: $(cat "$tmp/err")"
		grep -q "^Usage: dumpfleet $c" "$tmp/out" || fail "[$c] $name"
		checked=$((checked + 1))
	done <"$tmp/opts"
done
[ "$checked" -ge 20 ] || fail "only $checked options found in --help"

# 2. Errors name the file and the line, whatever the command.
printf '[report]\nformat = json\n\n[worker]\nslot = 2\n' >"$tmp/bad.conf"
rc=0
"$DUMPFLEET" --config "$tmp/bad.conf" version 2>"$tmp/err" >/dev/null ||
	rc=$?
[ "$rc" = 2 ] || fail "unknown key exit $rc"
grep -qF "$tmp/bad.conf:5: dumpfleet worker has no option --slot" \
	"$tmp/err" || fail "unknown key message: $(cat "$tmp/err")"
rc=0
"$DUMPFLEET" --config "$tmp/missing.conf" version 2>/dev/null || rc=$?
[ "$rc" = 3 ] || fail "missing file exit $rc"

# The config files shipped in deploy/ are valid for this build.
for f in "$DF_SOURCE"/deploy/dumpfleet.conf.example "$DF_SOURCE"/deploy/*/*.conf; do
	"$DUMPFLEET" --config "$f" version >/dev/null 2>"$tmp/err" ||
		fail "$f: $(cat "$tmp/err")"
done

# 3. A fleet from one file; command lines name only what differs.
sock=$tmp/broker.sock
cat >"$tmp/fleet.conf" <<EOF
# one file for every process of the fleet
[common]
store = $tmp/store
[broker]
bind = ipc://$sock
heartbeat-ms = 200
[worker]
connect = ipc://$sock
  slots = 2
heartbeat-ms = 200
[submit]
broker = ipc://$sock
batch = from-config
wait = yes
[status]
broker = ipc://$sock
[report]
format = json ; machine-readable by default
EOF
n=$(sample_inputs)
DUMPFLEET_CONFIG=$tmp/fleet.conf "$DUMPFLEET" broker \
	>"$tmp/broker.out" 2>"$tmp/broker.err" &
pids+=("$!")
ep=$(wait_listening "$tmp/broker.out") || fail "broker did not bind"
[ "$ep" = "ipc://$sock" ] || fail "broker bound $ep"
"$DUMPFLEET" --config "$tmp/fleet.conf" worker 2>"$tmp/worker.err" &
pids+=("$!")
"$DUMPFLEET" --config "$tmp/fleet.conf" submit "$DF_SOURCE/samples" \
	>"$tmp/submit.out" || fail "submit exited $?"
grep -q "submitted $n of $n files" "$tmp/submit.out" || fail "submit count"
# wait = yes came from the file: the queue is empty now.
grep -q '^done: ' "$tmp/submit.out" || fail "submit did not wait"
"$DUMPFLEET" --config "$tmp/fleet.conf" status >"$tmp/status" ||
	fail "status"
grep -q '^slots    2$' "$tmp/status" || fail "slots from the file"

# The file's format is json; the command line's text wins over it.
"$DUMPFLEET" --config "$tmp/fleet.conf" report >"$tmp/report.json" ||
	fail "report exited $?"
head -c 1 "$tmp/report.json" | grep -q '{' || fail "report not json"
"$DUMPFLEET" --config "$tmp/fleet.conf" report --format text \
	>"$tmp/report.txt" || fail "report text exited $?"
grep -q '{' "$tmp/report.txt" && fail "command line did not win"
[ "$(report_value "$tmp/store" dumps)" = "$n" ] || fail "dumps counted"
# The command line's --store wins over [common]'s.
rc=0
"$DUMPFLEET" --config "$tmp/fleet.conf" report --store "$tmp/none" \
	2>/dev/null >/dev/null || rc=$?
[ "$rc" = 3 ] || fail "--store on the command line ignored"

for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do
	rc=0
	wait "$p" || rc=$?
	[ "$rc" = 0 ] || fail "process $p exited $rc"
done
echo "ok: config_file"
