#!/usr/bin/env bash
# Set up, build and run every test (unit, corpus when ../shared is present,
# end-to-end). With --sanitize, the same in an ASan+UBSan build; with
# --clang, the same built by clang with ASan+UBSan; with --valgrind, the
# unit tests and the program under valgrind.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
extra=()
labels=()
# Tools only the tests use: a headless browser for the HTML report, LMDB's
# mdb_copy for the backup test, the deploy files' offline checks and ip for
# the network namespaces of the multi-host test.
test_packages="chromium fonts-liberation lmdb-utils shellcheck yamllint"
test_packages+=" systemd time gcab iproute2"
export DF_EXTRA_PACKAGES="$test_packages ${DF_EXTRA_PACKAGES:-}"
case "${1:-}" in
--sanitize | --clang)
	build=$here/build-asan
	extra=(-DDF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
	if [ "$1" = --clang ]; then
		build=$here/build-clang
		extra+=(-DCMAKE_C_COMPILER=clang)
		export DF_EXTRA_PACKAGES="$DF_EXTRA_PACKAGES clang"
	fi
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	;;
--valgrind)
	# The unit tests and the command-line program under valgrind's
	# memcheck: any error or definite leak fails the test (exit 99).
	build=$here/build-valgrind
	extra=(-DCMAKE_BUILD_TYPE=Debug
		"-DDF_TEST_WRAPPER=valgrind;-q;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite")
	export DF_EXTRA_PACKAGES="$DF_EXTRA_PACKAGES valgrind"
	labels=(-L 'unit|memcheck')
	;;
esac
"$here/scripts/setup.sh" "$build" "${extra[@]}"
cd "$build"
ctest --output-on-failure -j"$(nproc)" "${labels[@]}"
