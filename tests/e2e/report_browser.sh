#!/usr/bin/env bash
# The HTML report in a real browser (headless Chromium, no network): no
# console errors (a CSP violation is one), the script ran, one bar per
# bugcheck, hostile names shown as text and never run, and a screenshot
# in the test's output directory for people to look at.
#
# The page comes from a JSON report written here with hostile names,
# through tests/tools/report_html_tool; when `dumpfleet report` offers
# --format html, also from the real pipeline over samples/ plus a
# debugger log whose module name is markup.
source "$(dirname "$0")/lib.inc"
chromium=${CHROMIUM:-/usr/bin/chromium}
if ! [ -x "$chromium" ]; then
	echo "skip: no chromium (Debian package chromium)"
	exit 77
fi
: "${REPORT_HTML_TOOL:?path of tests/tools/report_html_tool}"
out=${DF_TEST_OUT:-$PWD/out}/report_browser
mkdir -p "$out"

# No network: a proxy that refuses, and a page whose CSP allows nothing.
browse() {
	timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
		--proxy-server=127.0.0.1:9 --no-first-run \
		--user-data-dir="$tmp/profile" --hide-scrollbars "$@"
}

# check_page FILE BARS NAME: load FILE and check what the browser made.
check_page() {
	local page=$1 bars=$2 name=$3 dom=$tmp/$3.dom log=$tmp/$3.log n
	browse --enable-logging=stderr --v=0 --dump-dom "file://$page" \
		>"$dom" 2>"$log" || fail "$name: chromium exited $?"
	if grep ':CONSOLE' "$log"; then
		fail "$name: console messages"
	fi
	grep -q '<html lang="en" class="js">' "$dom" ||
		fail "$name: the sorting script did not run (CSP hash?)"
	n=$(grep -o '<rect class="bar"' "$dom" | wc -l)
	[ "$n" = "$bars" ] || fail "$name: $n bugcheck bars, want $bars"
	# Hostile names are text: nothing they hold became an element or
	# changed the document.
	[ "$(grep -o '<script' "$dom" | wc -l)" = 1 ] ||
		fail "$name: a script element came from the data"
	! grep -q '<img\|<svg onload\| data-pwned=\|<title>pwned' "$dom" ||
		fail "$name: hostile markup became live"
	grep -q '<title>Crash dump report ' "$dom" || fail "$name: title"
	browse --screenshot="$out/$name.png" --window-size=1280,2400 \
		"file://$page" >/dev/null 2>&1 || fail "$name: screenshot"
	[ "$(head -c 8 "$out/$name.png" | od -An -tx1 | tr -d ' ')" = \
		89504e470d0a1a0a ] || fail "$name: screenshot is not a PNG"
	[ "$(stat -c %s "$out/$name.png")" -gt 20000 ] ||
		fail "$name: screenshot is nearly empty"
	echo "ok: $name: $n bars, screenshot $out/$name.png"
}

# A report with three bugchecks and hostile names in every kind of place.
cat >"$tmp/hostile.json" <<'JSON'
{"schema_version": 2, "generated_at": 1795651200,
 "period": {"since": "2026-11-20", "until": "2026-11-26", "days": 7,
  "previous_since": "2026-11-13", "previous_until": "2026-11-19",
  "batch": "<script>document.body.setAttribute('data-pwned',1)</script>"},
 "totals": {"dumps": 60, "distinct": 58, "buckets": 4, "errors": 1,
  "failed": 0, "quarantined": 0, "formats": {"minidump": 40, "kernel-dump": 20}},
 "batches": [{"batch": "case-1\"><img src=x onerror=\"document.title='pwned'\">",
  "dumps": 60, "distinct": 58, "errors": 1, "failed": 0}],
 "bugchecks": [
  {"code": "0x000000D1", "name": "DRIVER_IRQL_NOT_LESS_OR_EQUAL", "category": "driver",
   "count": 30, "share": 0.5, "previous_count": 20, "change": 0.1, "baseline_share": 0.117},
  {"code": "0x00000050", "name": "PAGE_FAULT_IN_NONPAGED_AREA", "category": "memory",
   "count": 20, "share": 0.333, "previous_count": 20, "change": -0.067, "baseline_share": 0.12},
  {"code": "0x1234ABCD", "name": "unknown bugcheck", "category": "</text><script>document.title='pwned'</script>",
   "count": 10, "share": 0.167, "previous_count": 0, "change": null, "baseline_share": null}],
 "exceptions": [],
 "patterns": [{"pattern": "virtualized-system", "title": "Virtualized system",
  "count": 12, "confident": 12, "share": 0.2}],
 "virtualization": {"virtualized": 12, "share": 0.2,
  "hypervisors": [{"name": "VMware", "count": 12}]},
 "top_buckets": [
  {"hash": "1111111111111111", "signature": "0xD1 acme.sys!Dispatch+0x10",
   "count": 30, "previous_count": 20, "total": 70, "first_seen": 1790000000,
   "last_seen": 1795600000, "daily": [2, 5, 3, 6, 4, 7, 3], "bugcheck": "0x000000D1",
   "exception": null, "blame": "acme.sys", "low_trust": false,
   "os_versions": [{"os_ver": "10.0.19045", "count": 30}],
   "patterns": [{"pattern": "virtualized-system", "count": 6}],
   "samples": [{"hash": "aa", "source": "/dumps/case-1/a.zip", "archive": "a.zip",
    "member": "<svg onload=\"document.title='pwned'\">.dmp", "batch": "case-1"}]},
  {"hash": "2222222222222222", "signature": "0x50 <script>document.title='pwned'</script>!f",
   "count": 20, "previous_count": 20, "total": 20, "first_seen": 1795100000,
   "last_seen": 1795600000, "daily": [0, 0, 2, 4, 5, 4, 5], "bugcheck": "0x00000050",
   "exception": null, "blame": "evil\u001b[31m\u202eexe.sys", "low_trust": true,
   "os_versions": [], "patterns": [], "samples": []}],
 "new_buckets": [],
 "trends": {"rule": "rising when count >= 5 and z >= 3", "rising": [], "falling": []},
 "modules": [{"module": "<script>document.title='pwned'</script>", "dumps": 20,
  "share": 0.333, "buckets": 1, "owner": "=cmd|' /C calc'!A0"}],
 "spray": []}
