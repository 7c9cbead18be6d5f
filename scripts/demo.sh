#!/usr/bin/env bash
# Set up, build, and run the whole pipeline (broker + workers + store +
# report) on the bundled samples with the embedded defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh" "$here/build"
cd "$here"
exec "$here/build/cli/dumpfleet" run --store "$here/dumpfleet-store" "$here/samples"
