#!/usr/bin/env bash
# Set up, build, and run the whole pipeline (broker + workers + store +
# report) on the bundled samples with the embedded defaults; the same
# report is also written as one HTML page.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh" "$here/build"
cd "$here"
df=$here/build/cli/dumpfleet
rc=0
"$df" run --store "$here/dumpfleet-store" "$here/samples" || rc=$?
if [ "$rc" -le 1 ]; then
	"$df" report --store "$here/dumpfleet-store" --format html \
		-o "$here/dumpfleet-report.html"
	echo "demo: HTML report in $here/dumpfleet-report.html" >&2
fi
exit "$rc"