JSON
"$REPORT_HTML_TOOL" "$tmp/hostile.json" "$out/hostile.html" ||
	fail "report_html_tool exited $?"
check_page "$out/hostile.html" 3 hostile
grep -q '&lt;script&gt;document.title=' "$tmp/hostile.dom" ||
	fail "hostile: the module name is not shown as text"

# Sorting, driven like a reader would: a copy of the page without its
# policy gets a script that clicks the Dumps header of the bugcheck table
# twice, then the Name header, and writes the orders into the title.
{
	sed -e '/Content-Security-Policy/d' -e '/^<\/body>$/,$d' "$out/hostile.html"
	cat <<'JS'
<script>
var t = document.getElementById("bugcheck-table"), h = t.tHead.rows[0].cells;
var col = function (i) { return [].map.call(t.tBodies[0].rows,
	function (r) { return r.cells[i].textContent; }).join(","); };
h[3].click(); var a = col(3); h[3].click(); var b = col(3); h[1].click();
document.title = a + "/" + b + "/" + col(0) + "/" + h[1].getAttribute("aria-sort");
</script></body></html>
JS
} >"$tmp/sort.html"
browse --dump-dom "file://$tmp/sort.html" >"$tmp/sort.dom" 2>/dev/null ||
	fail "sort: chromium exited $?"
want='10,20,30/30,20,10/0x000000D1,0x00000050,0x1234ABCD/ascending'
grep -q "<title>$want</title>" "$tmp/sort.dom" ||
	fail "sort: $(grep -o '<title>[^<]*' "$tmp/sort.dom" | head -1), want $want"

# The real pipeline, once the command line writes HTML.
if "$DUMPFLEET" report --help 2>&1 | grep -q 'html'; then
	mkdir "$tmp/in"
	cp -r "$DF_SOURCE/samples/." "$tmp/in/"
	sed 's/^MODULE_NAME: .*/MODULE_NAME: <script>document.title="pwned"<\/script>/' \
		"$DF_SOURCE/samples/logs/kernel_d1_wwfilter_x64.log" \
		>"$tmp/in/hostile-module.log"
	"$DUMPFLEET" run --workers 2 --store "$tmp/store" "$tmp/in" >/dev/null ||
		fail "run exited $?"
	"$DUMPFLEET" report --store "$tmp/store" --format json >"$tmp/samples.json" ||
		fail "report --format json exited $?"
	"$DUMPFLEET" report --store "$tmp/store" --format html \
		-o "$out/samples.html" || fail "report --format html exited $?"
	# every bugcheck entry has exactly one baseline_share member
	bars=$(grep -o '"baseline_share"' "$tmp/samples.json" | wc -l)
	[ "$bars" -gt 0 ] || fail "samples: no bugchecks in the report"
	check_page "$out/samples.html" "$bars" samples
else
	echo "note: dumpfleet report has no --format html yet; tool page only"
fi
echo "ok: report_browser"
