#!/usr/bin/env bash
# Set up, build and run every test (unit, corpus when ../shared is present,
# end-to-end). With --sanitize, the same in an ASan+UBSan build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
extra=()
if [ "${1:-}" = "--sanitize" ]; then
	build=$here/build-asan
	extra=(-DDF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
"$here/scripts/setup.sh" "$build" "${extra[@]}"
cd "$build"
ctest --output-on-failure -j"$(nproc)"
